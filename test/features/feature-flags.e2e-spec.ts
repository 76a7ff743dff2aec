import { randomBytes } from 'node:crypto';
import { Controller, Get } from '@nestjs/common';
import request from 'supertest';
import { Can } from '../../src/access/policies';
import { TenantRole } from '../../src/access/roles';
import { Clock, ManualClock } from '../../src/common/clock';
import { platformSchemaDiff } from '../../src/database/schema-diff';
import { FeatureFlagService } from '../../src/features/feature-flag.service';
import { FlagSource } from '../../src/features/feature-resolution';
import { RequireFeature } from '../../src/features/require-feature.decorator';
import { PlatformAuditEvent } from '../../src/tenancy/audit/platform-audit-event.entity';
import { TenantScoped } from '../../src/tenancy/tenant-scoped.decorator';
import { createOrg, createUser, uniqueEmail } from '../support/factories';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

/** Every flag of this suite has a key of its own: tests share one database. */
const uniqueKey = (prefix = 'flag') => `${prefix}_${randomBytes(4).toString('hex')}`;

/** The flag the test-only route below needs; created in the suite. */
const REPORTS_FLAG = `beta_reports_${randomBytes(3).toString('hex')}`;

/** A test-only route, mounted beside the real ones: no fake route ships. */
@TenantScoped()
@Controller('test-only/beta-reports')
class BetaReportsController {
  @Get()
  @Can('read', 'Tenant')
  @RequireFeature(REPORTS_FLAG)
  get(): { ok: true } {
    return { ok: true };
  }
}

