import { EntityManager } from '@mikro-orm/postgresql';
import { tenantMigrations } from '../../migrations/tenant';
import { platformSchemaDiff, tenantSchemaDiff } from '../../src/database/schema-diff';
import {
  TENANT_MIGRATION_TABLE,
  TenantSchemaMigrator,
} from '../../src/database/tenant-schema-migrator';
import { Tenant, TenantStatus } from '../../src/tenancy/entities/tenant.entity';
import { TenancyErrorCode } from '../../src/tenancy/tenancy.exception';
import { TenantProvisioningService } from '../../src/tenancy/tenant-provisioning.service';
import { createTenant, uniqueSlug } from '../support/factories';
import { sqlMigration } from '../support/migrations';
import { bootTestApp, TestApp } from '../support/test-app';

const tablesOf = (t: TestApp, schema: string) =>
  t
    .em()
    .execute<{ table_name: string }[]>(
      `select table_name from information_schema.tables where table_schema = ? order by table_name`,
      [schema],
    )
    .then((rows) => rows.map((r) => r.table_name));

const schemaExists = (t: TestApp, schema: string) =>
  t
    .em()
    .execute<{ n: string }[]>(`select count(*) as n from pg_namespace where nspname = ?`, [schema])
    .then((rows) => Number(rows[0].n) === 1);

describe('tenant provisioning', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('creates the tenant row, its schema with every tenant table, and records the migrations', async () => {
    const tenant = await createTenant(t.app, { slug: uniqueSlug('acme'), name: ' Acme ' });
    expect(tenant).toMatchObject({ status: TenantStatus.Active, name: 'Acme' });
    expect(tenant.schemaName).toBe(`tenant_${tenant.id.replace(/-/g, '')}`);
    // Every tenant entity's table (tenant entities are `schema: '*'`), and the migrator's record.
    const tenantTables = Object.values(t.orm.getMetadata().getAll())
      .filter((meta) => meta.schema === '*' && !meta.embeddable && !meta.virtual)
      .map((meta) => meta.tableName);
    expect(await tablesOf(t, tenant.schemaName)).toEqual(
      [...tenantTables, TENANT_MIGRATION_TABLE].sort(),
    );
    expect(tenantTables).toContain('audit_event');
    const recorded = await t
      .em()
      .execute<{ name: string }[]>(
        `select name from "${tenant.schemaName}".${TENANT_MIGRATION_TABLE}`,
      );
    expect(recorded.map((r) => r.name)).toEqual(tenantMigrations.map((m) => m.name));
    const row = await t.em().findOneOrFail(Tenant, { id: tenant.id });
    expect(row.schemaVersion).toBe(tenantMigrations.at(-1)!.name);
  });

  it('leaves nothing behind when a step fails mid-way, and says so clearly', async () => {
    const failing = await bootTestApp({
      database: t.db,
      override: (b) =>
        b.overrideProvider(TenantSchemaMigrator).useFactory({
          factory: (em: EntityManager) =>
            new TenantSchemaMigrator(em, [
              ...tenantMigrations,
              sqlMigration(
                'Migration29990101000000_broken',
                'create table broken (id int)',
                'select * from no_such_table',
              ),
            ]),
          inject: [EntityManager],
        }),
    });
    try {
      const slug = uniqueSlug('doomed');
      const schemasBefore = await t
        .em()
        .execute<{ nspname: string }[]>(
          `select nspname from pg_namespace where nspname like 'tenant\\_%'`,
        );
      await expect(
        failing.app.get(TenantProvisioningService).provision({ slug, name: 'Doomed' }),
      ).rejects.toMatchObject({ code: TenancyErrorCode.ProvisioningFailed, status: 500 });

      expect(await t.em().count(Tenant, { slug })).toBe(0);
      const schemasAfter = await t
        .em()
        .execute<{ nspname: string }[]>(
          `select nspname from pg_namespace where nspname like 'tenant\\_%'`,
        );
      expect(schemasAfter).toEqual(schemasBefore);
    } finally {
      await failing.app.close();
    }
  });

  it('refuses a taken, reserved or malformed slug before creating anything', async () => {
    const service = t.app.get(TenantProvisioningService);
    const taken = await createTenant(t.app);
    await expect(service.provision({ slug: taken.slug, name: 'Again' })).rejects.toMatchObject({
      code: TenancyErrorCode.SlugTaken,
      status: 409,
    });
    await expect(service.provision({ slug: 'admin', name: 'x' })).rejects.toMatchObject({
      code: TenancyErrorCode.SlugReserved,
    });
    await expect(service.provision({ slug: 'Bad Slug!', name: 'x' })).rejects.toMatchObject({
      code: TenancyErrorCode.SlugInvalid,
      status: 400,
    });
    expect(await t.em().count(Tenant, { slug: { $in: ['admin', 'bad slug!'] } })).toBe(0);
  });

  it('deprovisions: marks the tenant deleted, then drops its schema', async () => {
    const tenant = await createTenant(t.app);
    await t.app.get(TenantProvisioningService).deprovision(tenant.id);
    const row = await t.em().findOneOrFail(Tenant, { id: tenant.id });
    expect(row.status).toBe(TenantStatus.Deleted);
    expect(row.deletedAt).toBeInstanceOf(Date);
    expect(await schemaExists(t, tenant.schemaName)).toBe(false);
    // Idempotent: a rerun (say, after a failed drop) finishes quietly.
    await expect(
      t.app.get(TenantProvisioningService).deprovision(tenant.id),
    ).resolves.toBeUndefined();
  });

  it('has migrations that match the entities exactly (platform and tenant)', async () => {
    const tenant = await createTenant(t.app);
    expect(await platformSchemaDiff(t.orm)).toEqual({ up: [], down: expect.any(Array) });
    expect((await tenantSchemaDiff(t.orm, tenant.schemaName)).up).toEqual([]);
  });
});
