import { EntityManager } from '@mikro-orm/postgresql';
import { tenantMigrations } from '../../migrations/tenant';
import {
  TENANT_MIGRATION_TABLE,
  TenantSchemaMigrator,
} from '../../src/database/tenant-schema-migrator';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { TenantMigrationService } from '../../src/tenancy/tenant-migration.service';
import { createTenant } from '../support/factories';
import { sqlMigration } from '../support/migrations';
import { bootTestApp, TestApp } from '../support/test-app';

const NEXT = sqlMigration(
  'Migration29990101000000_fake_note',
  'create table fake_note (id uuid primary key, subject text not null)',
);

/** The app with one more tenant migration than the code ships, as after a deploy that adds one. */
function withExtraMigration(...extra: ReturnType<typeof sqlMigration>[]) {
  return bootTestApp({
    override: (b) =>
      b.overrideProvider(TenantSchemaMigrator).useFactory({
        factory: (em: EntityManager) =>
          new TenantSchemaMigrator(em, [...tenantMigrations, ...extra]),
        inject: [EntityManager],
      }),
  });
}

const applied = (t: TestApp, schema: string) =>
  t
    .em()
    .execute<{ name: string }[]>(
      `select name from "${schema}".${TENANT_MIGRATION_TABLE} order by name`,
    )
    .then((rows) => rows.map((r) => r.name));

const hasTable = (t: TestApp, schema: string, table: string) =>
  t
    .em()
    .execute<{ t: string | null }[]>(`select to_regclass(?)::text as t`, [`"${schema}".${table}`])
    .then((rows) => rows[0].t !== null);

describe('tenant schema migrations', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await withExtraMigration(NEXT);
  });
  afterAll(() => t.close());

  it('applies a new tenant migration to every tenant schema, with bounded concurrency and a per-schema record', async () => {
    // Tenants provisioned before the deploy: they have the shipped migrations only.
    const before = await bootTestApp({ database: t.db });
    const tenants = await Promise.all(Array.from({ length: 12 }, () => createTenant(before.app)));
    await before.app.close();

    // Count schemas in flight at once.
    const migrator = t.app.get(TenantSchemaMigrator);
    const original = migrator.migrateSchema.bind(migrator);
    let inFlight = 0;
    let maxInFlight = 0;
    const spy = jest.spyOn(migrator, 'migrateSchema').mockImplementation(async (...args) => {
      maxInFlight = Math.max(maxInFlight, ++inFlight);
      try {
        return await original(...args);
      } finally {
        inFlight--;
      }
    });
    const progress: number[] = [];
    const report = await t.app.get(TenantMigrationService).migrate({
      concurrency: 3,
      onProgress: ({ done }) => progress.push(done),
    });
    expect(report).toMatchObject({ total: 12, migrated: 12, failed: [], skipped: 0 });
    spy.mockRestore();
    expect(maxInFlight).toBe(3);
    expect(progress).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const tenant of tenants) {
      expect(await hasTable(t, tenant.schemaName, 'fake_note')).toBe(true);
      expect(await applied(t, tenant.schemaName)).toEqual(
        [...tenantMigrations.map((m) => m.name), NEXT.name].sort(),
      );
    }
    const rows = await t.em().find(Tenant, { id: tenants.map((x) => x.id) });
    for (const row of rows) expect(row.schemaVersion).toBe(NEXT.name);

    // A second run finds nothing behind; --all re-checks every schema's own record and changes nothing.
    expect(await t.app.get(TenantMigrationService).migrate({ concurrency: 3 })).toMatchObject({
      total: 0,
    });
    const all = await t.app.get(TenantMigrationService).migrate({ concurrency: 3, all: true });
    expect(all.total).toBeGreaterThanOrEqual(12);
    expect(all.migrated).toBe(0);
  });

  it('resumes after an interrupted run without applying anything twice', async () => {
    const before = await bootTestApp({ database: t.db });
    const tenants = await Promise.all(Array.from({ length: 8 }, () => createTenant(before.app)));
    await before.app.close();

    const abort = new AbortController();
    const first = await t.app.get(TenantMigrationService).migrate({
      concurrency: 2,
      signal: abort.signal,
      onProgress: ({ done }) => done === 3 && abort.abort(),
    });
    expect(first.skipped).toBeGreaterThan(0);
    expect(first.migrated).toBeGreaterThanOrEqual(3);
    expect(first.migrated + first.skipped).toBe(8);

    const second = await t.app.get(TenantMigrationService).migrate({ concurrency: 2 });
    expect(second).toMatchObject({ total: first.skipped, migrated: first.skipped, failed: [] });
    for (const tenant of tenants) {
      const names = await applied(t, tenant.schemaName);
      expect(names.filter((n) => n === NEXT.name)).toHaveLength(1);
    }
  });

  it('reports a schema that fails, rolls it back, and migrates the others', async () => {
    const before = await bootTestApp({ database: t.db });
    const [good1, broken, good2] = await Promise.all([1, 2, 3].map(() => createTenant(before.app)));
    await before.app.close();
    // Someone created a conflicting table by hand in one schema.
    await t.em().execute(`create table "${broken.schemaName}".fake_note (legacy int)`);

    const report = await t.app.get(TenantMigrationService).migrate({ concurrency: 2 });
    expect(report.failed).toEqual([
      expect.objectContaining({
        slug: broken.slug,
        schemaName: broken.schemaName,
        error: expect.stringMatching(/fake_note.*already exists/),
      }),
    ]);
    expect(report.migrated).toBe(2);
    for (const ok of [good1, good2]) expect(await applied(t, ok.schemaName)).toContain(NEXT.name);
    expect(await applied(t, broken.schemaName)).not.toContain(NEXT.name);
    const row = await t.em().findOneOrFail(Tenant, { id: broken.id });
    expect(row.migrationError).toMatch(/already exists/);
    expect(row.schemaVersion).not.toBe(NEXT.name);

    // Fixed by hand, a rerun migrates it and clears the error.
    await t.em().execute(`drop table "${broken.schemaName}".fake_note`);
    const rerun = await t.app
      .get(TenantMigrationService)
      .migrate({ concurrency: 2, slug: broken.slug });
    expect(rerun).toMatchObject({ total: 1, migrated: 1, failed: [] });
    const fixed = await t.em().findOneOrFail(Tenant, { id: broken.id });
    expect(fixed).toMatchObject({ schemaVersion: NEXT.name, migrationError: null });
  });

  it('provisions new tenants with every migration, the new one included', async () => {
    const tenant = await createTenant(t.app);
    expect(await hasTable(t, tenant.schemaName, 'fake_note')).toBe(true);
    expect(await hasTable(t, tenant.schemaName, 'audit_event')).toBe(true);
    expect(tenant.schemaVersion).toBe(NEXT.name);
  });
});
