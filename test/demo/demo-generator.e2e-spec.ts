import { Writable } from 'node:stream';
import { Client } from 'pg';
import {
  pauseSchedules,
  readMarker,
  resumeSchedules,
  withClient,
  worldDigest,
} from '../../src/demo/demo-database';
import { generate } from '../../src/demo/demo-command';
import { DemoOptions } from '../../src/demo/demo-world';
import { createTestDatabase, TestDatabase } from '../support/database';
import { eventually } from '../support/polling';
import { bootTestApp, testConfig } from '../support/test-app';

/**
 * The demo world is a function of its options: generated twice with the same
 * seed into two fresh databases it is the same world (a digest over every
 * platform and tenant row, generated ids and wall-clock times masked);
 * another seed makes another world; and the world holds the stories the demo
 * promises. Generated through the same path as `npm run demo`.
 */
describe('demo world generator', () => {
  const databases: TestDatabase[] = [];
  const until = new Date('2026-06-01T12:00:00.000Z');
  const small: DemoOptions = {
    seed: 'test-seed',
    tenants: 4,
    ticketsPerTenant: 3,
    months: 3,
    until,
  };
  const quiet = new Writable({ write: (_chunk, _encoding, done) => done() });

  async function generateWorld(options: DemoOptions): Promise<TestDatabase> {
    const db = await createTestDatabase();
    databases.push(db);
    await generate(testConfig(), db.url, options, false, quiet);
    return db;
  }
  const digestOf = (db: TestDatabase) => withClient(db.url, (c) => worldDigest(c, until));
  const query = <T extends object>(db: TestDatabase, sql: string) =>
    withClient(db.url, async (c: Client) => (await c.query<T>(sql)).rows);

  let first: TestDatabase;
  let second: TestDatabase;

  // Two worlds, each a few months of billing through the app: ~20 s alone, minutes on a busy machine.
  beforeAll(async () => {
    first = await generateWorld(small);
    second = await generateWorld(small);
  }, 300_000);
  afterAll(async () => {
    for (const db of databases) await db.drop();
  });

  it('the same seed gives the same world, row for row', async () => {
    const [a, b] = await Promise.all([digestOf(first), digestOf(second)]);
    expect(b.tables).toEqual(a.tables);
    // Which tables differ, with their first differing rows, before the one digest.
    const differing = Object.keys(a.hashes)
      .filter((t) => a.hashes[t] !== b.hashes[t])
      .map((t) => ({
        table: t,
        first: a.rows[t].filter((row) => !b.rows[t].includes(row)).slice(0, 2),
        second: b.rows[t].filter((row) => !a.rows[t].includes(row)).slice(0, 2),
      }));
    expect(differing).toEqual([]);
    expect(b.digest).toBe(a.digest);
    // The digest covers the tenants' own tables, not only the platform's.
    expect(
      Object.keys(a.tables).filter((t) => t.startsWith('tenant:northwind.')).length,
    ).toBeGreaterThan(2);
    expect(a.tables['platform.invoice']).toBeGreaterThan(5);
  });

  it('another seed gives another world', async () => {
    const other = await generateWorld({ ...small, seed: 'another-seed' });
    const [a, c] = await Promise.all([digestOf(first), digestOf(other)]);
    expect(c.digest).not.toBe(a.digest);
  }, 180_000);

  it('holds the billing stories: renewals, an upgrade, a recovered campaign, one suspended, one cancelled', async () => {
    const subscriptions = await query<{ slug: string; status: string; plan: string }>(
      first,
      `select t.slug, s.status, p.code as plan
         from platform.subscription s
         join platform.tenant t on t.id = s.tenant_id
         join platform.plan p on p.id = s.plan_id
        order by t.slug`,
    );
    const statuses = subscriptions.map((s) => s.status).sort();
    expect(statuses).toEqual(['active', 'active', 'canceled', 'unpaid']);
    // The showcase moved from Starter to Pro mid-period: a proration invoice.
    expect(subscriptions.find((s) => s.slug === 'northwind')).toMatchObject({
      status: 'active',
      plan: 'pro',
    });
    const prorations = await query<{ n: number }>(
      first,
      `select count(*)::int as n from platform.invoice i join platform.tenant t on t.id = i.tenant_id
        where t.slug = 'northwind' and i.reason = 'subscription_update' and i.status = 'paid'`,
    );
    expect(prorations[0].n).toBe(1);
    const renewals = await query<{ n: number }>(
      first,
      `select count(*)::int as n from platform.invoice where reason = 'subscription_cycle' and status = 'paid'`,
    );
    expect(renewals[0].n).toBeGreaterThanOrEqual(4);
    const campaigns = await query<{ status: string; category: string }>(
      first,
      `select status, first_category as category from platform.dunning_campaign order by status`,
    );
    expect(campaigns).toEqual([
      { status: 'active', category: 'card_declined' }, // the suspended organisation, still unpaid
      { status: 'recovered', category: 'card_declined' },
    ]);
    const attempts = await query<{ status: string; n: number }>(
      first,
      `select status, count(*)::int as n from platform.payment_attempt group by status order by status`,
    );
    expect(attempts.map((a) => a.status)).toEqual(['failed', 'succeeded']);
  });

  it('holds tickets in every status, SLA breaches, CSAT, the knowledge base, feedback and a beta cohort', async () => {
    const statuses = await query<{ status: string }>(
      first,
      'select distinct status from platform.support_queue order by status',
    );
    expect(statuses.map((s) => s.status)).toEqual([
      'closed',
      'new',
      'on_hold',
      'open',
      'pending',
      'solved',
    ]);
    const breaches = await query<{ first: number; resolution: number }>(
      first,
      `select count(first_response_breached_at)::int as first, count(resolution_breached_at)::int as resolution
         from platform.support_queue`,
    );
    expect(breaches[0].first + breaches[0].resolution).toBeGreaterThan(0);
    const [schema] = await query<{ schema_name: string }>(
      first,
      `select schema_name from platform.tenant where slug = 'northwind'`,
    );
    const rated = await query<{ n: number }>(
      first,
      `select count(*)::int as n from "${schema.schema_name}".ticket where csat_score is not null`,
    );
    expect(rated[0].n).toBeGreaterThan(0);
    const articles = await query<{ n: number }>(
      first,
      `select count(*)::int as n from platform.kb_article where status = 'published' and visibility = 'public'`,
    );
    expect(articles[0].n).toBeGreaterThanOrEqual(40);
    const feedback = await query<{ kind: string }>(
      first,
      'select distinct kind from platform.feedback order by kind',
    );
    expect(feedback.map((f) => f.kind)).toEqual(['nps', 'rating']);
    const cohort = await query<{ members: number; flags: number }>(
      first,
      `select (select count(*) from platform.beta_cohort_member)::int as members,
              (select count(*) from platform.feature_flag_cohort)::int as flags`,
    );
    expect(cohort[0].members).toBeGreaterThanOrEqual(1);
    expect(cohort[0].flags).toBe(2);
    const marker = await withClient(first.url, readMarker);
    expect(marker?.options).toMatchObject({ seed: 'test-seed', tenants: 4 });
    expect(marker?.summary).toMatchObject({ tenants: 4, kbArticles: articles[0].n });
  });
});

