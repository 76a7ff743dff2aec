import type {
  PricingAmountDto,
  PricingCurrencyDto,
  PricingDto,
  PricingFeatureRowDto,
  PricingMatrixDto,
  PricingTierDto,
  YearlySavingDto,
} from './dtos/pricing.dto';
import { Feature, FeatureKind } from '../entities/feature.entity';
import { BillingInterval, CURRENCIES } from '../entities/money';
import { FeatureValue, Plan } from '../entities/plan.entity';
import { Price } from '../entities/price.entity';

/*
 * The pricing page as pure functions of the catalog: what the tiers cost, what
 * paying yearly saves, and the feature comparison matrix.
 * The service reads the catalog and caches; everything here is deterministic.
 */

export type PricingFeature = Pick<Feature, 'key' | 'name' | 'description' | 'kind'>;
export type PricingPlan = Pick<
  Plan,
  | 'id'
  | 'code'
  | 'name'
  | 'description'
  | 'supportTier'
  | 'seatLimit'
  | 'trialDays'
  | 'recommended'
  | 'features'
>;
export type PricingPrice = Pick<Price, 'id' | 'currency' | 'interval' | 'unitAmount'>;

/** The active catalog, as `CatalogService.snapshot()` reads it. */
export interface PricingCatalog {
  /** In sort order. */
  features: readonly PricingFeature[];
  /** Active plans in display order. */
  plans: readonly PricingPlan[];
  /** Active prices by plan id. */
  prices: ReadonlyMap<string, readonly PricingPrice[]>;
}

/**
 * What paying yearly saves per seat against twelve monthly payments, with the
 * percent rounded to the nearest whole one. Null when yearly saves nothing
 * (equal or dearer), since a pricing page advertises only a real saving.
 */
export function yearlySaving(
  monthlyAmount: number,
  yearlyAmount: number,
): { amount: number; percent: number } | null {
  const twelveMonths = 12 * monthlyAmount;
  const amount = twelveMonths - yearlyAmount;
  if (amount <= 0) return null;
  // Integers throughout: amounts are minor units, far below 2^53 / 100.
  return { amount, percent: Math.round((amount * 100) / twelveMonths) };
}

/**
 * A plan's value for one feature. A plan that says nothing about a feature
 * (a row added after the plan) does not include it: false, 0 or null, never
 * "unlimited".
 */
export function cellValue(kind: FeatureKind, value: FeatureValue | undefined): FeatureValue {
  if (value !== undefined) return value;
  switch (kind) {
    case FeatureKind.Flag:
      return false;
    case FeatureKind.Limit:
      return 0;
    case FeatureKind.Text:
      return null;
  }
}

/** Rows are features in sort order; columns are the plans in display order. */
export function featureMatrix(
  features: readonly PricingFeature[],
  plans: readonly PricingPlan[],
): PricingMatrixDto {
  return {
    plans: plans.map((plan) => plan.code),
    rows: features.map((feature): PricingFeatureRowDto => ({
      key: feature.key,
      name: feature.name,
      description: feature.description ?? null,
      kind: feature.kind,
      cells: Object.fromEntries(
        plans.map((plan) => [plan.code, cellValue(feature.kind, plan.features[feature.key])]),
      ),
    })),
  };
}

/** Catalog currencies first in their usual order, anything else after, alphabetically. */
function currencyRank(currency: string): [number, string] {
  const index = (CURRENCIES as readonly string[]).indexOf(currency);
  return [index === -1 ? CURRENCIES.length : index, currency];
}

function byCurrency(a: string, b: string): number {
  const [ra, ca] = currencyRank(a);
  const [rb, cb] = currencyRank(b);
  return ra - rb || ca.localeCompare(cb);
}

/** One plan's prices grouped by currency, each with its monthly and yearly amount and saving. */
export function priceGroups(
  prices: readonly PricingPrice[],
  currency?: string,
): PricingCurrencyDto[] {
  const groups = new Map<string, { monthly?: PricingPrice; yearly?: PricingPrice }>();
  for (const price of prices) {
    if (currency !== undefined && price.currency !== currency) continue;
    const group = groups.get(price.currency) ?? {};
    if (price.interval === BillingInterval.Month) group.monthly = price;
    else group.yearly = price;
    groups.set(price.currency, group);
  }
  const amount = (price: PricingPrice | undefined): PricingAmountDto | null =>
    price
      ? {
          priceId: price.id,
          interval: price.interval,
          unitAmount: price.unitAmount,
          currency: price.currency,
        }
      : null;
  return [...groups.keys()].sort(byCurrency).map((code): PricingCurrencyDto => {
    const { monthly, yearly } = groups.get(code)!;
    const saving = monthly && yearly ? yearlySaving(monthly.unitAmount, yearly.unitAmount) : null;
    const yearlySavingDto: YearlySavingDto | null = saving ? { ...saving, currency: code } : null;
    return {
      currency: code,
      monthly: amount(monthly),
      yearly: amount(yearly),
      yearlySaving: yearlySavingDto,
    };
  });
}

/** The whole pricing page; `currency` keeps only that currency's prices. */
export function buildPricing(catalog: PricingCatalog, currency?: string): PricingDto {
  const currencies = new Set<string>();
  for (const prices of catalog.prices.values())
    for (const price of prices) currencies.add(price.currency);
  const tiers = catalog.plans.map((plan): PricingTierDto => ({
    code: plan.code,
    name: plan.name,
    description: plan.description,
    supportTier: plan.supportTier,
    seatLimit: plan.seatLimit,
    trialDays: plan.trialDays,
    recommended: plan.recommended,
    prices: priceGroups(catalog.prices.get(plan.id) ?? [], currency),
  }));
  return {
    currency: currency ?? null,
    currencies: [...currencies].sort(byCurrency),
    tiers,
    matrix: featureMatrix(catalog.features, catalog.plans),
    // Admin writes keep at most one; should two ever be flagged, the first shown wins.
    recommended: catalog.plans.find((plan) => plan.recommended)?.code ?? null,
  };
}
