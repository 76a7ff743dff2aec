import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Entitlements, EntitlementSource } from '../../access/entitlements';
import { SharedCache, SharedCaches } from '../../common/cache/shared-caches';
import { Plan } from '../entities/plan.entity';
import {
  ENTITLED_STATUSES,
  Subscription,
  SubscriptionStatus,
} from '../entities/subscription.entity';
import { CatalogService } from './catalog.service';

/** Read on every tenant request; a plan change invalidates it at once (every replica, with Redis). */
const CACHE_TTL_MS = 5_000;

/**
 * Entitlements from the tenant's subscription: the plan's features, and as
 * many seats as were paid for (capped by nothing else: the plan's seat limit
 * bounds the quantity when it is bought). Without a subscription that grants
 * anything, the free plan.
 */
@Injectable()
export class EntitlementService extends EntitlementSource {
  private readonly cache: SharedCache<Entitlements>;

  constructor(
    private readonly em: EntityManager,
    private readonly catalog: CatalogService,
    caches: SharedCaches,
  ) {
    super();
    this.cache = caches.create('entitlements', CACHE_TTL_MS);
  }

  forTenant(tenantId: string): Promise<Entitlements> {
    return this.cache.getOrLoad(tenantId, () => this.load(tenantId));
  }

  /** After a subscription change: the next request sees the new plan. */
  invalidate(tenantId: string): void {
    this.cache.invalidate(tenantId);
  }

  /** After a catalog edit: every tenant's plan may have changed. */
  invalidateAll(): void {
    this.cache.clear();
  }

  private async load(tenantId: string): Promise<Entitlements> {
    const em = this.em.fork();
    const subscription = await em.findOne(
      Subscription,
      { tenantId, status: { $in: ENTITLED_STATUSES } },
      { populate: ['plan'] },
    );
    const plan = subscription?.plan ?? (await this.catalog.freePlan(em));
    return toEntitlements(
      plan,
      subscription?.quantity ?? plan.seatLimit,
      subscription?.status === SubscriptionStatus.Unpaid,
    );
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
