import { ClsService } from 'nestjs-cls';
import { Client } from 'pg';
import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { bootTestApp, TestApp } from '../support/test-app';
import { Actor, createOrg, createUser, Org } from '../support/factories';

/** One node of `EXPLAIN (FORMAT JSON)`. */
interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];

/**
 * Every list endpoint's query is served by an index over tables of a few
 * thousand rows: the statements a request sends (captured with their
 * parameters at the pg driver) are explained, and the plan may neither scan
 * the listed table sequentially nor sort. Inventory: docs/performance.md,
 * "Indexes and query budgets".
 */
describe('list endpoints use their indexes', () => {
  let t: TestApp;
  let cls: ClsService;
  let org: Org;
  let staff: Actor;
  let member: Actor;
  const ROWS = 4000;
  const captured = new Map<string, { text: string; values: unknown[] }[]>();
  const originalQuery = Client.prototype.query;

  beforeAll(async () => {
    t = await bootTestApp();
    cls = t.app.get(ClsService);
    org = await createOrg(t.app);
    staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
    const schema = `"${org.tenant.schemaName}"`;
    const em = t.em();
    member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    await em.execute(`
      insert into ${schema}.ticket (id, number, subject, description, status, priority, tags,
        requester_id, created_at, updated_at)
      select gen_random_uuid(), g, 'Subject ' || g, 'Text', (array['new','open','pending','on_hold','solved','closed'])[1 + g % 6],
        'normal', '{}', case when g % 50 = 0 then '${member.user.id}'::uuid else gen_random_uuid() end, now(), now()
      from generate_series(1, ${ROWS}) g`);
    await em.execute(`
      insert into ${schema}.audit_event (id, actor_type, action, data, at)
      select gen_random_uuid(), 'system', 'action.n' || (g % 40), '{}', now()
      from generate_series(1, ${ROWS}) g`);
    await em.execute(`
      insert into platform.tenant (id, slug, name, status, schema_name, created_at, updated_at)
      select gen_random_uuid(), 'bulk-' || g, 'Bulk organisation ' || g,
        case when g % 20 = 0 then 'suspended' else 'active' end, 'tenant_bulk_' || g, now(), now()
      from generate_series(1, ${ROWS}) g`);
    await em.execute(`
      insert into platform.invoice (id, tenant_id, number, status, reason, currency, subtotal, total,
        amount_due, period_start, period_end, created_at, updated_at)
      select gen_random_uuid(), case when g % 40 = 0 then '${org.tenant.id}'::uuid else t.id end,
        'BULK-' || g, 'open', 'subscription_cycle', 'EUR', 1000, 1000, 1000, now(), now(), now(), now()
      from generate_series(1, ${ROWS}) g join platform.tenant t on t.slug = 'bulk-' || g`);
    // A campaign for every invoice of the bulk tenants, a quarter of them still running.
    await em.execute(`
      with sub as (
        insert into platform.subscription (id, tenant_id, plan_id, price_id, quantity, billing_anchor,
          status, current_period_start, current_period_end, created_at, updated_at)
        select gen_random_uuid(), '${org.tenant.id}', p.plan_id, p.id, 1, now(), 'past_due', now(), now(), now(), now()
        from platform.price p limit 1
        returning id)
      insert into platform.dunning_campaign (id, tenant_id, invoice_id, subscription_id, rules, status,
        started_at, schedule_origin, next_step_at, first_category, last_failure_class, amount_due,
        currency, created_at, updated_at)
      select gen_random_uuid(), i.tenant_id, i.id, sub.id, '{"steps": []}',
        (array['active','recovered','canceled','paused'])[1 + (row_number() over ())::int % 4],
        now(), now(), now() + (row_number() over ()) * interval '1 minute', 'card_declined', 'soft',
        1000, 'EUR', now(), now()
      from platform.invoice i, sub where i.tenant_id <> '${org.tenant.id}'`);
    await em.execute(`
      insert into platform.payment_attempt (id, tenant_id, invoice_id, attempt_number, trigger, amount,
        currency, idempotency_key, status, category, created_at)
      select gen_random_uuid(), i.tenant_id, i.id, 1, 'renewal', 1000, 'EUR', 'bulk-' || i.id,
        case when row_number() over () % 10 = 0 then 'failed' else 'succeeded' end, 'card_declined', now()
      from platform.invoice i`);
    await em.execute(`
      insert into platform.support_queue (ticket_id, tenant_id, number, status, priority, requester_id,
        first_response_due_at, resolution_due_at, created_at, updated_at)
      select gen_random_uuid(), gen_random_uuid(), g, (array['new','open','pending','on_hold','solved','closed'])[1 + g % 6],
        'normal', gen_random_uuid(), now() + g * interval '1 minute', now() + g * interval '1 hour', now(), now()
      from generate_series(1, ${ROWS}) g`);
    const [category] = await em.execute<{ id: string }[]>(`
      insert into platform.kb_category (id, slug, name, sort_order, created_at, updated_at)
      values (gen_random_uuid(), 'bulk', 'Bulk', 0, now(), now()) returning id`);
    await em.execute(`
      insert into platform.kb_article (id, category_id, title, slug, locale, body_markdown, body_html,
        tags, status, author_id, created_at, updated_at)
      select gen_random_uuid(), '${category.id}', 'Article ' || g, 'article-' || g, 'en', 'Body', '<p>Body</p>',
        '{}', case when g % 20 = 0 then 'draft' else 'published' end, '${staff.user.id}', now(), now()
      from generate_series(1, ${ROWS}) g`);
    await em.execute('analyze');

    // Statements of the requests under test, with their parameters, keyed by request id.
    Client.prototype.query = function (this: Client, ...args: unknown[]) {
      const id = cls.isActive() ? cls.getId() : undefined;
      const [config, values] = args as [string | { text: string; values?: unknown[] }, unknown[]];
      if (typeof id === 'string' && id.startsWith('ix-')) {
        const text = typeof config === 'string' ? config : config.text;
        const params = typeof config === 'string' ? values : config.values;
        captured.set(id, [...(captured.get(id) ?? []), { text, values: params ?? [] }]);
      }
      return (originalQuery as (...a: unknown[]) => unknown).apply(this, args);
    } as typeof Client.prototype.query;
  }, 120_000);

  afterAll(async () => {
    Client.prototype.query = originalQuery;
    await t.close();
  });

  /**
   * The path, the table it lists, the index that must serve it, and whether
   * that index must also give the order (no sort).
   */
  const cases: [
    path: string,
    as: 'org' | 'member' | 'staff',
    table: string,
    index: string,
    ordered: boolean,
  ][] = [
    ['/v1/support/tickets?status=open', 'org', 'ticket', 'ticket_status_id_idx', true],
    // A member sees their own tickets only.
    ['/v1/support/tickets', 'member', 'ticket', 'ticket_requester_id_id_idx', false],
    // A hundred rows match (here and below): the planner may sort them rather than walk the index.
    [
      '/v1/tenant/audit-log?action=action.n7',
      'org',
      'audit_event',
      'audit_event_action_id_idx',
      false,
    ],
    ['/v1/billing/invoices', 'org', 'invoice', 'invoice_tenant_id_id_idx', false],
    ['/v1/admin/tenants?status=suspended', 'staff', 'tenant', 'tenant_status_id_idx', true],
    ['/v1/admin/support/queue', 'staff', 'support_queue', 'support_queue_open_next_due_idx', true],
    [
      '/v1/admin/billing/payment-failures',
      'staff',
      'payment_attempt',
      'payment_attempt_failure_idx',
      true,
    ],
    ['/v1/admin/kb/articles?status=draft', 'staff', 'kb_article', 'kb_article_status_id_idx', true],
    ['/v1/admin/billing/dunning', 'staff', 'dunning_campaign', 'dunning_campaign_queue_idx', true],
  ];

  /** The plan PostgreSQL makes for one captured statement, with its parameters. */
  async function explain(statement: { text: string; values: unknown[] }): Promise<PlanNode> {
    const pg = new Client({ connectionString: t.db.url });
    await pg.connect();
    try {
      const res = await pg.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
        `explain (format json) ${statement.text}`,
        statement.values,
      );
      return res.rows[0]['QUERY PLAN'][0].Plan;
    } finally {
      await pg.end();
    }
  }

  it.each(cases)('%s (as %s) reads %s through %s', async (path, as, table, index, ordered) => {
    const requestId = `ix-${Math.random().toString(36).slice(2)}`;
    await request(t.server)
      .get(path)
      .set({ org, member, staff }[as].headers)
      .set('X-Request-Id', requestId)
      .expect(200);
    // The list's own statement: the one reading the table (not a count over it).
    const from = new RegExp(`from "?[a-z0-9_]+"?\\."?${table}"?[ \n]`, 'i');
    const lists = (captured.get(requestId) ?? []).filter(
      (s) => from.test(s.text) && !/count\(\*\)/i.test(s.text),
    );
    expect(lists).toHaveLength(1);
    const plan = nodes(await explain(lists[0]));
    expect({
      path,
      indexes: plan.flatMap((n) => (n['Index Name'] ? [n['Index Name']] : [])),
      seqScans: plan.filter((n) => n['Node Type'] === 'Seq Scan' && n['Relation Name'] === table)
        .length,
      sorted: plan.some((n) => n['Node Type'].endsWith('Sort')),
    }).toEqual({
      path,
      indexes: expect.arrayContaining([index]),
      seqScans: 0,
      sorted: ordered ? false : expect.any(Boolean),
    });
  });
});
