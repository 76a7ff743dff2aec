import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import {
  BetaCohort,
  BetaCohortMember,
  FeatureFlag,
  FeatureFlagOverride,
} from '../../src/features/entities';
import { PlatformAuditEvent } from '../../src/tenancy/audit/platform-audit-event.entity';
import { Actor, createOrg, createUser, Org } from '../support/factories';
import { erroredFields, expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const uniqueKey = (prefix = 'flag') => `${prefix}_${randomBytes(4).toString('hex')}`;
const UNKNOWN_TENANT = '0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d';

describe('admin: feature flags and beta cohorts', () => {
  let t: TestApp;
  let admin: Actor;
  let support: Actor;
  let owner: Org;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    support = await createUser(t.app, { platformRole: PlatformRole.Support });
    owner = await createOrg(t.app);
  }, 120_000);
  afterAll(() => t.close());

  const api = () => request(t.server);
  const flagBody = (overrides: Record<string, unknown> = {}) => ({
    key: uniqueKey(),
    description: 'Summaries of long ticket threads.',
    defaultEnabled: false,
    ...overrides,
  });
  const createFlag = async (overrides: Record<string, unknown> = {}) =>
    (
      await api()
        .post('/v1/admin/features')
        .set(admin.headers)
        .send(flagBody(overrides))
        .expect(201)
    ).body as { id: string; key: string };
  const createCohort = async (key = uniqueKey('cohort')) =>
    (
      await api()
        .post('/v1/admin/cohorts')
        .set(admin.headers)
        .send({ key, name: 'Design partners' })
        .expect(201)
    ).body as { id: string; key: string };
  const auditOf = (filter: Record<string, unknown>) =>
    t.em().find(PlatformAuditEvent, { data: filter }, { orderBy: { id: 'asc' } });
  const auditCount = () => t.em().count(PlatformAuditEvent, {});
  const call = (method: string, path: string, body?: object) => {
    const req = (api() as unknown as Record<string, (p: string) => request.Test>)[method](path);
    return body ? req.send(body) : req;
  };

  describe('who may call', () => {
    let flagKey: string;
    let cohortKey: string;
    let reads: [string, string][];
    let writes: [string, string, object?][];

    beforeAll(async () => {
      flagKey = (await createFlag()).key;
      cohortKey = (await createCohort()).key;
      const tenant = owner.tenant.id;
      reads = [
        ['get', '/v1/admin/features'],
        ['get', `/v1/admin/features/${flagKey}`],
        ['get', `/v1/admin/features/${flagKey}/overrides`],
        ['get', '/v1/admin/cohorts'],
        ['get', `/v1/admin/cohorts/${cohortKey}`],
        ['get', `/v1/admin/cohorts/${cohortKey}/members`],
      ];
      writes = [
        ['post', '/v1/admin/features', flagBody()],
        ['patch', `/v1/admin/features/${flagKey}`, { defaultEnabled: true }],
        ['post', `/v1/admin/features/${flagKey}/archive`, {}],
        ['post', `/v1/admin/features/${flagKey}/restore`, {}],
        ['put', `/v1/admin/features/${flagKey}/overrides/${tenant}`, { enabled: true }],
        ['delete', `/v1/admin/features/${flagKey}/overrides/${tenant}`],
        ['put', `/v1/admin/features/${flagKey}/cohorts/${cohortKey}`, { enabled: true }],
        ['delete', `/v1/admin/features/${flagKey}/cohorts/${cohortKey}`],
        ['post', '/v1/admin/cohorts', { key: uniqueKey('cohort'), name: 'X' }],
        ['patch', `/v1/admin/cohorts/${cohortKey}`, { name: 'Renamed' }],
        ['delete', `/v1/admin/cohorts/${cohortKey}`],
        ['put', `/v1/admin/cohorts/${cohortKey}/members/${tenant}`],
        ['delete', `/v1/admin/cohorts/${cohortKey}/members/${tenant}`],
      ];
    });

    it('answers 401 to anonymous callers on every route', async () => {
      for (const [method, path, body] of [...reads, ...writes]) {
        expectProblem(await call(method, path, body), 401, 'unauthenticated');
      }
    });

    it('answers 403 to a tenant owner on every route', async () => {
      for (const [method, path, body] of [...reads, ...writes]) {
        expectProblem(await call(method, path, body).set(owner.headers), 403, 'forbidden');
      }
    });

    it('lets platform support read but not write, and nothing changes', async () => {
      const before = await auditCount();
      for (const [method, path] of reads) await call(method, path).set(support.headers).expect(200);
      for (const [method, path, body] of writes) {
        expectProblem(await call(method, path, body).set(support.headers), 403, 'forbidden');
      }
      expect(await auditCount()).toBe(before);
      expect(await t.em().findOneOrFail(FeatureFlag, { key: flagKey })).toMatchObject({
        defaultEnabled: false,
        archivedAt: null,
      });
      expect(await t.em().count(FeatureFlagOverride, { tenantId: owner.tenant.id })).toBe(0);
      expect(await t.em().count(BetaCohort, { key: cohortKey })).toBe(1);
    });
  });

  describe('flags', () => {
    it('creates a flag and audits it as the staff member', async () => {
      const key = uniqueKey();
      const res = await api()
        .post('/v1/admin/features')
        .set(admin.headers)
        .send({
          key,
          description: '  Summaries.  ',
          defaultEnabled: false,
          planDefaults: { pro: true, free: false },
          gates: ['Ticket', 'ApiKey'],
        })
        .expect(201);
      expect(res.body).toMatchObject({
        key,
        description: 'Summaries.',
        defaultEnabled: false,
        planDefaults: { free: false, pro: true },
        gates: ['ApiKey', 'Ticket'],
        cohortRules: [],
        archivedAt: null,
      });
      const events = await auditOf({ flagKey: key });
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        action: 'feature_flag.created',
        actorType: 'platform_staff',
        actorId: admin.user.id,
        tenantId: null,
        data: { flagId: res.body.id, planDefaults: { free: false, pro: true } },
      });
      const got = await api().get(`/v1/admin/features/${key}`).set(support.headers).expect(200);
      expect(got.body).toEqual(res.body);
    });

    it('refuses a malformed key (400) and a taken one (409), writing nothing', async () => {
      for (const key of ['Bad-Key', 'x', '1abc', 'trailing_', 'a'.repeat(65), 'dou__ble']) {
        const res = await api()
          .post('/v1/admin/features')
          .set(admin.headers)
          .send(flagBody({ key }));
        expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual(['key']);
        expect(await t.em().count(FeatureFlag, { key })).toBe(0);
      }
      const { key } = await createFlag();
      const before = await auditCount();
      const res = await api()
        .post('/v1/admin/features')
        .set(admin.headers)
        .send(flagBody({ key, defaultEnabled: true }));
      expectProblem(res, 409, 'feature_flag_key_taken');
      expect(await auditCount()).toBe(before);
      expect(await t.em().findOneOrFail(FeatureFlag, { key })).toMatchObject({
        defaultEnabled: false,
      });
    });

    it('refuses unknown plans (422), non-boolean plan values and unknown gates (400)', async () => {
      const before = await auditCount();
      const key = uniqueKey();
      let res = await api()
        .post('/v1/admin/features')
        .set(admin.headers)
        .send(flagBody({ key, planDefaults: { pro: true, platinum: true } }));
      expect(expectProblem(res, 422, 'feature_flag_unknown_plan')).toMatchObject({
        plans: ['platinum'],
      });
      res = await api()
        .post('/v1/admin/features')
        .set(admin.headers)
        .send(flagBody({ key, planDefaults: { pro: 'yes' } }));
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual([
        'planDefaults.pro',
      ]);
      res = await api()
        .post('/v1/admin/features')
        .set(admin.headers)
        .send(flagBody({ key, gates: ['Invoice'] }));
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual(['gates']);
      expect(await t.em().count(FeatureFlag, { key })).toBe(0);
      expect(await auditCount()).toBe(before);
    });

    it('answers 400 to a malformed key in the path and 404 to an unknown one', async () => {
      expectProblem(
        await api().get('/v1/admin/features/Not-A-Key').set(admin.headers),
        400,
        'feature_flag_key_invalid',
      );
      expectProblem(
        await api().get(`/v1/admin/features/${uniqueKey()}`).set(admin.headers),
        404,
        'feature_flag_not_found',
      );
      expectProblem(
        await api()
          .patch(`/v1/admin/features/${uniqueKey()}`)
          .set(admin.headers)
          .send({ defaultEnabled: true }),
        404,
        'feature_flag_not_found',
      );
    });

    it('updates what changed, audits the changes, and audits nothing for a no-op', async () => {
      const { key } = await createFlag();
      const res = await api()
        .patch(`/v1/admin/features/${key}`)
        .set(admin.headers)
        .send({ defaultEnabled: true, planDefaults: { starter: false }, description: 'Summaries.' })
        .expect(200);
      expect(res.body).toMatchObject({ defaultEnabled: true, planDefaults: { starter: false } });
      await api()
        .patch(`/v1/admin/features/${key}`)
        .set(admin.headers)
        .send({ defaultEnabled: true, planDefaults: { starter: false } })
        .expect(200);
      const events = await auditOf({ flagKey: key });
      expect(events.map((e) => e.action)).toEqual(['feature_flag.created', 'feature_flag.updated']);
      expect(events[1].data).toMatchObject({
        changes: {
          defaultEnabled: { from: false, to: true },
          planDefaults: { from: {}, to: { starter: false } },
          description: { from: 'Summaries of long ticket threads.', to: 'Summaries.' },
        },
      });
      // null is not a value: the field must be left out to keep it.
      const bad = await api()
        .patch(`/v1/admin/features/${key}`)
        .set(admin.headers)
        .send({ defaultEnabled: null });
      expect(erroredFields(expectProblem(bad, 400, 'validation_failed'))).toEqual([
        'defaultEnabled',
      ]);
      // The key is not a field of an update.
      const rename = await api()
        .patch(`/v1/admin/features/${key}`)
        .set(admin.headers)
        .send({ key: uniqueKey() });
      expectProblem(rename, 400, 'validation_failed');
    });

    it('archives and restores (each once in the audit log), and pages the list', async () => {
      const { key } = await createFlag();
      const archived = await api()
        .post(`/v1/admin/features/${key}/archive`)
        .set(admin.headers)
        .expect(200);
      expect(typeof archived.body.archivedAt).toBe('string');
      await api().post(`/v1/admin/features/${key}/archive`).set(admin.headers).expect(200);
      const restored = await api()
        .post(`/v1/admin/features/${key}/restore`)
        .set(admin.headers)
        .expect(200);
      expect(restored.body.archivedAt).toBeNull();
      expect((await auditOf({ flagKey: key })).map((e) => e.action)).toEqual([
        'feature_flag.created',
        'feature_flag.archived',
        'feature_flag.restored',
      ]);

      const first = await api().get('/v1/admin/features?limit=1').set(support.headers).expect(200);
      expect(first.body.items).toHaveLength(1);
      expect(typeof first.body.nextCursor).toBe('string');
      const second = await api()
        .get(`/v1/admin/features?limit=1&cursor=${first.body.nextCursor}`)
        .set(support.headers)
        .expect(200);
      expect(second.body.items[0].key).not.toBe(first.body.items[0].key);
      expectProblem(
        await api().get('/v1/admin/features?limit=101').set(support.headers),
        400,
        'validation_failed',
      );
    });
  });

  describe('overrides', () => {
    it('sets, lists and clears an override, each change audited against the organisation', async () => {
      const { key } = await createFlag();
      const org = await createOrg(t.app);
      const res = await api()
        .put(`/v1/admin/features/${key}/overrides/${org.tenant.id}`)
        .set(admin.headers)
        .send({ enabled: true, reason: 'Design partner' })
        .expect(200);
      expect(res.body).toMatchObject({
        flag: key,
        tenantId: org.tenant.id,
        enabled: true,
        reason: 'Design partner',
        createdBy: admin.user.id,
      });
      // The same again changes nothing; a new value is a change.
      await api()
        .put(`/v1/admin/features/${key}/overrides/${org.tenant.id}`)
        .set(admin.headers)
        .send({ enabled: true, reason: 'Design partner' })
        .expect(200);
      await api()
        .put(`/v1/admin/features/${key}/overrides/${org.tenant.id}`)
        .set(admin.headers)
        .send({ enabled: false })
        .expect(200);
      const list = await api()
        .get(`/v1/admin/features/${key}/overrides`)
        .set(support.headers)
        .expect(200);
      expect(list.body).toMatchObject({
        items: [{ tenantId: org.tenant.id, enabled: false, reason: null }],
        nextCursor: null,
      });
      await api()
        .delete(`/v1/admin/features/${key}/overrides/${org.tenant.id}`)
        .set(admin.headers)
        .expect(204);
      expectProblem(
        await api()
          .delete(`/v1/admin/features/${key}/overrides/${org.tenant.id}`)
          .set(admin.headers),
        404,
        'feature_flag_override_not_found',
      );
      const events = await auditOf({ flagKey: key });
      expect(events.map((e) => [e.action, e.tenantId ?? null, e.actorId])).toEqual([
        ['feature_flag.created', null, admin.user.id],
        ['feature_flag.override_set', org.tenant.id, admin.user.id],
        ['feature_flag.override_set', org.tenant.id, admin.user.id],
        ['feature_flag.override_cleared', org.tenant.id, admin.user.id],
      ]);
      expect(events[2].data).toMatchObject({ from: true, to: false, reason: null });
      expect(await t.em().count(FeatureFlagOverride, { tenantId: org.tenant.id })).toBe(0);
    });

    it('refuses unknown organisations and flags (404), malformed ids (400) and archived flags (409), writing nothing', async () => {
      const { key } = await createFlag();
      const before = await auditCount();
      expectProblem(
        await api()
          .put(`/v1/admin/features/${key}/overrides/${UNKNOWN_TENANT}`)
          .set(admin.headers)
          .send({ enabled: true }),
        404,
        'tenant_not_found',
      );
      expectProblem(
        await api()
          .put(`/v1/admin/features/${uniqueKey()}/overrides/${owner.tenant.id}`)
          .set(admin.headers)
          .send({ enabled: true }),
        404,
        'feature_flag_not_found',
      );
      const notUuid = await api()
        .put(`/v1/admin/features/${key}/overrides/not-a-uuid`)
        .set(admin.headers)
        .send({ enabled: true });
      expect(notUuid.status).toBe(400);
      expect(notUuid.headers['content-type']).toMatch(/problem\+json/);
      const noValue = await api()
        .put(`/v1/admin/features/${key}/overrides/${owner.tenant.id}`)
        .set(admin.headers)
        .send({});
      expect(erroredFields(expectProblem(noValue, 400, 'validation_failed'))).toEqual(['enabled']);
      expect(await auditCount()).toBe(before);

      await api().post(`/v1/admin/features/${key}/archive`).set(admin.headers).expect(200);
      const afterArchive = await auditCount();
      expectProblem(
        await api()
          .put(`/v1/admin/features/${key}/overrides/${owner.tenant.id}`)
          .set(admin.headers)
          .send({ enabled: true }),
        409,
        'feature_flag_archived',
      );
      expect(await auditCount()).toBe(afterArchive);
      expect(await t.em().count(FeatureFlagOverride, { tenantId: owner.tenant.id })).toBe(0);
    });
  });

  it("drops an organisation's overrides and cohort memberships with the organisation's row", async () => {
    const { key } = await createFlag();
    const cohort = await createCohort();
    const org = await createOrg(t.app);
    await api()
      .put(`/v1/admin/features/${key}/overrides/${org.tenant.id}`)
      .set(admin.headers)
      .send({ enabled: true })
      .expect(200);
    await api()
      .put(`/v1/admin/cohorts/${cohort.key}/members/${org.tenant.id}`)
      .set(admin.headers)
      .expect(200);
    await t.em().execute('delete from "platform"."tenant" where "id" = ?', [org.tenant.id]);
    expect(await t.em().count(FeatureFlagOverride, { tenantId: org.tenant.id })).toBe(0);
    expect(await t.em().count(BetaCohortMember, { tenantId: org.tenant.id })).toBe(0);
  });

  it('answers concurrent writes of the same key with one success and conflicts, never a 5xx', async () => {
    const key = uniqueKey();
    const creates = await Promise.all(
      Array.from({ length: 6 }, () =>
        api().post('/v1/admin/features').set(admin.headers).send(flagBody({ key })),
      ),
    );
    expect(creates.map((res) => res.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
    for (const res of creates.filter((r) => r.status === 409)) {
      expectProblem(res, 409, 'feature_flag_key_taken');
    }
    expect(await auditOf({ flagKey: key })).toHaveLength(1);

    const org = await createOrg(t.app);
    const overrides = await Promise.all(
      [true, false, true, false, true, false].map((enabled) =>
        api()
          .put(`/v1/admin/features/${key}/overrides/${org.tenant.id}`)
          .set(admin.headers)
          .send({ enabled }),
      ),
    );
    for (const res of overrides) expect([200, 409]).toContain(res.status);
    expect(await t.em().count(FeatureFlagOverride, { tenantId: org.tenant.id })).toBe(1);
  });

  describe('cohorts', () => {
    it('creates, renames and refuses duplicate or malformed keys', async () => {
      const cohort = await createCohort();
      expect(cohort).toMatchObject({ name: 'Design partners', description: '' });
      const before = await auditCount();
      expectProblem(
        await api()
          .post('/v1/admin/cohorts')
          .set(admin.headers)
          .send({ key: cohort.key, name: 'Again' }),
        409,
        'beta_cohort_key_taken',
      );
      const bad = await api()
        .post('/v1/admin/cohorts')
        .set(admin.headers)
        .send({ key: 'Beta Testers', name: 'X' });
      expect(erroredFields(expectProblem(bad, 400, 'validation_failed'))).toEqual(['key']);
      expect(await auditCount()).toBe(before);

      const renamed = await api()
        .patch(`/v1/admin/cohorts/${cohort.key}`)
        .set(admin.headers)
        .send({ name: 'Early adopters', description: 'They try things first.' })
        .expect(200);
      expect(renamed.body).toMatchObject({ key: cohort.key, name: 'Early adopters' });
      const events = await auditOf({ cohortKey: cohort.key });
      expect(events.map((e) => e.action)).toEqual(['beta_cohort.created', 'beta_cohort.updated']);
      expect(events[1].data).toMatchObject({
        changes: { name: { from: 'Design partners', to: 'Early adopters' } },
      });
      expectProblem(
        await api()
          .get(`/v1/admin/cohorts/${uniqueKey('cohort')}`)
          .set(support.headers),
        404,
        'beta_cohort_not_found',
      );
      expectProblem(
        await api().get('/v1/admin/cohorts/Nope!').set(support.headers),
        400,
        'feature_flag_key_invalid',
      );
    });

    it('adds and removes members and sets flag rules, audited; deleting takes both along', async () => {
      const cohort = await createCohort();
      const { key } = await createFlag();
      const org = await createOrg(t.app);
      const added = await api()
        .put(`/v1/admin/cohorts/${cohort.key}/members/${org.tenant.id}`)
        .set(admin.headers)
        .expect(200);
      expect(added.body).toMatchObject({
        cohort: cohort.key,
        tenantId: org.tenant.id,
        addedBy: admin.user.id,
      });
      // Adding again changes nothing.
      await api()
        .put(`/v1/admin/cohorts/${cohort.key}/members/${org.tenant.id}`)
        .set(admin.headers)
        .expect(200);
      const members = await api()
        .get(`/v1/admin/cohorts/${cohort.key}/members`)
        .set(support.headers)
        .expect(200);
      expect(members.body.items.map((m: { tenantId: string }) => m.tenantId)).toEqual([
        org.tenant.id,
      ]);

      const rule = await api()
        .put(`/v1/admin/features/${key}/cohorts/${cohort.key}`)
        .set(admin.headers)
        .send({ enabled: true })
        .expect(200);
      expect(rule.body).toEqual({ cohort: cohort.key, enabled: true });
      const flag = await api().get(`/v1/admin/features/${key}`).set(support.headers).expect(200);
      expect(flag.body.cohortRules).toEqual([{ cohort: cohort.key, enabled: true }]);
      // The organisation sees the cohort's rule.
      const seen = await api().get('/v1/tenant/features').set(org.headers).expect(200);
      expect(seen.body.items).toContainEqual({ key, enabled: true, source: 'cohort' });

      expectProblem(
        await api()
          .put(`/v1/admin/features/${key}/cohorts/${uniqueKey('cohort')}`)
          .set(admin.headers)
          .send({ enabled: true }),
        404,
        'beta_cohort_not_found',
      );
      expectProblem(
        await api()
          .put(`/v1/admin/cohorts/${cohort.key}/members/${UNKNOWN_TENANT}`)
          .set(admin.headers),
        404,
        'tenant_not_found',
      );

      await api().delete(`/v1/admin/cohorts/${cohort.key}`).set(admin.headers).expect(204);
      expect(await t.em().count(BetaCohortMember, { tenantId: org.tenant.id })).toBe(0);
      const after = await api().get(`/v1/admin/features/${key}`).set(support.headers).expect(200);
      expect(after.body.cohortRules).toEqual([]);
      const gone = await api().get('/v1/tenant/features').set(org.headers).expect(200);
      expect(gone.body.items).toContainEqual({ key, enabled: false, source: 'default' });

      const events = await auditOf({ cohortKey: cohort.key });
      expect(events.map((e) => [e.action, e.tenantId ?? null])).toEqual([
        ['beta_cohort.created', null],
        ['beta_cohort.member_added', org.tenant.id],
        ['feature_flag.cohort_rule_set', null],
        ['beta_cohort.deleted', null],
      ]);
      expect(events[3].data).toMatchObject({
        memberTenantIds: [org.tenant.id],
        rules: [{ flag: key, enabled: true }],
      });
      expectProblem(
        await api().delete(`/v1/admin/cohorts/${cohort.key}`).set(admin.headers),
        404,
        'beta_cohort_not_found',
      );
    });

    it('removes a member and clears a rule, each audited; missing ones answer 404', async () => {
      const cohort = await createCohort();
      const { key } = await createFlag();
      const org = await createOrg(t.app);
      await api()
        .put(`/v1/admin/cohorts/${cohort.key}/members/${org.tenant.id}`)
        .set(admin.headers)
        .expect(200);
      await api()
        .put(`/v1/admin/features/${key}/cohorts/${cohort.key}`)
        .set(admin.headers)
        .send({ enabled: false })
        .expect(200);
      // Flipped: the audit says from what to what.
      await api()
        .put(`/v1/admin/features/${key}/cohorts/${cohort.key}`)
        .set(admin.headers)
        .send({ enabled: true })
        .expect(200);
      await api()
        .delete(`/v1/admin/cohorts/${cohort.key}/members/${org.tenant.id}`)
        .set(admin.headers)
        .expect(204);
      await api()
        .delete(`/v1/admin/features/${key}/cohorts/${cohort.key}`)
        .set(admin.headers)
        .expect(204);
      expectProblem(
        await api()
          .delete(`/v1/admin/cohorts/${cohort.key}/members/${org.tenant.id}`)
          .set(admin.headers),
        404,
        'beta_cohort_member_not_found',
      );
      expectProblem(
        await api().delete(`/v1/admin/features/${key}/cohorts/${cohort.key}`).set(admin.headers),
        404,
        'feature_flag_cohort_rule_not_found',
      );
      const events = await auditOf({ cohortKey: cohort.key });
      expect(events.map((e) => [e.action, e.tenantId ?? null])).toEqual([
        ['beta_cohort.created', null],
        ['beta_cohort.member_added', org.tenant.id],
        ['feature_flag.cohort_rule_set', null],
        ['feature_flag.cohort_rule_set', null],
        ['beta_cohort.member_removed', org.tenant.id],
        ['feature_flag.cohort_rule_cleared', null],
      ]);
      expect(events.slice(2, 4).map((e) => e.data)).toMatchObject([
        { from: null, to: false },
        { from: false, to: true },
      ]);
    });
  });
});
