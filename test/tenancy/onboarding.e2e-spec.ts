import { PlatformRole, TenantRole } from '../../src/access/roles';
import { TokenService } from '../../src/identity/token.service';
import { OutboxMessage } from '../../src/notifications/entities/outbox-message.entity';
import { ONBOARDING_STEP_KEYS } from '../../src/tenancy/onboarding/onboarding-steps';
import { billingClient, PRICES, type Body, type Headers } from '../billing/billing-helpers';
import { type Actor, createOrg, createUser, uniqueEmail } from '../support/factories';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

type Step = { key: string; done: boolean; doneAt: string | null };

describe('onboarding checklist (GET /v1/tenant/onboarding)', () => {
  let t: TestApp;
  let staff: Actor;
  /** Every statement that touched the milestone table or read the view, as logged. */
  const statements: string[] = [];
  const milestoneInserts = () =>
    statements.filter((s) => s.includes('insert into platform.tenant_milestone')).length;

  beforeAll(async () => {
    t = await bootTestApp({
      orm: {
        onQuery: (line) => {
          if (/tenant_milestone|tenant_onboarding/.test(line)) statements.push(line);
        },
      },
    });
    staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
  });
  afterAll(() => t.close());

  const { api, signUp, addCard } = billingClient(
    () => t,
    () => staff,
  );

  const checklist = async (headers: Headers): Promise<Body> =>
    (await api().get('/v1/tenant/onboarding').set(headers).expect(200)).body;
  /** The keys of the steps done, in checklist order. */
  const doneKeys = (body: Body): string[] =>
    (body.steps as Step[]).filter((s) => s.done).map((s) => s.key);
  const milestoneRows = async (tenantId: string): Promise<{ first_at: string | Date }[]> =>
    t
      .em()
      .execute(
        `select first_at from platform.tenant_milestone where tenant_id = ? and milestone = 'kb_visit'`,
        [tenantId],
      );
  const viewRow = async (tenantId: string): Promise<Record<string, unknown>> => {
    const [row] = await t
      .em()
      .execute<Record<string, unknown>[]>(
        'select * from platform.tenant_onboarding where tenant_id = ?',
        [tenantId],
      );
    return row;
  };
  /** The token in the last verification mail sent to `to` (the outbox: no SMTP in tests). */
  const verificationToken = async (to: string): Promise<string> => {
    const [message] = await t
      .em()
      .find(
        OutboxMessage,
        { to, template: 'auth.verify_email' },
        { orderBy: { createdAt: 'desc', id: 'desc' }, limit: 1 },
      );
    const token = /token=([A-Za-z0-9_-]{43})/.exec(message?.text ?? '')?.[1];
    expect(token).toBeDefined();
    return token!;
  };
  const ownerEmail = async (tenantId: string): Promise<string> => {
    const [row] = await t.em().execute<{ email: string }[]>(
      `select u.email from platform.user_account u
         join platform.membership m on m.user_id = u.id
        where m.tenant_id = ? and m.role = 'owner'`,
      [tenantId],
    );
    return row.email;
  };

  it('starts empty after sign-up, flips each step through the real API, and sets completedAt with the last', async () => {
    const buyer = await signUp();
    const fresh = await checklist(buyer.headers);
    // Sign-up alone does none of the steps: the address is unverified and
    // no plan is chosen (the free tier has no price to subscribe to).
    expect(fresh).toEqual({
      steps: ONBOARDING_STEP_KEYS.map((key) => ({
        key,
        title: expect.any(String),
        done: false,
        doneAt: null,
        method: 'POST',
        href: expect.stringMatching(/^\/v1\//),
      })),
      completed: 0,
      total: 6,
      percent: 0,
      completedAt: null,
    });

    const expectDone = async (keys: string[]): Promise<Body> => {
      const body = await checklist(buyer.headers);
      expect(doneKeys(body)).toEqual(keys);
      for (const step of body.steps as Step[]) {
        if (step.done) expect(new Date(step.doneAt!).toISOString()).toBe(step.doneAt);
        else expect(step.doneAt).toBeNull();
      }
      expect(body.completed).toBe(keys.length);
      expect(body.percent).toBe(Math.floor((keys.length * 100) / 6));
      if (keys.length < 6) expect(body.completedAt).toBeNull();
      return body;
    };

    // 1. The owner verifies their address through the mailed link.
    const token = await verificationToken(await ownerEmail(buyer.tenantId));
    await api().post('/v1/auth/verify-email').send({ token }).expect(204);
    await expectDone(['email_verified']);

    // 2. A card, through the simulated gateway (subscribing needs one).
    await addCard(buyer.headers, 'pm_card_visa').expect(201);
    await expectDone(['email_verified', 'payment_method_added']);

    // 3. A plan (two seats: the teammate needs one).
    const subscribed = await api()
      .post('/v1/billing/subscription')
      .set(buyer.headers)
      .send({ priceId: PRICES.STARTER_MONTH, quantity: 2 });
    expect(subscribed.status).toBe(201);
    await expectDone(['email_verified', 'plan_chosen', 'payment_method_added']);

    // 4. A teammate invited.
    await api()
      .post('/v1/tenant/invitations')
      .set(buyer.headers)
      .send({ email: uniqueEmail('teammate'), role: 'member' })
      .expect(201);
    await expectDone(['email_verified', 'plan_chosen', 'payment_method_added', 'teammate_invited']);

    // 5. The knowledge base, read while signed in: the milestone is written once.
    expect(await milestoneRows(buyer.tenantId)).toHaveLength(0);
    const insertsBefore = milestoneInserts();
    await api().get('/v1/kb/search?q=invoice').set(buyer.headers).expect(200);
    await expectDone([
      'email_verified',
      'plan_chosen',
      'payment_method_added',
      'teammate_invited',
      'first_ticket_or_kb_visit',
    ]);
    const [first] = await milestoneRows(buyer.tenantId);
    expect(first).toBeDefined();
    expect(milestoneInserts() - insertsBefore).toBe(1);
    await api().get('/v1/kb/categories').set(buyer.headers).expect(200);
    await api().get('/v1/kb/search?q=card').set(buyer.headers).expect(200);
    await api().get('/v1/kb/articles/no-such-article?locale=en').set(buyer.headers).expect(404);
    // Later reads neither write nor try to: the process remembers the milestone.
    expect(await milestoneRows(buyer.tenantId)).toEqual([first]);
    expect(milestoneInserts() - insertsBefore).toBe(1);

    // 6. An API key: the checklist is complete.
    const key = await api()
      .post('/v1/tenant/api-keys')
      .set(buyer.headers)
      .send({ name: 'CI' })
      .expect(201);
    const done = await expectDone(ONBOARDING_STEP_KEYS);
    expect(done.percent).toBe(100);
    const times = (done.steps as Step[]).map((s) => new Date(s.doneAt!).getTime());
    expect(done.completedAt).toBe(new Date(Math.max(...times)).toISOString());

    // The view the business metrics read says the same.
    expect(await viewRow(buyer.tenantId)).toMatchObject({
      email_verified: true,
      plan_chosen: true,
      payment_method_added: true,
      teammate_invited: true,
      first_ticket_or_kb_visit: true,
      api_key_created: true,
      steps_done: 6,
      steps_total: 6,
      completed: true,
    });
    const completedAt = (await viewRow(buyer.tenantId)).completed_at as string | Date;
    expect(new Date(completedAt).toISOString()).toBe(done.completedAt);

    // One statement per read of the checklist.
    const before = statements.length;
    await checklist(buyer.headers);
    expect(statements.slice(before).filter((s) => s.includes('tenant_onboarding'))).toHaveLength(1);

    // Done stays done: revoking the only API key does not reopen the step.
    await api().delete(`/v1/tenant/api-keys/${key.body.id}`).set(buyer.headers).expect(204);
    expect(await checklist(buyer.headers)).toEqual(done);
  });

  it('counts a ticket for the ticket-or-KB step, and a second member for the teammate step', async () => {
    const org = await createOrg(t.app);
    expect(doneKeys(await checklist(org.headers))).toEqual([]);
    await api()
      .post('/v1/support/tickets')
      .set(org.headers)
      .send({ subject: 'Where is my invoice?', description: 'I cannot find it.' })
      .expect(201);
    expect(doneKeys(await checklist(org.headers))).toEqual(['first_ticket_or_kb_visit']);
    expect(await milestoneRows(org.tenant.id)).toHaveLength(0);

    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    expect(doneKeys(await checklist(org.headers))).toEqual([
      'teammate_invited',
      'first_ticket_or_kb_visit',
    ]);
    // Any member may read it, and sees the same.
    expect(doneKeys(await checklist(member.headers))).toEqual([
      'teammate_invited',
      'first_ticket_or_kb_visit',
    ]);
  });

  it("never shows one organisation's steps to another", async () => {
    const a = await createOrg(t.app);
    const b = await createOrg(t.app);
    // Someone in both organisations, whose session acts for A.
    const both = await createUser(t.app, { tenant: a.tenant, role: TenantRole.Admin });
    await t.em().execute(
      `insert into platform.membership (id, tenant_id, user_id, role, created_at, updated_at)
       values (gen_random_uuid(), ?, ?, 'member', now(), now())`,
      [b.tenant.id, both.user.id],
    );
    await api()
      .post('/v1/tenant/invitations')
      .set(a.headers)
      .send({ email: uniqueEmail('mate'), role: 'member' })
      .expect(201);
    await api().post('/v1/tenant/api-keys').set(a.headers).send({ name: 'A' }).expect(201);
    await api()
      .get('/v1/kb/search?q=help')
      .set({ Authorization: both.headers.Authorization })
      .expect(200);

    expect(doneKeys(await checklist(a.headers))).toEqual([
      'teammate_invited',
      'first_ticket_or_kb_visit',
      'api_key_created',
    ]);
    // B has a second member (the shared user), and nothing else A did.
    expect(doneKeys(await checklist(b.headers))).toEqual(['teammate_invited']);
    expect(await milestoneRows(b.tenant.id)).toHaveLength(0);
    // B's owner cannot read A's checklist by naming it.
    const res = await api()
      .get('/v1/tenant/onboarding')
      .set({ ...b.headers, 'X-Tenant-Id': a.tenant.id });
    expectProblem(res, 404, 'tenant_not_found');
  });

  it('answers 401 without credentials, and cuts a removed member off (404, as for a stranger)', async () => {
    expectProblem(await api().get('/v1/tenant/onboarding'), 401, 'unauthenticated');

    const org = await createOrg(t.app);
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    await checklist(member.headers);
    await api().delete(`/v1/tenant/members/${member.user.id}`).set(org.headers).expect(204);
    expectProblem(
      await api().get('/v1/tenant/onboarding').set(member.headers),
      404,
      'tenant_not_found',
    );
    // Nor does their still-valid token count a KB visit for the organisation they left.
    await api().get('/v1/kb/categories').set(member.headers).expect(200);
    expect(await milestoneRows(org.tenant.id)).toHaveLength(0);
  });

  it('records no KB visit for anonymous readers or staff outside the organisation', async () => {
    const org = await createOrg(t.app);
    await api().get('/v1/kb/search?q=help').expect(200);
    // Staff whose session acts for the organisation without being a member of it.
    const em = t.em();
    const tokens = t.app.get(TokenService).issue(em, staff.user, org.tenant.id);
    await em.flush();
    await api()
      .get('/v1/kb/search?q=help')
      .set({ Authorization: `Bearer ${tokens.accessToken}` })
      .expect(200);
    expect(await milestoneRows(org.tenant.id)).toHaveLength(0);
    // Staff may read any organisation's checklist (audited like every staff access).
    expect((await checklist({ ...staff.headers, 'X-Tenant-Id': org.tenant.id })).total).toBe(6);
  });

  it('keeps the view the business metrics read: one row per tenant, the agreed columns and types', async () => {
    const columns = await t.em().execute<{ column_name: string; data_type: string }[]>(
      `select column_name, data_type from information_schema.columns
        where table_schema = 'platform' and table_name = 'tenant_onboarding'`,
    );
    const types = Object.fromEntries(columns.map((c) => [c.column_name, c.data_type]));
    expect(types).toMatchObject({
      tenant_id: 'uuid',
      email_verified: 'boolean',
      plan_chosen: 'boolean',
      payment_method_added: 'boolean',
      teammate_invited: 'boolean',
      first_ticket_or_kb_visit: 'boolean',
      api_key_created: 'boolean',
      steps_done: 'integer',
      steps_total: 'integer',
      completed: 'boolean',
      completed_at: 'timestamp with time zone',
    });
    const [counts] = await t.em().execute<{ tenants: string; rows: string }[]>(
      `select (select count(*) from platform.tenant) as tenants,
              (select count(*) from platform.tenant_onboarding) as rows`,
    );
    expect(Number(counts.rows)).toBe(Number(counts.tenants));
  });

  it('is readable by every tenant role and by an API key', async () => {
    const org = await createOrg(t.app);
    for (const role of Object.values(TenantRole)) {
      const user = await createUser(t.app, { tenant: org.tenant, role });
      expect((await checklist(user.headers)).total).toBe(6);
    }
    const key = await api()
      .post('/v1/tenant/api-keys')
      .set(org.headers)
      .send({ name: 'reader', scopes: ['read:Tenant'] })
      .expect(201);
    const body = await checklist({ 'X-Api-Key': key.body.key as string });
    expect(doneKeys(body)).toEqual(['teammate_invited', 'api_key_created']);
  });
});
