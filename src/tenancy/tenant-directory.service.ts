import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../common/clock';
import { TtlCache } from '../common/ttl-cache';
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
 * Changes made through this process invalidate it at once; other replicas see
 * them within the TTL.
 */
@Injectable()
export class TenantDirectory {
  private readonly cache = new TtlCache<string, TenantRecord | null>(TTL_MS, MAX_ENTRIES);

  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
  ) {}

  async find(idOrSlug: string): Promise<TenantRecord | undefined> {
    const key = idOrSlug.trim().toLowerCase();
    const now = this.clock.now().getTime();
    const hit = this.cache.get(key, now);
    if (hit) return hit.value ?? undefined;

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
    const value = tenant
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
    this.cache.set(key, value, now);
    return value ?? undefined;
  }

  invalidate(tenant: { id: string; slug: string }): void {
    this.cache.delete(tenant.id);
    this.cache.delete(tenant.slug);
  }
}
