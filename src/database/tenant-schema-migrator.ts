import type { MigrationObject } from '@mikro-orm/core';
import type { Migration } from '@mikro-orm/migrations';
import { EntityManager } from '@mikro-orm/postgresql';
import { assertTenantSchemaName, quoteIdent } from './schema-names';
import { LIFT_STATEMENT_TIMEOUT } from './statement-timeout';

export interface SchemaMigrationOutcome {
  schemaName: string;
  /** Migrations applied by this run, in order (empty when the schema was current). */
  applied: string[];
  /** The last migration now recorded in the schema. */
  version?: string;
  error?: Error;
}

export interface ApplyOptions {
  /** Create the schema first (provisioning). */
  create?: boolean;
  /** Runs in the same transaction after the migrations, e.g. to record the version elsewhere. */
  afterApply?: (em: EntityManager, outcome: SchemaMigrationOutcome) => Promise<void>;
}

export interface MigrateManyOptions {
  concurrency: number;
  /** Stops taking new schemas; those already running finish (each is one transaction). */
  signal?: AbortSignal;
  onProgress?: (progress: {
    done: number;
    total: number;
    failed: number;
    last: SchemaMigrationOutcome;
  }) => void;
  afterApply?: ApplyOptions['afterApply'];
}

export const TENANT_MIGRATION_TABLE = 'schema_migration';

/**
 * Applies tenant migrations to tenant schemas. MikroORM 6's migrator knows only
 * one schema, so this runner is ours: one transaction per schema, guarded by an
 * advisory lock so two replicas never migrate the same schema at once, with the
 * applied names recorded inside the schema itself (committed with the DDL, so a
 * crash leaves each schema either fully migrated or untouched, and a rerun
 * resumes where it stopped).
 */
export class TenantSchemaMigrator {
  constructor(
    private readonly em: EntityManager,
    readonly migrations: readonly MigrationObject[],
  ) {
    const names = migrations.map((m) => m.name);
    if (new Set(names).size !== names.length) throw new Error('Duplicate tenant migration names');
  }

  /** The name of the newest migration, or undefined when there is none. */
  get latest(): string | undefined {
    return this.migrations.at(-1)?.name;
  }

  /** Migrates one schema in its own transaction. Throws on failure (nothing is kept). */
  async migrateSchema(
    schemaName: string,
    options: ApplyOptions = {},
  ): Promise<SchemaMigrationOutcome> {
    return this.em.fork().transactional((em) => this.applyInTransaction(em, schemaName, options));
  }

  /**
   * Brings a schema up to date inside the caller's transaction. `SET LOCAL`
   * confines the search path to this transaction: DDL time only, never a
   * pooled connection serving requests.
   */
  async applyInTransaction(
    em: EntityManager,
    schemaName: string,
    options: ApplyOptions = {},
  ): Promise<SchemaMigrationOutcome> {
    assertTenantSchemaName(schemaName);
    const schema = quoteIdent(schemaName);
    await em.execute('select pg_advisory_xact_lock(hashtext(?))', [
      `groundwork:migrate:${schemaName}`,
    ]);
    if (options.create) await em.execute(`create schema ${schema}`);
    await em.execute(`set local search_path to ${schema}, public`);
    // DDL over a large tenant table must not be cut off by the request timeout.
    await em.execute(LIFT_STATEMENT_TIMEOUT);
    await em.execute(
      `create table if not exists ${schema}.${TENANT_MIGRATION_TABLE} (
         name text primary key,
         applied_at timestamptz not null default now())`,
    );
    const rows = await em.execute<{ name: string }[]>(
      `select name from ${schema}.${TENANT_MIGRATION_TABLE}`,
    );
    const done = new Set(rows.map((r) => r.name));
    const applied: string[] = [];
    for (const migration of this.migrations) {
      if (done.has(migration.name)) continue;
      for (const statement of await this.statementsOf(em, migration)) await em.execute(statement);
      await em.execute(`insert into ${schema}.${TENANT_MIGRATION_TABLE} (name) values (?)`, [
        migration.name,
      ]);
      applied.push(migration.name);
    }
    const outcome: SchemaMigrationOutcome = { schemaName, applied, version: this.latest };
    if (options.afterApply) await options.afterApply(em, outcome);
    return outcome;
  }

  /**
   * The SQL a tenant migration runs, unqualified (the search path names the
   * schema). Public so the benchmark's plain-SQL baseline runs exactly these.
   */
  async statementsOf(em: EntityManager, migration: MigrationObject): Promise<string[]> {
    const instance = new migration.class(em.getDriver(), em.config) as unknown as Migration;
    instance.setTransactionContext(em.getTransactionContext());
    await instance.up();
    return instance.getQueries().map((query) => {
      if (typeof query !== 'string') {
        throw new Error(`Tenant migration ${migration.name}: only SQL strings are supported`);
      }
      return query;
    });
  }

  /**
   * Migrates many schemas with bounded concurrency. A failing schema is rolled
   * back and reported; the others go on.
   */
  async migrateMany(
    schemaNames: readonly string[],
    options: MigrateManyOptions,
  ): Promise<SchemaMigrationOutcome[]> {
    const outcomes: SchemaMigrationOutcome[] = [];
    let next = 0;
    let failed = 0;
    const worker = async (): Promise<void> => {
      while (next < schemaNames.length && !options.signal?.aborted) {
        const schemaName = schemaNames[next++];
        let outcome: SchemaMigrationOutcome;
        try {
          outcome = await this.migrateSchema(schemaName, { afterApply: options.afterApply });
        } catch (error) {
          failed++;
          outcome = {
            schemaName,
            applied: [],
            error: error instanceof Error ? error : new Error(String(error)),
          };
        }
        outcomes.push(outcome);
        options.onProgress?.({
          done: outcomes.length,
          total: schemaNames.length,
          failed,
          last: outcome,
        });
      }
    };
    const workers = Math.max(1, Math.min(options.concurrency, schemaNames.length));
    await Promise.all(Array.from({ length: workers }, worker));
    return outcomes;
  }
}
