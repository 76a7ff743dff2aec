import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { SharedCache, SharedCaches } from '../common/cache/shared-caches';
import { TenantRef } from '../common/request-store';
import { Tenant, TenantStatus } from './entities/tenant.entity';

export interface TenantRecord extends TenantRef {
  status: TenantStatus;
  schemaVersion: string | null;
  migrationFailed: boolean;
  /** Members need two-factor authentication on to act here. */
  requireTwoFactor: boolean;
}

const TTL_MS = 5_000;
const MAX_ENTRIES = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Looks tenants up by id or slug for every tenant-scoped request, with a
 * few-second cache so the hot path does not query `platform.tenant` each time.
 * A change (suspension, settings) invalidates it at once here and, with
 * Redis, on every replica.
 */
@Injectable()
export class TenantDirectory {
  private readonly cache: SharedCache<TenantRecord | null>;

  constructor(
    private readonly em: EntityManager,
    caches: SharedCaches,
  ) {
    this.cache = caches.create('tenant', TTL_MS, MAX_ENTRIES);
  }

  async find(idOrSlug: string): Promise<TenantRecord | undefined> {
    const key = idOrSlug.trim().toLowerCase();
    return (await this.cache.getOrLoad(key, () => this.load(key))) ?? undefined;
  }

  invalidate(tenant: { id: string; slug: string }): void {
    this.cache.invalidate(tenant.id);
    this.cache.invalidate(tenant.slug);
  }

  private async load(key: string): Promise<TenantRecord | null> {
    const tenant = await this.em
      .fork()
      .findOne(Tenant, UUID.test(key) ? { id: key } : { slug: key }, {
        fields: [
          'id',
          'slug',
          'schemaName',
          'status',
          'schemaVersion',
          'migrationError',
          'requireTwoFactor',
        ],
      });
    return tenant
      ? {
          id: tenant.id,
          slug: tenant.slug,
          schemaName: tenant.schemaName,
          status: tenant.status,
          schemaVersion: tenant.schemaVersion ?? null,
          migrationFailed: !!tenant.migrationError,
          requireTwoFactor: tenant.requireTwoFactor,
        }
      : null;
  }
}
