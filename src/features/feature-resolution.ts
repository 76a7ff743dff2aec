/** Where a resolved flag's value came from, most specific first. */
export enum FlagSource {
  Override = 'override',
  Cohort = 'cohort',
  Plan = 'plan',
  Default = 'default',
}

/** A live (non-archived) flag as resolution needs it. */
export interface FlagDefinition {
  key: string;
  defaultEnabled: boolean;
  /** Plan code → value for tenants on that plan. */
  planDefaults: Readonly<Record<string, boolean>>;
  /** Cohort id → value for tenants in that cohort. */
  cohortRules: Readonly<Record<string, boolean>>;
  gates: readonly string[];
}

/** What one tenant contributes: its own overrides and the cohorts it is in. */
export interface TenantFlagInputs {
  /** Flag key → forced value. */
  overrides: Readonly<Record<string, boolean>>;
  cohortIds: readonly string[];
}

export interface ResolvedFlag {
  key: string;
  enabled: boolean;
  source: FlagSource;
}

/**
 * A flag's value for one tenant. The most specific rule wins: the tenant's own
 * override, then its cohorts, then its plan, then the flag's default. Among
 * cohorts that disagree, off wins: a cohort that turns a flag off (a
 * customer who must not see a beta, a region not yet cleared) is a promise
 * that another cohort's enrolment must not break; the override is how one
 * tenant gets it anyway.
 */
export function resolveFlag(
  flag: FlagDefinition,
  tenant: TenantFlagInputs,
  planCode: string,
): ResolvedFlag {
  const { key } = flag;
  const override = tenant.overrides[key];
  if (typeof override === 'boolean') return { key, enabled: override, source: FlagSource.Override };
  let cohort: boolean | undefined;
  for (const cohortId of tenant.cohortIds) {
    const rule = flag.cohortRules[cohortId];
    if (typeof rule !== 'boolean') continue;
    cohort = cohort === undefined ? rule : cohort && rule;
  }
  if (cohort !== undefined) return { key, enabled: cohort, source: FlagSource.Cohort };
  // Own properties only: a plan code such as `constructor` must not read Object.prototype.
  if (Object.prototype.hasOwnProperty.call(flag.planDefaults, planCode)) {
    const plan = flag.planDefaults[planCode];
    if (typeof plan === 'boolean') return { key, enabled: plan, source: FlagSource.Plan };
  }
  return { key, enabled: flag.defaultEnabled, source: FlagSource.Default };
}

/** Every flag for one tenant, ordered by key. */
export function resolveFlags(
  flags: readonly FlagDefinition[],
  tenant: TenantFlagInputs,
  planCode: string,
): ResolvedFlag[] {
  return flags
    .map((flag) => resolveFlag(flag, tenant, planCode))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
