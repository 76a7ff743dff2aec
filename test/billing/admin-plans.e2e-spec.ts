import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { AdminPlanDto } from '../../src/billing/catalog/dtos/admin-plan.dto';
import { PricingDto } from '../../src/billing/catalog/dtos/pricing.dto';
import { Plan } from '../../src/billing/entities/plan.entity';
import { Price } from '../../src/billing/entities/price.entity';
import { PlatformAuditEvent } from '../../src/tenancy/audit/platform-audit-event.entity';
import { Actor, createOrg, createUser, Org } from '../support/factories';
import { erroredFields, expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const FREE_ID = '0193a000-0000-7000-8000-000000000001';
const STARTER_ID = '0193a000-0000-7000-8000-000000000002';
const PRO_ID = '0193a000-0000-7000-8000-000000000003';
const ENTERPRISE_ID = '0193a000-0000-7000-8000-000000000004';
const PRO_USD_MONTH = '0193a000-0000-7000-8001-000000000031';
const UNKNOWN_ID = '0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d';

const uniqueCode = () => `team-${randomBytes(4).toString('hex')}`;

/** A complete, valid plan; `seats` is left out on purpose (it follows seatLimit). */
const planBody = (overrides: Record<string, unknown> = {}) => ({
  code: uniqueCode(),
  name: 'Team',
  description: 'For teams in between.',
  sortOrder: 25,
  supportTier: 'standard',
  seatLimit: 50,
  trialDays: 7,
  features: {
    support: 'Email, same day',
    api_access: true,
    audit_log: true,
    knowledge_base: true,
    sso: false,
    uptime_sla: '99.5%',
  },
  ...overrides,
});

describe('admin: plans and prices', () => {
  let t: TestApp;
  let admin: Actor;
  let support: Actor;
  let owner: Org;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    support = await createUser(t.app, { platformRole: PlatformRole.Support });
    owner = await createOrg(t.app);
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  const createPlan = async (overrides: Record<string, unknown> = {}): Promise<AdminPlanDto> =>
    (await api().post('/v1/admin/plans').set(admin.headers).send(planBody(overrides)).expect(201))
      .body as AdminPlanDto;
  const pricing = async (query = ''): Promise<PricingDto> =>
    (await api().get(`/v1/pricing${query}`).expect(200)).body as PricingDto;
  /** One tier of the pricing page, which must be there. */
  const tierOf = (page: PricingDto, code: string) => {
    const tier = page.tiers.find((x) => x.code === code);
    if (!tier) throw new Error(`${code} is not on the pricing page`);
    return tier;
  };
  const recommendedCodes = async () =>
    (await t.em().find(Plan, { recommended: true }, { orderBy: { code: 'asc' } })).map(
      (plan) => plan.code,
    );
  const auditFor = (planId: string) =>
    t.em().find(PlatformAuditEvent, { data: { planId } }, { orderBy: { id: 'asc' } });

  describe('who may call', () => {
    const reads: [string, string][] = [
      ['get', '/v1/admin/plans'],
      ['get', `/v1/admin/plans/${PRO_ID}`],
    ];
    const writes: [string, string, object][] = [
      ['post', '/v1/admin/plans', planBody()],
      ['patch', `/v1/admin/plans/${PRO_ID}`, { name: 'Pro!' }],
      ['post', `/v1/admin/plans/${PRO_ID}/archive`, {}],
      [
        'post',
        `/v1/admin/plans/${PRO_ID}/prices`,
        { currency: 'gbp', interval: 'month', unitAmount: 1 },
      ],
      ['post', `/v1/admin/plans/${PRO_ID}/prices/${PRO_USD_MONTH}/archive`, {}],
    ];
    const call = (method: string, path: string, body?: object) => {
      const req = (api() as unknown as Record<string, (p: string) => request.Test>)[method](path);
      return body ? req.send(body) : req;
    };

    it('answers 401 to anonymous callers on every route', async () => {
      for (const [method, path, body] of [...reads, ...writes]) {
        const res = await call(method, path, body);
        expectProblem(res, 401, 'unauthenticated');
      }
    });

    it('answers 403 to a tenant owner on every route: the catalog is platform staff business', async () => {
      for (const [method, path, body] of [...reads, ...writes]) {
        const res = await call(method, path, body).set(owner.headers);
        expectProblem(res, 403, 'forbidden');
      }
    });

    it('lets platform support read but not write', async () => {
      for (const [method, path] of reads) await call(method, path).set(support.headers).expect(200);
      for (const [method, path, body] of writes) {
        const res = await call(method, path, body).set(support.headers);
        expectProblem(res, 403, 'forbidden');
      }
      // Nothing changed on the way.
      const pro = await t.em().findOneOrFail(Plan, { id: PRO_ID });
      expect(pro).toMatchObject({ name: 'Pro', status: 'active' });
      expect(await t.em().findOneOrFail(Price, { id: PRO_USD_MONTH })).toMatchObject({
        status: 'active',
      });
    });
  });

  describe('reading', () => {
    it('lists every plan in display order with all its prices', async () => {
      const { body } = await api().get('/v1/admin/plans').set(support.headers).expect(200);
      const seeded = body.items.filter((p: { id: string }) =>
        [FREE_ID, STARTER_ID, PRO_ID, ENTERPRISE_ID].includes(p.id),
      );
      expect(seeded.map((p: { code: string }) => p.code)).toEqual([
        'free',
        'starter',
        'pro',
        'enterprise',
      ]);
      const pro = seeded[2];
      expect(pro).toMatchObject({
        id: PRO_ID,
        code: 'pro',
        name: 'Pro',
        sortOrder: 30,
        supportTier: 'priority',
        seatLimit: 200,
        trialDays: 14,
        status: 'active',
        features: expect.objectContaining({ seats: 200, sso: true }),
      });
      expect(pro.prices).toHaveLength(4);
      expect(pro.prices).toContainEqual({
        id: PRO_USD_MONTH,
        currency: 'usd',
        interval: 'month',
        unitAmount: 2900,
        status: 'active',
        createdAt: expect.any(String),
        archivedAt: null,
      });
      expect(seeded[0].prices).toEqual([]);
    });

    it('gets one plan; an unknown id is a 404 problem, a malformed one a 400', async () => {
      const { body } = await api()
        .get(`/v1/admin/plans/${STARTER_ID}`)
        .set(support.headers)
        .expect(200);
      expect(body).toMatchObject({ code: 'starter', prices: expect.any(Array) });
      expect(body.prices).toHaveLength(4);

      const missing = await api().get(`/v1/admin/plans/${UNKNOWN_ID}`).set(support.headers);
      expect(expectProblem(missing, 404, 'plan_not_found').detail).toContain(UNKNOWN_ID);
      const malformed = await api().get('/v1/admin/plans/pro').set(support.headers);
      expect(malformed.status).toBe(400);
      expect(malformed.headers['content-type']).toMatch(/^application\/problem\+json/);
    });
  });

  describe('creating a plan', () => {
    it('creates it (seats from seatLimit), audits it, and shows it on the pricing page', async () => {
      const body = planBody();
      const res = await api().post('/v1/admin/plans').set(admin.headers).send(body).expect(201);
      expect(res.body).toEqual({
        id: expect.any(String),
        code: body.code,
        name: 'Team',
        description: 'For teams in between.',
        sortOrder: 25,
        supportTier: 'standard',
        seatLimit: 50,
        trialDays: 7,
        recommended: false,
        features: { ...body.features, seats: 50 },
        status: 'active',
        createdAt: expect.any(String),
        updatedAt: expect.any(String),
        prices: [],
      });
      const got = await api().get(`/v1/admin/plans/${res.body.id}`).set(admin.headers).expect(200);
      expect(got.body).toEqual(res.body);

      // Between Starter (20) and Pro (30); no prices yet; every matrix row has its cell.
      const page = await pricing();
      const codes = page.tiers.map((tier: { code: string }) => tier.code);
      expect(codes.indexOf(body.code)).toBe(codes.indexOf('pro') - 1);
      expect(page.tiers[codes.indexOf(body.code)].prices).toEqual([]);
      for (const row of page.matrix.rows) expect(row.cells).toHaveProperty([body.code]);

      const events = await auditFor(res.body.id);
      expect(events.map((e) => [e.action, e.tenantId, e.actorType, e.actorId])).toEqual([
        ['plan.created', null, 'platform_staff', admin.user.id],
      ]);
      expect(events[0].data).toMatchObject({
        planCode: body.code,
        seatLimit: 50,
        recommended: false,
        features: { ...body.features, seats: 50 },
        unrecommended: [],
      });
      expect(typeof events[0].requestId).toBe('string');
    });

    it('takes null as unlimited seats and defaults the trial and the flag', async () => {
      const { trialDays: _trialDays, ...rest } = planBody({ seatLimit: null });
      const res = await api().post('/v1/admin/plans').set(admin.headers).send(rest).expect(201);
      expect(res.body).toMatchObject({ seatLimit: null, trialDays: 0, recommended: false });
      expect(res.body.features.seats).toBeNull();
    });

    it('refuses a code that is taken (409), archived plans included', async () => {
      const taken = await api()
        .post('/v1/admin/plans')
        .set(admin.headers)
        .send(planBody({ code: 'pro' }));
      expect(expectProblem(taken, 409, 'plan_code_taken').detail).toContain('"pro"');

      const archived = await createPlan();
      await api().post(`/v1/admin/plans/${archived.id}/archive`).set(admin.headers).expect(200);
      const again = await api()
        .post('/v1/admin/plans')
        .set(admin.headers)
        .send(planBody({ code: archived.code }));
      expectProblem(again, 409, 'plan_code_taken');
    });

    it.each([
      ['a code that is not slug-like', { code: 'Team Plus' }, 'code'],
      ['a one-letter code', { code: 'x' }, 'code'],
      ['a trial over 90 days', { trialDays: 91 }, 'trialDays'],
      ['a negative trial', { trialDays: -1 }, 'trialDays'],
      ['no seat limit at all', { seatLimit: undefined }, 'seatLimit'],
      ['zero seats', { seatLimit: 0 }, 'seatLimit'],
      ['an unknown support tier', { supportTier: 'platinum' }, 'supportTier'],
      ['features that are not an object', { features: ['sso'] }, 'features'],
      ['an empty name', { name: '   ' }, 'name'],
      ['an unknown field', { status: 'archived' }, 'status'],
    ])('refuses %s with a 400 validation problem', async (_case, overrides, field) => {
      const res = await api().post('/v1/admin/plans').set(admin.headers).send(planBody(overrides));
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual([field]);
    });

    it('refuses unknown features and values of the wrong kind with a 422 naming each', async () => {
      const body = planBody({
        features: {
          ...planBody().features,
          sso: 'yes',
          api_access: null,
          uptime_sla: 99.9,
          seats: -1,
          dark_mode: true,
        },
      });
      const res = await api().post('/v1/admin/plans').set(admin.headers).send(body);
      const problem = expectProblem(res, 422, 'plan_features_invalid');
      expect(erroredFields(problem).sort()).toEqual(
        [
          'features.api_access',
          'features.dark_mode',
          'features.seats',
          'features.sso',
          'features.uptime_sla',
        ].sort(),
      );
      expect(problem.detail).toMatch(/features\.sso is a flag: true or false/);
      expect(problem.detail).toMatch(/features\.dark_mode is not a feature of the catalog/);
      expect(problem.detail).toMatch(/features\.uptime_sla is a text/);
      expect(problem.detail).toMatch(/features\.seats is a limit/);
      expect(await t.em().count(Plan, { code: body.code })).toBe(0);
    });

    it('refuses a plan that leaves features out, or whose seats disagree with seatLimit (422)', async () => {
      const { sso: _sso, uptime_sla: _sla, ...partial } = planBody().features;
      const missing = await api()
        .post('/v1/admin/plans')
        .set(admin.headers)
        .send(planBody({ features: partial }));
      const problem = expectProblem(missing, 422, 'plan_features_invalid');
      expect(erroredFields(problem)).toEqual(['features.sso', 'features.uptime_sla']);
      expect(problem.detail).toMatch(/is missing/);

      const seats = await api()
        .post('/v1/admin/plans')
        .set(admin.headers)
        .send(planBody({ seatLimit: 10, features: { ...planBody().features, seats: 20 } }));
      expect(expectProblem(seats, 422, 'plan_features_invalid').detail).toMatch(
        /features\.seats follows seatLimit \(10\)/,
      );
      // The same value is accepted.
      await api()
        .post('/v1/admin/plans')
        .set(admin.headers)
        .send(planBody({ seatLimit: 10, features: { ...planBody().features, seats: 10 } }))
        .expect(201);
    });
  });

  describe('recommending', () => {
    it('moves the flag in one transaction; a refused request leaves it where it was', async () => {
      expect(await recommendedCodes()).toEqual(['pro']);
      const team = await createPlan({ recommended: true });
      expect(team.recommended).toBe(true);
      expect(await recommendedCodes()).toEqual([team.code]);
      expect((await pricing()).recommended).toBe(team.code);
      const [created] = await auditFor(team.id);
      expect(created.data.unrecommended).toEqual(['pro']);

      // Back to Pro through PATCH.
      const res = await api()
        .patch(`/v1/admin/plans/${PRO_ID}`)
        .set(admin.headers)
        .send({ recommended: true })
        .expect(200);
      expect(res.body.recommended).toBe(true);
      expect(await recommendedCodes()).toEqual(['pro']);
      const events = await auditFor(PRO_ID);
      expect(events.at(-1)?.data).toMatchObject({
        changes: { recommended: { from: false, to: true } },
        unrecommended: [team.code],
      });

      // A 422 in the same request as the flag: nothing moves, nothing is audited.
      const auditBefore = await t.em().count(PlatformAuditEvent, {});
      const bad = await api()
        .patch(`/v1/admin/plans/${STARTER_ID}`)
        .set(admin.headers)
        .send({ recommended: true, name: 'Starter+', features: { sso: 'maybe' } });
      expectProblem(bad, 422, 'plan_features_invalid');
      const badCreate = await api()
        .post('/v1/admin/plans')
        .set(admin.headers)
        .send(planBody({ recommended: true, features: { sso: 1 } }));
      expectProblem(badCreate, 422, 'plan_features_invalid');
      expect(await recommendedCodes()).toEqual(['pro']);
      expect((await t.em().findOneOrFail(Plan, { id: STARTER_ID })).name).toBe('Starter');
      expect(await t.em().count(PlatformAuditEvent, {})).toBe(auditBefore);
      expect((await pricing()).recommended).toBe('pro');

      // Unsetting leaves the page without a highlight.
      await api()
        .patch(`/v1/admin/plans/${PRO_ID}`)
        .set(admin.headers)
        .send({ recommended: false })
        .expect(200);
      expect((await pricing()).recommended).toBeNull();
      await api()
        .patch(`/v1/admin/plans/${PRO_ID}`)
        .set(admin.headers)
        .send({ recommended: true })
        .expect(200);
    });
  });

  describe('updating a plan', () => {
    it('changes display fields and feature values, audits what changed, and the page follows', async () => {
      const plan = await createPlan();
      await pricing(); // cached now
      const res = await api()
        .patch(`/v1/admin/plans/${plan.id}`)
        .set(admin.headers)
        .send({
          name: 'Team Plus',
          description: 'More of everything.',
          sortOrder: 26,
          supportTier: 'priority',
          trialDays: 30,
          seatLimit: 75,
          features: { sso: true, uptime_sla: null },
        })
        .expect(200);
      expect(res.body).toMatchObject({
        id: plan.id,
        code: plan.code,
        name: 'Team Plus',
        description: 'More of everything.',
        sortOrder: 26,
        supportTier: 'priority',
        trialDays: 30,
        seatLimit: 75,
        features: { ...plan.features, sso: true, uptime_sla: null, seats: 75 },
      });
      expect(new Date(res.body.updatedAt).getTime()).toBeGreaterThanOrEqual(
        new Date(plan.updatedAt).getTime(),
      );

      const page = await pricing();
      const tier = tierOf(page, plan.code);
      expect(tier).toMatchObject({ name: 'Team Plus', seatLimit: 75, trialDays: 30 });
      const sso = page.matrix.rows.find((row) => row.key === 'sso');
      expect(sso?.cells[plan.code]).toBe(true);

      const events = await auditFor(plan.id);
      expect(events.map((e) => e.action)).toEqual(['plan.created', 'plan.updated']);
      expect(events[1].tenantId).toBeNull();
      expect(events[1].data.changes).toEqual({
        name: { from: 'Team', to: 'Team Plus' },
        description: { from: 'For teams in between.', to: 'More of everything.' },
        sortOrder: { from: 25, to: 26 },
        supportTier: { from: 'standard', to: 'priority' },
        seatLimit: { from: 50, to: 75 },
        trialDays: { from: 7, to: 30 },
        'features.seats': { from: 50, to: 75 },
        'features.sso': { from: false, to: true },
        'features.uptime_sla': { from: '99.5%', to: null },
      });
    });

    it('records nothing for a request that changes nothing', async () => {
      const plan = await createPlan();
      await api()
        .patch(`/v1/admin/plans/${plan.id}`)
        .set(admin.headers)
        .send({ name: plan.name, features: { sso: false } })
        .expect(200);
      await api().patch(`/v1/admin/plans/${plan.id}`).set(admin.headers).send({}).expect(200);
      expect((await auditFor(plan.id)).map((e) => e.action)).toEqual(['plan.created']);
    });

    it('refuses bad input: 400 for fields, 422 for features, 404 for an unknown plan', async () => {
      const plan = await createPlan();
      for (const [body, field] of [
        [{ name: null }, 'name'],
        [{ code: 'renamed' }, 'code'],
        [{ trialDays: 91 }, 'trialDays'],
        [{ seatLimit: 1.5 }, 'seatLimit'],
        [{ recommended: 'yes' }, 'recommended'],
      ] as const) {
        const res = await api().patch(`/v1/admin/plans/${plan.id}`).set(admin.headers).send(body);
        expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual([field]);
      }
      const seats = await api()
        .patch(`/v1/admin/plans/${plan.id}`)
        .set(admin.headers)
        .send({ seatLimit: 60, features: { seats: 70 } });
      expectProblem(seats, 422, 'plan_features_invalid');
      const unknown = await api()
        .patch(`/v1/admin/plans/${plan.id}`)
        .set(admin.headers)
        .send({ name: 'Renamed', features: { nope: 1 } });
      expect(expectProblem(unknown, 422, 'plan_features_invalid').detail).toMatch(/features\.nope/);
      const after = await t.em().findOneOrFail(Plan, { id: plan.id });
      expect({ name: after.name, seatLimit: after.seatLimit }).toEqual({
        name: 'Team',
        seatLimit: 50,
      });

      const missing = await api()
        .patch(`/v1/admin/plans/${UNKNOWN_ID}`)
        .set(admin.headers)
        .send({ name: 'Ghost' });
      expectProblem(missing, 404, 'plan_not_found');
    });

    it('lets an unlimited plan be set with null', async () => {
      const plan = await createPlan();
      const res = await api()
        .patch(`/v1/admin/plans/${plan.id}`)
        .set(admin.headers)
        .send({ seatLimit: null })
        .expect(200);
      expect(res.body.seatLimit).toBeNull();
      expect(res.body.features.seats).toBeNull();
    });
  });

  describe('archiving a plan', () => {
    it('takes it off the pricing page but keeps it (and its prices) for admins, once', async () => {
      const plan = await createPlan({ recommended: false });
      const price = await api()
        .post(`/v1/admin/plans/${plan.id}/prices`)
        .set(admin.headers)
        .send({ currency: 'usd', interval: 'month', unitAmount: 1900 })
        .expect(201);
      expect((await pricing()).tiers.map((x: { code: string }) => x.code)).toContain(plan.code);

      const res = await api()
        .post(`/v1/admin/plans/${plan.id}/archive`)
        .set(admin.headers)
        .expect(200);
      expect(res.body).toMatchObject({ status: 'archived', recommended: false });
      expect(res.body.prices).toEqual([
        expect.objectContaining({ id: price.body.id, status: 'active' }),
      ]);

      const page = await pricing();
      expect(page.tiers.map((x: { code: string }) => x.code)).not.toContain(plan.code);
      expect(page.matrix.plans).not.toContain(plan.code);
      expect(page.matrix.rows[0].cells).not.toHaveProperty([plan.code]);

      const list = await api().get('/v1/admin/plans').set(support.headers).expect(200);
      expect(list.body.items).toContainEqual(
        expect.objectContaining({ id: plan.id, status: 'archived' }),
      );

      // Again: nothing more happens.
      await api().post(`/v1/admin/plans/${plan.id}/archive`).set(admin.headers).expect(200);
      expect((await auditFor(plan.id)).map((e) => e.action)).toEqual([
        'plan.created',
        'price.created',
        'plan.archived',
      ]);

      // An archived plan takes no price and cannot be recommended; its texts may still be fixed.
      const addPrice = await api()
        .post(`/v1/admin/plans/${plan.id}/prices`)
        .set(admin.headers)
        .send({ currency: 'eur', interval: 'month', unitAmount: 1700 });
      expectProblem(addPrice, 409, 'plan_archived');
      const recommend = await api()
        .patch(`/v1/admin/plans/${plan.id}`)
        .set(admin.headers)
        .send({ recommended: true });
      expectProblem(recommend, 409, 'plan_archived');
      await api()
        .patch(`/v1/admin/plans/${plan.id}`)
        .set(admin.headers)
        .send({ description: 'Retired.' })
        .expect(200);
    });

    it('clears the flag of a recommended plan it archives', async () => {
      const plan = await createPlan({ recommended: true });
      await api().post(`/v1/admin/plans/${plan.id}/archive`).set(admin.headers).expect(200);
      expect(await recommendedCodes()).toEqual([]);
      expect((await pricing()).recommended).toBeNull();
      const [, archived] = await auditFor(plan.id);
      expect(archived.data).toMatchObject({ wasRecommended: true });
      await api()
        .patch(`/v1/admin/plans/${PRO_ID}`)
        .set(admin.headers)
        .send({ recommended: true })
        .expect(200);
    });

    it('refuses to archive the free plan (409) and answers 404 for an unknown one', async () => {
      const free = await api().post(`/v1/admin/plans/${FREE_ID}/archive`).set(admin.headers);
      expectProblem(free, 409, 'free_plan_not_archivable');
      expect((await t.em().findOneOrFail(Plan, { id: FREE_ID })).status).toBe('active');
      const missing = await api().post(`/v1/admin/plans/${UNKNOWN_ID}/archive`).set(admin.headers);
      expectProblem(missing, 404, 'plan_not_found');
    });
  });

  describe('prices', () => {
    it('adds a price, refuses a second active one for the same currency and interval, and replaces it by archive + add', async () => {
      const plan = await createPlan();
      const first = await api()
        .post(`/v1/admin/plans/${plan.id}/prices`)
        .set(admin.headers)
        .send({ currency: 'GBP', interval: 'month', unitAmount: 1500 })
        .expect(201);
      expect(first.body).toEqual({
        id: expect.any(String),
        currency: 'gbp',
        interval: 'month',
        unitAmount: 1500,
        status: 'active',
        createdAt: expect.any(String),
        archivedAt: null,
      });
      // Another interval and another currency are other prices.
      await api()
        .post(`/v1/admin/plans/${plan.id}/prices`)
        .set(admin.headers)
        .send({ currency: 'gbp', interval: 'year', unitAmount: 15000 })
        .expect(201);
      await api()
        .post(`/v1/admin/plans/${plan.id}/prices`)
        .set(admin.headers)
        .send({ currency: 'usd', interval: 'month', unitAmount: 0 })
        .expect(201);

      const dup = await api()
        .post(`/v1/admin/plans/${plan.id}/prices`)
        .set(admin.headers)
        .send({ currency: 'gbp', interval: 'month', unitAmount: 1600 });
      const problem = expectProblem(dup, 409, 'price_exists');
      expect(problem.priceId).toBe(first.body.id);
      expect(problem.detail).toMatch(/archive that one first/);

      const gbp = await pricing('?currency=gbp');
      const tier = tierOf(gbp, plan.code);
      expect(tier.prices).toEqual([
        {
          currency: 'gbp',
          monthly: expect.objectContaining({ priceId: first.body.id, unitAmount: 1500 }),
          yearly: expect.objectContaining({ unitAmount: 15000 }),
          yearlySaving: { amount: 3000, currency: 'gbp', percent: 17 },
        },
      ]);

      const archived = await api()
        .post(`/v1/admin/plans/${plan.id}/prices/${first.body.id}/archive`)
        .set(admin.headers)
        .expect(200);
      expect(archived.body).toMatchObject({
        id: first.body.id,
        status: 'archived',
        unitAmount: 1500,
        archivedAt: expect.any(String),
      });
      // No longer offered: the page shows the yearly price alone.
      const after = tierOf(await pricing('?currency=gbp'), plan.code);
      expect(after.prices[0]).toMatchObject({ monthly: null, yearlySaving: null });

      const second = await api()
        .post(`/v1/admin/plans/${plan.id}/prices`)
        .set(admin.headers)
        .send({ currency: 'gbp', interval: 'month', unitAmount: 1600 })
        .expect(201);
      const replaced = tierOf(await pricing('?currency=gbp'), plan.code);
      expect(replaced.prices[0].monthly).toMatchObject({
        priceId: second.body.id,
        unitAmount: 1600,
      });

      // Archiving twice is a no-op; the old row is kept, never changed.
      await api()
        .post(`/v1/admin/plans/${plan.id}/prices/${first.body.id}/archive`)
        .set(admin.headers)
        .expect(200);
      const old = await t.em().findOneOrFail(Price, { id: first.body.id });
      expect({ status: old.status, unitAmount: old.unitAmount }).toEqual({
        status: 'archived',
        unitAmount: 1500,
      });
      const { body } = await api().get(`/v1/admin/plans/${plan.id}`).set(admin.headers).expect(200);
      expect(body.prices).toHaveLength(4);

      const events = await auditFor(plan.id);
      expect(events.map((e) => e.action)).toEqual([
        'plan.created',
        'price.created',
        'price.created',
        'price.created',
        'price.archived',
        'price.created',
      ]);
      expect(events[4].data).toMatchObject({
        priceId: first.body.id,
        currency: 'gbp',
        interval: 'month',
        unitAmount: 1500,
      });
      expect(events.every((e) => e.tenantId === null)).toBe(true);
    });

    it('archives a seeded price: it leaves the pricing page, other prices stay', async () => {
      const enterpriseEurYear = '0193a000-0000-7000-8001-000000000044';
      await api()
        .post(`/v1/admin/plans/${ENTERPRISE_ID}/prices/${enterpriseEurYear}/archive`)
        .set(admin.headers)
        .expect(200);
      const tier = tierOf(await pricing('?currency=eur'), 'enterprise');
      expect(tier.prices).toEqual([
        expect.objectContaining({ currency: 'eur', yearly: null, yearlySaving: null }),
      ]);
      expect(tier.prices[0].monthly?.unitAmount).toBe(7300);
    });

    it.each([
      [{ currency: 'jpy', interval: 'month', unitAmount: 100 }, 'currency'],
      [{ currency: 'usd', interval: 'week', unitAmount: 100 }, 'interval'],
      [{ currency: 'usd', interval: 'month', unitAmount: -1 }, 'unitAmount'],
      [{ currency: 'usd', interval: 'month', unitAmount: 9.99 }, 'unitAmount'],
      [{ currency: 'usd', interval: 'month', unitAmount: '100' }, 'unitAmount'],
      [{ currency: 'usd', interval: 'month' }, 'unitAmount'],
      [{ currency: 'usd', interval: 'month', unitAmount: 1, status: 'archived' }, 'status'],
    ])('refuses price %j with a 400 on %s', async (body, field) => {
      const res = await api()
        .post(`/v1/admin/plans/${PRO_ID}/prices`)
        .set(admin.headers)
        .send(body);
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual([field]);
    });

    it('answers 404 for an unknown plan, an unknown price, or a price of another plan', async () => {
      const noPlan = await api()
        .post(`/v1/admin/plans/${UNKNOWN_ID}/prices`)
        .set(admin.headers)
        .send({ currency: 'usd', interval: 'month', unitAmount: 100 });
      expectProblem(noPlan, 404, 'plan_not_found');
      const noPrice = await api()
        .post(`/v1/admin/plans/${PRO_ID}/prices/${UNKNOWN_ID}/archive`)
        .set(admin.headers);
      expectProblem(noPrice, 404, 'price_not_found');
      const otherPlan = await api()
        .post(`/v1/admin/plans/${STARTER_ID}/prices/${PRO_USD_MONTH}/archive`)
        .set(admin.headers);
      expectProblem(otherPlan, 404, 'price_not_found');
      expect((await t.em().findOneOrFail(Price, { id: PRO_USD_MONTH })).status).toBe('active');
      const noPlanArchive = await api()
        .post(`/v1/admin/plans/${UNKNOWN_ID}/prices/${PRO_USD_MONTH}/archive`)
        .set(admin.headers);
      expectProblem(noPlanArchive, 404, 'plan_not_found');
    });
  });
});
