import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import {
  MigrateManyOptions,
  SchemaMigrationOutcome,
  TenantSchemaMigrator,
} from '../database/tenant-schema-migrator';
import { Tenant, TenantStatus } from './entities/tenant.entity';
import { TenancyErrorCode, TenancyException } from './tenancy.exception';

export interface TenantMigrationOptions {
  /** Only this tenant. */
  slug?: string;
  /** Check every schema's own record, not only tenants whose recorded version is behind. */
  all?: boolean;
  concurrency: number;
  signal?: AbortSignal;
  onProgress?: MigrateManyOptions['onProgress'];
}

export interface TenantMigrationReport {
  /** Schemas looked at. */
  total: number;
  /** Schemas that had at least one migration applied. */
  migrated: number;
  failed: { schemaName: string; slug: string; error: string }[];
  /** Schemas not reached because the run was aborted. */
  skipped: number;
}

/**
 * Brings tenant schemas up to date. `platform.tenant.schema_version` is an
 * index of each schema's own migration table, kept in the same transaction,
 * so a normal start looks only at tenants that are behind instead of opening
 * every schema.
 */
@Injectable()
export class TenantMigrationService {
  private readonly logger = new Logger(TenantMigrationService.name);

  constructor(
    private readonly em: EntityManager,
    private readonly migrator: TenantSchemaMigrator,
  ) {}

  async migrate(options: TenantMigrationOptions): Promise<TenantMigrationReport> {
    const em = this.em.fork();
    const latest = this.migrator.latest;
    const live = { status: { $in: [TenantStatus.Active, TenantStatus.Suspended] } };
    const tenants = await em.find(
      Tenant,
      options.slug
        ? { slug: options.slug, status: { $ne: TenantStatus.Deleted } }
        : options.all || latest === undefined
          ? live
          : { ...live, $or: [{ schemaVersion: { $ne: latest } }, { schemaVersion: null }] },
      { fields: ['id', 'slug', 'schemaName'], orderBy: { id: 'asc' } },
    );
    if (options.slug && tenants.length === 0) {
      throw new TenancyException(
        TenancyErrorCode.TenantNotFound,
        `No organisation "${options.slug}".`,
      );
    }
    const bySchema = new Map(tenants.map((t) => [t.schemaName, t]));
    const outcomes = await this.migrator.migrateMany([...bySchema.keys()], {
      concurrency: options.concurrency,
      signal: options.signal,
      onProgress: options.onProgress,
      afterApply: (tx, outcome) =>
        this.recordVersion(tx, bySchema.get(outcome.schemaName)!.id, outcome),
    });
    const failed: TenantMigrationReport['failed'] = [];
    for (const outcome of outcomes.filter((o) => o.error)) {
      const tenant = bySchema.get(outcome.schemaName)!;
      const message = outcome.error!.message;
      failed.push({ schemaName: outcome.schemaName, slug: tenant.slug, error: message });
      this.logger.error(
        { tenantId: tenant.id, schemaName: outcome.schemaName, err: outcome.error },
        'Tenant migration failed',
      );
      await em.nativeUpdate(Tenant, { id: tenant.id }, { migrationError: message.slice(0, 2000) });
    }
    return {
      total: tenants.length,
      migrated: outcomes.filter((o) => o.applied.length > 0).length,
      failed,
      skipped: tenants.length - outcomes.length,
    };
  }

  private async recordVersion(
    tx: EntityManager,
    tenantId: string,
    outcome: SchemaMigrationOutcome,
  ): Promise<void> {
    await tx.nativeUpdate(
      Tenant,
      { id: tenantId },
      { schemaVersion: outcome.version ?? null, migrationError: null },
    );
  }
}
