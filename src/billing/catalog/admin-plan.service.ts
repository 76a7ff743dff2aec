import { Injectable } from '@nestjs/common';
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { AuditService } from '../../tenancy/audit/audit.service';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { Feature, FeatureKind } from '../entities/feature.entity';
import { FeatureValue, Plan, PlanStatus } from '../entities/plan.entity';
import { Price, PriceStatus } from '../entities/price.entity';
import { FREE_PLAN_CODE } from './catalog.service';
import {
  AdminPlanDto,
  AdminPlanListDto,
  AdminPriceDto,
  CreatePlanDto,
  CreatePriceDto,
  UpdatePlanDto,
} from './dtos/admin-plan.dto';
import { EntitlementService } from './entitlement.service';
import { PricingService } from './pricing.service';

/**
 * Catalog writes are rare and must see each other (one recommended plan, one
 * active price per plan, currency and interval): they take turns on this
 * transaction-scoped lock. Unique indexes back the price and code rules.
 */
const CATALOG_LOCK_SQL = "select pg_advisory_xact_lock(hashtext('groundwork:catalog'))";

/** The feature that mirrors a plan's seat limit (entitlements read it the same way). */
const SEATS_FEATURE = 'seats';
const MAX_TEXT_VALUE = 200;

/**
 * The operator's catalog editor: plans and their prices. Prices are immutable
 * (a new amount is a new price, the old one archived); nothing is deleted, so
 * existing subscriptions always keep what they bought. Every change is written
 * to the platform audit log in its own transaction and refreshes the pricing
 * page of this process.
 */