/**
 * While a world is generated, servers sharing the database must not run their
 * crons on it (everything in a simulated history is due by the real clock):
 * the generation takes pg-boss's schedules out and puts them back.
 */
describe('demo generation pauses the crons of running servers', () => {
  it('takes every schedule out of pgboss.schedule and puts the same ones back', async () => {
    const t = await bootTestApp();
    try {
      const schedules = () =>
        withClient(
          t.db.url,
          async (c) =>
            (
              await c.query<{ name: string; cron: string }>(
                'select name, cron from pgboss.schedule order by name',
              )
            ).rows,
        );
      await eventually("the servers' crons scheduled", async () => (await schedules()).length > 3);
      const before = await schedules();
      expect(before.map((s) => s.name)).toEqual(
        expect.arrayContaining(['billing.run', 'support.sla-breaches']),
      );
      expect(await withClient(t.db.url, pauseSchedules)).toBe(before.length);
      expect(await schedules()).toEqual([]);
      // A run killed here loses nothing: the crons wait in the database, and a second
      // pause (the next run) keeps them, until a resume puts them all back.
      expect(await withClient(t.db.url, pauseSchedules)).toBe(0);
      await withClient(t.db.url, resumeSchedules);
      expect(await schedules()).toEqual(before);
      await withClient(t.db.url, resumeSchedules);
      expect(await schedules()).toEqual(before);
    } finally {
      await t.close();
    }
  });
});
