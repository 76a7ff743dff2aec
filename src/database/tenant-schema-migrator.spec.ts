import type { MigrationObject } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { TenantSchemaMigrator } from './tenant-schema-migrator';

/** Never used: these tests stop before anything would reach a database. */
const em = {} as EntityManager;

class DummyMigration {}

const migration = (name: string): MigrationObject =>
  ({ name, class: DummyMigration }) as unknown as MigrationObject;

describe('TenantSchemaMigrator', () => {
  it('refuses two migrations with the same name', () => {
    expect(
      () =>
        new TenantSchemaMigrator(em, [
          migration('Migration20250101000000'),
          migration('Migration20250201000000'),
          migration('Migration20250101000000'),
        ]),
    ).toThrow('Duplicate tenant migration names');
  });

  it('accepts distinct names and keeps them in the given order', () => {
    const migrations = [migration('Migration20250101000000'), migration('Migration20250201000000')];
    const migrator = new TenantSchemaMigrator(em, migrations);

    expect(migrator.migrations.map((m) => m.name)).toEqual([
      'Migration20250101000000',
      'Migration20250201000000',
    ]);
  });

  it('reports the last migration as latest', () => {
    const migrator = new TenantSchemaMigrator(em, [
      migration('Migration20250101000000'),
      migration('Migration20250301000000'),
      migration('Migration20250201000000'),
    ]);

    expect(migrator.latest).toBe('Migration20250201000000');
  });

  it('reports the only migration as latest', () => {
    expect(new TenantSchemaMigrator(em, [migration('Migration1')]).latest).toBe('Migration1');
  });

  it('has no latest migration when there are none', () => {
    expect(new TenantSchemaMigrator(em, []).latest).toBeUndefined();
  });

  it('refuses to migrate a schema whose name is not a tenant schema, before touching the database', async () => {
    const execute = jest.fn();
    const tx = { execute } as unknown as EntityManager;
    const migrator = new TenantSchemaMigrator(em, [migration('Migration1')]);

    await expect(
      migrator.applyInTransaction(tx, 'tenant_x"; drop schema platform cascade; --'),
    ).rejects.toThrow(/^Not a tenant schema name: /);
    expect(execute).not.toHaveBeenCalled();
  });

  it('runs no workers and returns no outcomes for an empty list of schemas', async () => {
    const migrator = new TenantSchemaMigrator(em, [migration('Migration1')]);
    const onProgress = jest.fn();

    await expect(migrator.migrateMany([], { concurrency: 4, onProgress })).resolves.toEqual([]);
    expect(onProgress).not.toHaveBeenCalled();
  });
});
