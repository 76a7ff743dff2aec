import { Injectable, Logger } from '@nestjs/common';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../common/clock';
import { DomainException } from '../common/errors/domain.exception';
import { newId } from '../common/uuid';
import { quoteIdent, tenantSchemaName } from '../database/schema-names';
import { TenantSchemaMigrator } from '../database/tenant-schema-migrator';
import { Tenant, TenantStatus } from './entities/tenant.entity';
import { SLUG_RULE, slugProblem } from './slug';
import { TenancyErrorCode, TenancyException } from './tenancy.exception';
import { TenantDirectory } from './tenant-directory.service';

export interface ProvisionTenantInput {
  slug: string;
  name: string;
}

/**
 * Creates and removes organisations together with their schemas. Creation is
 * one transaction (PostgreSQL DDL is transactional): the tenant row, its
 * schema and every tenant migration commit together or not at all, so a
 * failure leaves no orphan schema and no half tenant.
 */
@Injectable()
export class TenantProvisioningService {
  private readonly logger = new Logger(TenantProvisioningService.name);

  constructor(
    private readonly em: EntityManager,
    private readonly migrator: TenantSchemaMigrator,
    private readonly directory: TenantDirectory,
    private readonly clock: Clock,
  ) {}

  /**
   * `within` runs inside the same transaction once the schema is ready (e.g.
   * sign-up creating the owner), so its failure also leaves nothing behind.
   */
  async provision(
    input: ProvisionTenantInput,
    within?: (em: EntityManager, tenant: Tenant) => Promise<void>,
  ): Promise<Tenant> {
    const slug = input.slug.trim().toLowerCase();
    const name = input.name.trim();
    assertUsableSlug(slug);
    const id = newId();
    const schemaName = tenantSchemaName(id);
    const now = this.clock.now();
    const started = performance.now();
    try {
      const tenant = await this.em.fork().transactional(async (em) => {
        const row = em.create(Tenant, {
          id,
          slug,
          name,
          schemaName,
          status: TenantStatus.Active,
          createdAt: now,
          updatedAt: now,
        });
        // The row first: a taken slug fails on its unique key before any DDL runs.
        await em.flush();
        const outcome = await this.migrator.applyInTransaction(em, schemaName, { create: true });
        row.schemaVersion = outcome.version ?? null;
        await em.flush();
        if (within) await within(em, row);
        return row;
      });
      this.directory.invalidate(tenant);
      this.logger.log(
        { tenantId: id, slug, schemaName, ms: Math.round(performance.now() - started) },
        'Tenant provisioned',
      );
      return tenant;
    } catch (error) {
      if (
        error instanceof UniqueConstraintViolationException &&
        /tenant_slug_key/.test(error.message)
      ) {
        throw new TenancyException(
          TenancyErrorCode.SlugTaken,
          `The slug "${slug}" is already taken.`,
        );
      }
      // A domain error from `within` (say, an email already taken) is the caller's answer.
      if (error instanceof DomainException) throw error;
      this.logger.error(
        { err: error, slug, schemaName },
        'Tenant provisioning failed; rolled back',
      );
      throw new TenancyException(
        TenancyErrorCode.ProvisioningFailed,
        `Creating the organisation "${slug}" failed; nothing was kept. Try again, or report the request id.`,
        {},
        error,
      );
    }
  }

  /**
   * Marks the tenant deleted (it stops resolving at once), then drops its
   * schema. If the drop fails, the tenant stays deleted and a rerun finishes it.
   */
  async deprovision(tenantId: string): Promise<void> {
    const em = this.em.fork();
    const tenant = await em.findOne(Tenant, { id: tenantId });
    if (!tenant)
      throw new TenancyException(TenancyErrorCode.TenantNotFound, `No organisation "${tenantId}".`);
    if (tenant.status !== TenantStatus.Deleted) {
      tenant.status = TenantStatus.Deleted;
      tenant.deletedAt = this.clock.now();
      tenant.updatedAt = tenant.deletedAt;
      await em.flush();
    }
    this.directory.invalidate(tenant);
    await em.transactional(async (tx) => {
      await tx.execute('select pg_advisory_xact_lock(hashtext(?))', [
        `groundwork:migrate:${tenant.schemaName}`,
      ]);
      await tx.execute(`drop schema if exists ${quoteIdent(tenant.schemaName)} cascade`);
    });
    this.logger.log(
      { tenantId, schemaName: tenant.schemaName },
      'Tenant deprovisioned; schema dropped',
    );
  }
}

export function assertUsableSlug(slug: string): void {
  const problem = slugProblem(slug);
  if (problem === 'invalid') {
    throw new TenancyException(
      TenancyErrorCode.SlugInvalid,
      `The slug "${slug}" is not valid: ${SLUG_RULE}.`,
    );
  }
  if (problem === 'reserved') {
    throw new TenancyException(
      TenancyErrorCode.SlugReserved,
      `The slug "${slug}" is reserved; choose another.`,
    );
  }
}