@Injectable()
export class AdminPlanService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly pricing: PricingService,
    private readonly entitlements: EntitlementService,
    private readonly clock: Clock,
  ) {}

  async list(): Promise<AdminPlanListDto> {
    const em = this.em.fork();
    const plans = await em.find(Plan, {}, { orderBy: { sortOrder: 'asc', code: 'asc' } });
    const prices = await this.prices(
      em,
      plans.map((plan) => plan.id),
    );
    return { items: plans.map((plan) => toPlanDto(plan, prices.get(plan.id) ?? [])) };
  }

  async get(id: string): Promise<AdminPlanDto> {
    const em = this.em.fork();
    return this.withPrices(em, await this.load(em, id));
  }

  async create(dto: CreatePlanDto): Promise<AdminPlanDto> {
    const plan = await this.write(async (em) => {
      if ((await em.count(Plan, { code: dto.code })) > 0) throw codeTaken(dto.code);
      const features = checkFeatureValues(await this.features(em), dto.features, {
        complete: true,
        seatLimit: dto.seatLimit,
      });
      const recommended = dto.recommended ?? false;
      const unrecommended = recommended ? await this.clearRecommended(em, null) : [];
      const now = this.clock.now();
      const row = em.create(Plan, {
        code: dto.code,
        name: dto.name,
        description: dto.description,
        sortOrder: dto.sortOrder,
        supportTier: dto.supportTier,
        seatLimit: dto.seatLimit,
        trialDays: dto.trialDays ?? 0,
        recommended,
        features,
        createdAt: now,
        updatedAt: now,
      });
      this.record(em, 'plan.created', row, {
        name: row.name,
        sortOrder: row.sortOrder,
        supportTier: row.supportTier,
        seatLimit: row.seatLimit,
        trialDays: row.trialDays,
        recommended,
        features,
        unrecommended,
      });
      return row;
    });
    return toPlanDto(plan, []);
  }

  async update(id: string, dto: UpdatePlanDto): Promise<AdminPlanDto> {
    const plan = await this.write(async (em) => {
      const row = await this.load(em, id);
      if (dto.recommended === true && row.status === PlanStatus.Archived) {
        throw new BillingException(
          BillingErrorCode.PlanArchived,
          `The plan "${row.code}" is archived: it is not on the pricing page and cannot be recommended.`,
        );
      }
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      const seatLimit = dto.seatLimit !== undefined ? dto.seatLimit : row.seatLimit;
      // Validate everything before touching anything: a refused request changes nothing.
      const features =
        dto.features !== undefined || dto.seatLimit !== undefined
          ? {
              ...row.features,
              ...checkFeatureValues(await this.features(em), dto.features ?? {}, {
                complete: false,
                seatLimit,
              }),
            }
          : row.features;

      const set = <K extends keyof Plan & string>(key: K, value: Plan[K] | undefined) => {
        if (value === undefined || row[key] === value) return;
        changes[key] = { from: row[key], to: value };
        row[key] = value;
      };
      set('name', dto.name);
      set('description', dto.description);
      set('sortOrder', dto.sortOrder);
      set('supportTier', dto.supportTier);
      set('seatLimit', dto.seatLimit);
      set('trialDays', dto.trialDays);
      const changedFeatures = Object.keys(features).filter(
        (key) => row.features[key] !== features[key],
      );
      for (const key of changedFeatures) {
        changes[`features.${key}`] = { from: row.features[key] ?? null, to: features[key] };
      }
      if (changedFeatures.length > 0) row.features = features;
      let unrecommended: string[] = [];
      if (dto.recommended !== undefined && dto.recommended !== row.recommended) {
        if (dto.recommended) unrecommended = await this.clearRecommended(em, row.id);
        set('recommended', dto.recommended);
      }
      if (Object.keys(changes).length === 0) return row;
      row.updatedAt = this.clock.now();
      this.record(em, 'plan.updated', row, { changes, unrecommended });
      return row;
    });
    return this.withPrices(this.em.fork(), plan);
  }

  async archive(id: string): Promise<AdminPlanDto> {
    const plan = await this.write(async (em) => {
      const row = await this.load(em, id);
      if (row.code === FREE_PLAN_CODE) {
        throw new BillingException(
          BillingErrorCode.FreePlanNotArchivable,
          `The "${FREE_PLAN_CODE}" plan is what every organisation without a subscription is on; it cannot be archived.`,
        );
      }
      if (row.status === PlanStatus.Archived) return row;
      const wasRecommended = row.recommended;
      row.status = PlanStatus.Archived;
      // Recommending a plan nobody can buy would leave the pricing page without a highlight anyway.
      row.recommended = false;
      row.updatedAt = this.clock.now();
      this.record(em, 'plan.archived', row, { wasRecommended });
      return row;
    });
    return this.withPrices(this.em.fork(), plan);
  }

  async addPrice(planId: string, dto: CreatePriceDto): Promise<AdminPriceDto> {
    const price = await this.write(async (em) => {
      const plan = await this.load(em, planId);
      if (plan.status === PlanStatus.Archived) {
        throw new BillingException(
          BillingErrorCode.PlanArchived,
          `The plan "${plan.code}" is archived: it takes no new prices.`,
        );
      }
      const current = await em.findOne(Price, {
        plan,
        currency: dto.currency,
        interval: dto.interval,
        status: PriceStatus.Active,
      });
      if (current) throw priceExists(plan, dto, current.id);
      const row = em.create(Price, {
        plan,
        currency: dto.currency,
        interval: dto.interval,
        unitAmount: dto.unitAmount,
        createdAt: this.clock.now(),
        archivedAt: null,
      });
      this.record(em, 'price.created', plan, {
        priceId: row.id,
        currency: row.currency,
        interval: row.interval,
        unitAmount: row.unitAmount,
      });
      return row;
    });
    return toPriceDto(price);
  }

  async archivePrice(planId: string, priceId: string): Promise<AdminPriceDto> {
    const price = await this.write(async (em) => {
      const plan = await this.load(em, planId);
      const row = await em.findOne(Price, { id: priceId, plan });
      if (!row) {
        throw new BillingException(
          BillingErrorCode.PriceNotFound,
          `The plan "${plan.code}" has no price ${priceId}.`,
        );
      }
      if (row.status === PriceStatus.Archived) return row;
      row.status = PriceStatus.Archived;
      row.archivedAt = this.clock.now();
      this.record(em, 'price.archived', plan, {
        priceId: row.id,
        currency: row.currency,
        interval: row.interval,
        unitAmount: row.unitAmount,
      });
      return row;
    });
    return toPriceDto(price);
  }

  /** One catalog change: serialised with the others, committed whole, then shown on the pricing page. */
  private async write<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await this.em.fork().transactional(async (em) => {
        await em.execute(CATALOG_LOCK_SQL);
        return work(em);
      });
    } catch (error) {
      // The lock makes these checks exact; the indexes are the backstop should anything bypass it.
      if (error instanceof UniqueConstraintViolationException) {
        if (/plan_code_key/.test(error.message)) {
          throw new BillingException(
            BillingErrorCode.PlanCodeTaken,
            'Another plan already has this code.',
            {},
            error,
          );
        }
        if (/price_active_key/.test(error.message)) {
          throw new BillingException(
            BillingErrorCode.PriceExists,
            'The plan already has an active price for this currency and interval: archive it first.',
            {},
            error,
          );
        }
      }
      throw error;
    }
    this.pricing.invalidate();
    // Feature and seat-limit edits reach every tenant's next request in this process.
    this.entitlements.invalidateAll();
    return result;
  }

  /** Unflags the recommended plan(s) other than `keep`; returns their codes. */
  private async clearRecommended(em: EntityManager, keep: string | null): Promise<string[]> {
    const others = await em.find(Plan, {
      recommended: true,
      ...(keep ? { id: { $ne: keep } } : {}),
    });
    const now = this.clock.now();
    for (const other of others) {
      other.recommended = false;
      other.updatedAt = now;
    }
    return others.map((other) => other.code).sort();
  }

  /** Catalog changes are platform events: they belong to no tenant. */
  private record(em: EntityManager, action: string, plan: Plan, data: Record<string, unknown>) {
    this.audit.recordPlatform(
      { action, tenantId: null, data: { planId: plan.id, planCode: plan.code, ...data } },
      em,
    );
  }

  private features(em: EntityManager): Promise<Feature[]> {
    return em.find(Feature, {}, { orderBy: { sortOrder: 'asc', key: 'asc' } });
  }

  private async load(em: EntityManager, id: string): Promise<Plan> {
    const plan = await em.findOne(Plan, { id });
    if (!plan) throw new BillingException(BillingErrorCode.PlanNotFound, `No plan ${id}.`);
    return plan;
  }

  private async prices(em: EntityManager, planIds: string[]): Promise<Map<string, Price[]>> {
    const rows = await em.find(
      Price,
      { plan: { $in: planIds } },
      { orderBy: { currency: 'asc', interval: 'asc', createdAt: 'desc', id: 'desc' } },
    );
    const byPlan = new Map<string, Price[]>();
    for (const row of rows) byPlan.set(row.plan.id, [...(byPlan.get(row.plan.id) ?? []), row]);
    return byPlan;
  }

  private async withPrices(em: EntityManager, plan: Plan): Promise<AdminPlanDto> {
    const prices = await this.prices(em, [plan.id]);
    return toPlanDto(plan, prices.get(plan.id) ?? []);
  }
}

