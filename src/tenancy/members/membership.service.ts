import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { TenantRole } from '../../access/roles';
import { Clock } from '../../common/clock';
import { TtlCache } from '../../common/ttl-cache';
import { Membership } from '../entities/membership.entity';

const TTL_MS = 5_000;

/**
 * Who belongs to which organisation, with what role. Checked on every
 * tenant-scoped request (cached a few seconds, dropped at once on change in
 * this process), so a removed member loses access immediately here and
 * within seconds on other replicas.
 */
@Injectable()
export class MembershipService {
  private readonly cache = new TtlCache<string, TenantRole | null>(TTL_MS, 50_000);

  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
  ) {}

  async roleOf(tenantId: string, userId: string): Promise<TenantRole | null> {
    const key = `${tenantId}:${userId}`;
    const now = this.clock.now().getTime();
    const hit = this.cache.get(key, now);
    if (hit) return hit.value;
    const row = await this.em
      .fork()
      .findOne(Membership, { tenantId, userId }, { fields: ['role'] });
    const role = row?.role ?? null;
    this.cache.set(key, role, now);
    return role;
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

  forget(tenantId: string, userId: string): void {
    this.cache.delete(`${tenantId}:${userId}`);
  }
}