describe('feature flags for organisations', () => {
  let t: TestApp;
  let flags: FeatureFlagService;
  /**
   * Time stands still for the app, so the few-second caches never expire on
   * their own: what a test sees after a change came through invalidation.
   */
  const clock = new ManualClock(new Date());
  const statements: string[] = [];

  beforeAll(async () => {
    t = await bootTestApp({
      controllers: [BetaReportsController],
      override: (b) => b.overrideProvider(Clock).useValue(clock),
      orm: { onQuery: (line) => statements.push(line) },
    });
    flags = t.app.get(FeatureFlagService);
  }, 120_000);
  afterAll(() => t.close());

  const api = () => request(t.server);
  const featuresOf = async (org: { headers: Record<string, string> }) =>
    (await api().get('/v1/tenant/features').set(org.headers).expect(200)).body as {
      items: { key: string; enabled: boolean; source: FlagSource }[];
    };
  const flagOf = async (org: { headers: Record<string, string> }, key: string) =>
    (await featuresOf(org)).items.find((item) => item.key === key);
  const newFlag = (overrides: Partial<Parameters<FeatureFlagService['createFlag']>[0]> = {}) =>
    flags.createFlag({
      key: uniqueKey(),
      description: 'A test flag.',
      defaultEnabled: false,
      ...overrides,
    });

  describe('GET /v1/tenant/features', () => {
    it('answers 401 without credentials', async () => {
      expectProblem(await api().get('/v1/tenant/features'), 401, 'unauthenticated');
    });

    it('lists every live flag with its value and source, to any member', async () => {
      const org = await createOrg(t.app);
      const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
      const byDefault = await newFlag({ defaultEnabled: true });
      const byPlan = await newFlag({ planDefaults: { free: true, pro: false } });
      const notOnPlan = await newFlag({ defaultEnabled: true, planDefaults: { free: false } });
      const archived = await newFlag({ defaultEnabled: true });
      await flags.archiveFlag(archived.key);

      const body = await featuresOf(member);
      const keys = body.items.map((item) => item.key);
      // Ordered by key, archived flags left out.
      expect(keys).toEqual([...keys].sort());
      expect(keys).not.toContain(archived.key);
      expect(body.items).toEqual(
        expect.arrayContaining([
          { key: byDefault.key, enabled: true, source: 'default' },
          { key: byPlan.key, enabled: true, source: 'plan' },
          { key: notOnPlan.key, enabled: false, source: 'plan' },
        ]),
      );
      // Nothing else in an item: no descriptions, plans or rules of other organisations.
      for (const item of body.items)
        expect(Object.keys(item).sort()).toEqual(['enabled', 'key', 'source']);
    });

    it("shows a cohort's rule to its members, and off wins when cohorts disagree", async () => {
      const inBeta = await createOrg(t.app);
      const inBoth = await createOrg(t.app);
      const outside = await createOrg(t.app);
      const flag = await newFlag();
      const beta = await flags.createCohort({ key: uniqueKey('beta'), name: 'Beta' });
      const holdouts = await flags.createCohort({ key: uniqueKey('holdouts'), name: 'Holdouts' });
      await flags.setCohortRule(flag.key, beta.key, true);
      await flags.setCohortRule(flag.key, holdouts.key, false);
      await flags.addCohortMember(beta.key, inBeta.tenant.id);
      await flags.addCohortMember(beta.key, inBoth.tenant.id);
      await flags.addCohortMember(holdouts.key, inBoth.tenant.id);

      expect(await flagOf(inBeta, flag.key)).toEqual({
        key: flag.key,
        enabled: true,
        source: 'cohort',
      });
      expect(await flagOf(inBoth, flag.key)).toEqual({
        key: flag.key,
        enabled: false,
        source: 'cohort',
      });
      expect(await flagOf(outside, flag.key)).toEqual({
        key: flag.key,
        enabled: false,
        source: 'default',
      });
    });

    it("keeps one organisation's override to itself", async () => {
      const a = await createOrg(t.app);
      const b = await createOrg(t.app);
      const flag = await newFlag();
      await flags.setOverride(flag.key, b.tenant.id, { enabled: true, reason: 'Design partner' });

      expect(await flagOf(b, flag.key)).toEqual({
        key: flag.key,
        enabled: true,
        source: 'override',
      });
      expect(await flagOf(a, flag.key)).toEqual({
        key: flag.key,
        enabled: false,
        source: 'default',
      });
      // B's owner naming A's organisation gets nothing of A's.
      const res = await api()
        .get('/v1/tenant/features')
        .set({ ...b.headers, 'X-Tenant-Id': a.tenant.id });
      // Another organisation's tenant is not found for a non-member (its existence stays hidden).
      expectProblem(res, 404, 'tenant_not_found');
      expect(res.body.items).toBeUndefined();
    });

    it('shows every change on the next request (invalidation, not expiry: the clock stands still)', async () => {
      const org = await createOrg(t.app);
      const flag = await newFlag();
      expect(await flagOf(org, flag.key)).toMatchObject({ enabled: false, source: 'default' });

      await flags.updateFlag(flag.key, { defaultEnabled: true });
      expect(await flagOf(org, flag.key)).toMatchObject({ enabled: true, source: 'default' });

      await flags.updateFlag(flag.key, { planDefaults: { free: false } });
      expect(await flagOf(org, flag.key)).toMatchObject({ enabled: false, source: 'plan' });

      const cohort = await flags.createCohort({ key: uniqueKey('cohort'), name: 'Early' });
      await flags.addCohortMember(cohort.key, org.tenant.id);
      expect(await flagOf(org, flag.key)).toMatchObject({ enabled: false, source: 'plan' });
      await flags.setCohortRule(flag.key, cohort.key, true);
      expect(await flagOf(org, flag.key)).toMatchObject({ enabled: true, source: 'cohort' });

      await flags.setOverride(flag.key, org.tenant.id, { enabled: false });
      expect(await flagOf(org, flag.key)).toMatchObject({ enabled: false, source: 'override' });
      await flags.clearOverride(flag.key, org.tenant.id);
      expect(await flagOf(org, flag.key)).toMatchObject({ enabled: true, source: 'cohort' });

      await flags.removeCohortMember(cohort.key, org.tenant.id);
      expect(await flagOf(org, flag.key)).toMatchObject({ enabled: false, source: 'plan' });
      await flags.addCohortMember(cohort.key, org.tenant.id);
      expect(await flagOf(org, flag.key)).toMatchObject({ enabled: true, source: 'cohort' });
      await flags.deleteCohort(cohort.key);
      expect(await flagOf(org, flag.key)).toMatchObject({ enabled: false, source: 'plan' });

      await flags.archiveFlag(flag.key);
      expect(await flagOf(org, flag.key)).toBeUndefined();
      await flags.restoreFlag(flag.key);
      expect(await flagOf(org, flag.key)).toMatchObject({ enabled: false, source: 'plan' });
    });

    it('reads no flag table on a request once the flags are cached', async () => {
      const org = await createOrg(t.app);
      await newFlag({ defaultEnabled: true });
      await featuresOf(org);
      statements.length = 0;
      await featuresOf(org);
      await api().get('/v1/tenant').set(org.headers).expect(200);
      expect(statements.filter((sql) => /feature_flag|beta_cohort/.test(sql))).toEqual([]);
    });
  });

  describe('@RequireFeature()', () => {
    it('answers 403 feature_disabled naming the flag while it is off, and lets the request through once on', async () => {
      const org = await createOrg(t.app);
      const other = await createOrg(t.app);
      // Unknown flag: off.
      let res = await api().get('/v1/test-only/beta-reports').set(org.headers);
      expect(expectProblem(res, 403, 'feature_disabled')).toMatchObject({ feature: REPORTS_FLAG });
      expect(res.body.detail).toContain(REPORTS_FLAG);

      await flags.createFlag({
        key: REPORTS_FLAG,
        description: 'Reports in beta.',
        defaultEnabled: false,
      });
      res = await api().get('/v1/test-only/beta-reports').set(org.headers);
      expect(expectProblem(res, 403, 'feature_disabled')).toMatchObject({ feature: REPORTS_FLAG });

      await flags.setOverride(REPORTS_FLAG, org.tenant.id, { enabled: true });
      await api().get('/v1/test-only/beta-reports').set(org.headers).expect(200, { ok: true });
      // Another organisation still has it off.
      res = await api().get('/v1/test-only/beta-reports').set(other.headers);
      expectProblem(res, 403, 'feature_disabled');

      // Archived: off for everyone, overrides included.
      await flags.archiveFlag(REPORTS_FLAG);
      res = await api().get('/v1/test-only/beta-reports').set(org.headers);
      expectProblem(res, 403, 'feature_disabled');
      await flags.restoreFlag(REPORTS_FLAG);
      await api().get('/v1/test-only/beta-reports').set(org.headers).expect(200);
    });

    it('authenticates first: without a credential the route answers 401, not feature_disabled', async () => {
      expectProblem(await api().get('/v1/test-only/beta-reports'), 401, 'unauthenticated');
    });
  });

  describe('gates in the ability (CASL)', () => {
    it('stops creating a gated subject while the flag is off, for everyone in the organisation', async () => {
      const org = await createOrg(t.app);
      const flag = await newFlag({ gates: ['Invitation'] });
      const invite = () =>
        api()
          .post('/v1/tenant/invitations')
          .set(org.headers)
          .send({ email: uniqueEmail('invitee'), role: TenantRole.Member });

      expectProblem(await invite(), 403, 'forbidden');
      // Reading is not gated.
      await api().get('/v1/tenant/invitations').set(org.headers).expect(200);

      await flags.setOverride(flag.key, org.tenant.id, { enabled: true });
      expect((await invite()).status).toBe(201);

      // Archiving lifts the gate along with the flag.
      await flags.setOverride(flag.key, org.tenant.id, { enabled: false });
      expectProblem(await invite(), 403, 'forbidden');
      await flags.archiveFlag(flag.key);
      expect((await invite()).status).toBe(201);
    });
  });

  describe('programmatic use (no HTTP)', () => {
    it('records changes made outside a request as the system', async () => {
      const flag = await newFlag();
      const org = await createOrg(t.app);
      await flags.setOverride(flag.key, org.tenant.id, { enabled: true });
      expect(await flags.isEnabled(org.tenant.id, flag.key)).toBe(true);
      expect(await flags.isEnabled(org.tenant.id, 'no_such_flag')).toBe(false);
      const events = await t
        .em()
        .find(PlatformAuditEvent, { data: { flagKey: flag.key } }, { orderBy: { id: 'asc' } });
      expect(events.map((e) => [e.action, e.actorType, e.tenantId ?? null])).toEqual([
        ['feature_flag.created', 'system', null],
        ['feature_flag.override_set', 'system', org.tenant.id],
      ]);
    });
  });

  it('has a migration that matches its entities', async () => {
    const diff = await platformSchemaDiff(t.orm);
    expect(diff.up.filter((sql) => /feature_flag|beta_cohort/.test(sql))).toEqual([]);
  });
});