/**
 * The feature values a plan may be given: every key a feature of the catalog,
 * every value of its feature's kind, and (`complete`) a value for every
 * feature. The `seats` feature follows the seat limit: filled in from it, and
 * refused when it says otherwise. Throws one 422 listing every problem.
 */
export function checkFeatureValues(
  catalog: readonly Feature[],
  values: Record<string, unknown>,
  options: { complete: boolean; seatLimit: number | null },
): Record<string, FeatureValue> {
  const byKey = new Map(catalog.map((feature) => [feature.key, feature]));
  const errors: { field: string; message: string }[] = [];
  const checked: Record<string, FeatureValue> = {};
  for (const [key, value] of Object.entries(values)) {
    const field = `features.${key}`;
    const feature = byKey.get(key);
    if (!feature) {
      errors.push({
        field,
        message: `${field} is not a feature of the catalog (known: ${[...byKey.keys()].join(', ')})`,
      });
      continue;
    }
    const problem = kindProblem(feature.kind, value);
    if (problem) {
      errors.push({ field, message: `${field} ${problem}` });
      continue;
    }
    checked[key] = value as FeatureValue;
  }
  const seats = byKey.get(SEATS_FEATURE);
  if (seats?.kind === FeatureKind.Limit) {
    const field = `features.${SEATS_FEATURE}`;
    if (SEATS_FEATURE in checked && checked[SEATS_FEATURE] !== options.seatLimit) {
      errors.push({
        field,
        message: `${field} follows seatLimit (${String(options.seatLimit)}): change seatLimit instead`,
      });
    }
    checked[SEATS_FEATURE] = options.seatLimit;
  }
  if (options.complete) {
    for (const feature of catalog) {
      if (!(feature.key in values) && !(feature.key in checked)) {
        const field = `features.${feature.key}`;
        errors.push({ field, message: `${field} is missing: a plan states every feature's value` });
      }
    }
  }
  if (errors.length > 0) {
    throw new BillingException(
      BillingErrorCode.PlanFeaturesInvalid,
      `Invalid feature values: ${errors.map((error) => error.message).join('; ')}.`,
      { errors },
    );
  }
  return checked;
}

