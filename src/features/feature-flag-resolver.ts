import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { EntitlementSource, FeatureFlagSet, FeatureFlagSource } from '../access/entitlements';
import { SharedCache, SharedCaches } from '../common/cache/shared-caches';
import { BetaCohortMember, FeatureFlag, FeatureFlagCohort, FeatureFlagOverride } from './entities';
import { FlagDefinition, ResolvedFlag, resolveFlags, TenantFlagInputs } from './feature-resolution';

/** Read on every tenant request; every change invalidates at once (every replica, with Redis). */
const CACHE_TTL_MS = 5_000;
/** The one key of the flag catalog's cache. */
const CATALOG = 'catalog';

/**
 * Resolves a tenant's flags from two cached inputs: the catalog of live flags
 * with their cohort rules (one entry for everyone) and the tenant's own
 * overrides and cohorts (one entry per tenant). Resolution itself is a pure
 * function of those and the plan code, run per call, so a plan change is seen
 * as soon as the entitlements are, without this cache knowing about billing.
 */
@Injectable()
export class FeatureFlagResolver extends FeatureFlagSource {
  private readonly catalog: SharedCache<FlagDefinition[]>;
  private readonly tenants: SharedCache<TenantFlagInputs>;

  constructor(
    private readonly em: EntityManager,
    private readonly entitlements: EntitlementSource,
    caches: SharedCaches,
  ) {
    super();
    this.catalog = caches.create('feature-flags', CACHE_TTL_MS, 1);
    this.tenants = caches.create('feature-flag-tenants', CACHE_TTL_MS);
  }

  /** The tenant's flags on `planCode`, in the shape the ability reads. */
  async forTenant(tenantId: string, planCode: string): Promise<FeatureFlagSet> {
    const [flags, inputs] = await Promise.all([this.flags(), this.inputs(tenantId)]);
    const enabled: Record<string, boolean> = {};
    const gates: Record<string, readonly string[]> = {};
    for (const resolved of resolveFlags(flags, inputs, planCode))
      enabled[resolved.key] = resolved.enabled;
    for (const flag of flags) if (flag.gates.length > 0) gates[flag.key] = flag.gates;
    return { enabled, gates };
  }

  /** Every live flag for the tenant on its current plan, ordered by key, with where each value came from. */
  async resolve(tenantId: string): Promise<ResolvedFlag[]> {
    const { planCode } = await this.entitlements.forTenant(tenantId);
    const [flags, inputs] = await Promise.all([this.flags(), this.inputs(tenantId)]);
    return resolveFlags(flags, inputs, planCode);
  }

  /** Whether `key` is on for the tenant; unknown and archived flags are off. */
  async isEnabled(tenantId: string, key: string): Promise<boolean> {
    return (await this.resolve(tenantId)).some((flag) => flag.key === key && flag.enabled);
  }

  /** After a change to a flag or a cohort rule: every tenant's next request resolves again. */
  invalidateCatalog(): void {
    this.catalog.clear();
  }

  /** After a change to one tenant's overrides or cohorts. */
  invalidateTenant(tenantId: string): void {
    this.tenants.invalidate(tenantId);
  }

  /** After a change to a whole cohort's membership (the cohort deleted). */
  invalidateAllTenants(): void {
    this.tenants.clear();
  }

  private flags(): Promise<FlagDefinition[]> {
    return this.catalog.getOrLoad(CATALOG, async () => {
      const em = this.em.fork();
      const [flags, rules] = await Promise.all([
        em.find(FeatureFlag, { archivedAt: null }, { orderBy: { key: 'asc' } }),
        em.find(FeatureFlagCohort, { flag: { archivedAt: null } }),
      ]);
      const rulesByFlag = new Map<string, Record<string, boolean>>();
      for (const rule of rules) {
        const byCohort = rulesByFlag.get(rule.flag.id) ?? {};
        byCohort[rule.cohort.id] = rule.enabled;
        rulesByFlag.set(rule.flag.id, byCohort);
      }
      return flags.map((flag) => ({
        key: flag.key,
        defaultEnabled: flag.defaultEnabled,
        planDefaults: flag.planDefaults,
        cohortRules: rulesByFlag.get(flag.id) ?? {},
        gates: flag.gates,
      }));
    });
  }

  private inputs(tenantId: string): Promise<TenantFlagInputs> {
    return this.tenants.getOrLoad(tenantId, async () => {
      const em = this.em.fork();
      const [overrides, memberships] = await Promise.all([
        em.find(FeatureFlagOverride, { tenantId }, { populate: ['flag'] }),
        em.find(BetaCohortMember, { tenantId }),
      ]);
      const byKey: Record<string, boolean> = {};
      for (const override of overrides) byKey[override.flag.key] = override.enabled;
      return { overrides: byKey, cohortIds: memberships.map((member) => member.cohort.id) };
    });
  }
}
