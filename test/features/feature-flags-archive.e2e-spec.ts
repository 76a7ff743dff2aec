import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EntityManager } from '@mikro-orm/postgresql';
import { exportTenant, importTenant } from '../../src/database/backup/tenant-archive';
import { TenantSchemaMigrator } from '../../src/database/tenant-schema-migrator';
import { FeatureFlagService } from '../../src/features/feature-flag.service';
import { BetaCohortMember, FeatureFlagOverride } from '../../src/features/entities';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { createOrg, type Org } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

const ENV = { JWT_SECRET: 'feature-flags-archive-secret-0123456789abcdef012345' };

/**
 * Overrides and cohort memberships are the operator's rollout decisions on
 * one instance, pointing at its flags and cohorts: an organisation's archive
 * leaves them behind, so it imports into an instance that has other flags
 * (or none), and the organisation starts there on that instance's defaults.
 */
describe('feature flags in tenant archives', () => {
  let source: TestApp;
  let target: TestApp;
  let org: Org;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'groundwork-flags-archive-'));
    source = await bootTestApp({ env: ENV });
    target = await bootTestApp({ env: ENV });
    org = await createOrg(source.app);
    const flags = source.app.get(FeatureFlagService);
    await flags.createFlag({ key: 'archive_flag', description: 'X', defaultEnabled: false });
    await flags.setOverride('archive_flag', org.tenant.id, { enabled: true, reason: 'Partner' });
    await flags.createCohort({ key: 'archive_cohort', name: 'Partners' });
    await flags.addCohortMember('archive_cohort', org.tenant.id);
  }, 120_000);
  afterAll(async () => {
    await source?.close();
    await target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('leaves overrides and cohort memberships behind, and the archive imports where the flags do not exist', async () => {
    const file = join(dir, 'org.tenant.gz');
    const result = await exportTenant(source.app.get(EntityManager), {
      tenant: org.tenant.slug,
      output: file,
    });
    expect(Object.keys(result.tables)).not.toContain('platform.feature_flag_override');
    expect(Object.keys(result.tables)).not.toContain('platform.beta_cohort_member');

    await importTenant(target.app.get(EntityManager), target.app.get(TenantSchemaMigrator), {
      input: file,
    });
    expect(await target.em().count(Tenant, { id: org.tenant.id })).toBe(1);
    expect(await target.em().count(FeatureFlagOverride, { tenantId: org.tenant.id })).toBe(0);
    expect(await target.em().count(BetaCohortMember, { tenantId: org.tenant.id })).toBe(0);
    // The source keeps them.
    expect(await source.em().count(FeatureFlagOverride, { tenantId: org.tenant.id })).toBe(1);
  });
});