/** Why `value` is not a value of a feature of `kind`, or undefined when it is. */
function kindProblem(kind: FeatureKind, value: unknown): string | undefined {
  switch (kind) {
    case FeatureKind.Flag:
      return typeof value === 'boolean' ? undefined : 'is a flag: true or false';
    case FeatureKind.Limit:
      return value === null || (Number.isSafeInteger(value) && (value as number) >= 0)
        ? undefined
        : 'is a limit: a whole number ≥ 0, or null for unlimited';
    case FeatureKind.Text:
      return value === null || (typeof value === 'string' && value.length <= MAX_TEXT_VALUE)
        ? undefined
        : `is a text: a string of at most ${MAX_TEXT_VALUE} characters, or null`;
  }
}

function codeTaken(code: string): BillingException {
  return new BillingException(
    BillingErrorCode.PlanCodeTaken,
    `A plan with the code "${code}" already exists (archived plans keep their code).`,
  );
}

function priceExists(plan: Plan, dto: CreatePriceDto, currentId: string): BillingException {
  return new BillingException(
    BillingErrorCode.PriceExists,
    `The plan "${plan.code}" already has an active ${dto.currency} ${dto.interval}ly price (${currentId}). ` +
      'Prices are immutable: archive that one first, then add the new amount.',
    { priceId: currentId },
  );
}

function toPriceDto(price: Price): AdminPriceDto {
  return {
    id: price.id,
    currency: price.currency,
    interval: price.interval,
    unitAmount: price.unitAmount,
    status: price.status,
    createdAt: price.createdAt.toISOString(),
    archivedAt: price.archivedAt?.toISOString() ?? null,
  };
}

function toPlanDto(plan: Plan, prices: Price[]): AdminPlanDto {
  return {
    id: plan.id,
    code: plan.code,
    name: plan.name,
    description: plan.description,
    sortOrder: plan.sortOrder,
    supportTier: plan.supportTier,
    seatLimit: plan.seatLimit,
    trialDays: plan.trialDays,
    recommended: plan.recommended,
    features: plan.features,
    status: plan.status,
    createdAt: plan.createdAt.toISOString(),
    updatedAt: plan.updatedAt.toISOString(),
    prices: prices.map(toPriceDto),
  };
}
