import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { TenantRole } from '../../access/roles';
import { Clock } from '../../common/clock';
import { SharedCache, SharedCaches } from '../../common/cache/shared-caches';
import { Membership } from '../entities/membership.entity';

const TTL_MS = 5_000;

/**
 * Who belongs to which organisation, with what role. Checked on every
 * tenant-scoped request (cached a few seconds, dropped at once on change, on
 * every replica when Redis is configured), so a removed member loses access
 * at once.
 */
@Injectable()
export class MembershipService {
  private readonly cache: SharedCache<TenantRole | null>;

  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    caches: SharedCaches,
  ) {
    this.cache = caches.create('membership', TTL_MS, 50_000);
  }

  roleOf(tenantId: string, userId: string): Promise<TenantRole | null> {
    return this.cache.getOrLoad(`${tenantId}:${userId}`, async () => {
      const row = await this.em
        .fork()
        .findOne(Membership, { tenantId, userId }, { fields: ['role'] });
      return row?.role ?? null;
    });
  }

  /** Adds a membership to the caller's unit of work. */
  add(em: EntityManager, tenantId: string, userId: string, role: TenantRole): Membership {
    const now = this.clock.now();
    this.forget(tenantId, userId);
    return em.create(Membership, { tenantId, userId, role, createdAt: now, updatedAt: now });
  }

  /** The organisations of a user, oldest first. */
  listForUser(userId: string): Promise<Membership[]> {
    return this.em
      .fork()
      .find(Membership, { userId }, { orderBy: { createdAt: 'asc', id: 'asc' } });
  }

  /** After a membership is added, changed or removed: every replica reads it again. */
  forget(tenantId: string, userId: string): void {
    this.cache.invalidate(`${tenantId}:${userId}`);
  }
}
