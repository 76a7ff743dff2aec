import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { Feature } from '../entities/feature.entity';
import { Plan, PlanStatus } from '../entities/plan.entity';
import { Price, PriceStatus } from '../entities/price.entity';

/** The plan everyone without a paid subscription is on. */
export const FREE_PLAN_CODE = 'free';

export interface CatalogSnapshot {
  features: Feature[];
  /** Active plans in display order. */
  plans: Plan[];
  /** Active prices by plan id. */
  prices: Map<string, Price[]>;
}

/**
 * Reads of the catalog (plans, prices, features). Prices are immutable, so a
 * price row read once is good forever; the whole active catalog is small and
 * read by the pricing page and by every entitlement lookup.
 */
@Injectable()
export class CatalogService {
  constructor(private readonly em: EntityManager) {}

  async snapshot(em: EntityManager = this.em.fork()): Promise<CatalogSnapshot> {
    const [features, plans, prices] = await Promise.all([
      em.find(Feature, {}, { orderBy: { sortOrder: 'asc', key: 'asc' } }),
      em.find(Plan, { status: PlanStatus.Active }, { orderBy: { sortOrder: 'asc', code: 'asc' } }),
      em.find(
        Price,
        { status: PriceStatus.Active, plan: { status: PlanStatus.Active } },
        { orderBy: { currency: 'asc', interval: 'asc' } },
      ),
    ]);
    const byPlan = new Map<string, Price[]>();
    for (const price of prices) {
      const list = byPlan.get(price.plan.id) ?? [];
      list.push(price);
      byPlan.set(price.plan.id, list);
    }
    return { features, plans, prices: byPlan };
  }

  async freePlan(em: EntityManager = this.em.fork()): Promise<Plan> {
    const plan = await em.findOne(Plan, { code: FREE_PLAN_CODE });
    if (!plan) {
      // The seed migration creates it; a catalog without it is misconfigured.
      throw new Error(`The catalog has no "${FREE_PLAN_CODE}" plan`);
    }
    return plan;
  }

  /** A price new subscriptions may use: active, on an active plan. */
  async subscribablePrice(em: EntityManager, priceId: string): Promise<Price> {
    const price = await em.findOne(Price, { id: priceId }, { populate: ['plan'] });
    if (!price) {
      throw new BillingException(BillingErrorCode.PriceNotFound, `No price ${priceId}.`);
    }
    if (price.status !== PriceStatus.Active || price.plan.status !== PlanStatus.Active) {
      throw new BillingException(
        BillingErrorCode.PriceUnavailable,
        'This price is no longer offered; choose one from GET /v1/pricing.',
      );
    }
    return price;
  }
}
