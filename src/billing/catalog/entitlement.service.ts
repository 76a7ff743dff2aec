import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Entitlements, EntitlementSource } from '../../access/entitlements';
import { Clock } from '../../common/clock';
import { TtlCache } from '../../common/ttl-cache';
import { Plan } from '../entities/plan.entity';
import {
  ENTITLED_STATUSES,
  Subscription,
  SubscriptionStatus,
} from '../entities/subscription.entity';
import { CatalogService } from './catalog.service';

/** Read on every tenant request; a plan change invalidates it in this process at once. */
const CACHE_TTL_MS = 5_000;

/**
 * Entitlements from the tenant's subscription: the plan's features, and as
 * many seats as were paid for (capped by nothing else: the plan's seat limit
 * bounds the quantity when it is bought). Without a subscription that grants
 * anything, the free plan.
 */
@Injectable()
export class EntitlementService extends EntitlementSource {
  private readonly cache = new TtlCache<string, Entitlements>(CACHE_TTL_MS);

  constructor(
    private readonly em: EntityManager,
    private readonly catalog: CatalogService,
    private readonly clock: Clock,
  ) {
    super();
  }

  async forTenant(tenantId: string): Promise<Entitlements> {
    const now = this.clock.now().getTime();
    const hit = this.cache.get(tenantId, now);
    if (hit) return hit.value;
    const em = this.em.fork();
    const subscription = await em.findOne(
      Subscription,
      { tenantId, status: { $in: ENTITLED_STATUSES } },
      { populate: ['plan'] },
    );
    const plan = subscription?.plan ?? (await this.catalog.freePlan(em));
    const value = toEntitlements(
      plan,
      subscription?.quantity ?? plan.seatLimit,
      subscription?.status === SubscriptionStatus.Unpaid,
    );
    this.cache.set(tenantId, value, now);
    return value;
  }

  /** After a subscription change: the next request sees the new plan. */
  invalidate(tenantId: string): void {
    this.cache.delete(tenantId);
  }

  /** After a catalog edit: every tenant's plan may have changed. */
  invalidateAll(): void {
    this.cache.clear();
  }
}

export function toEntitlements(
  plan: Plan,
  seats: number | null,
  billingSuspended = false,
): Entitlements {
  return {
    billingSuspended,
    planCode: plan.code,
    planName: plan.name,
    seatLimit: seats,
    supportTier: plan.supportTier,
    features: { ...plan.features, seats },
  };
}
