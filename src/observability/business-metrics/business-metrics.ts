/**
 * The arithmetic of the business metrics report, kept pure so that every
 * rounding rule is unit-tested exactly. Definitions: docs/metrics/business-metrics.md.
 */

/** Decimals of every rate (a share, 0.1234); the same as the recovery report's `round(…, 4)`. */
export const RATE_DECIMALS = 4;
/** Decimals of tickets per 100 active users. */
export const PER_100_DECIMALS = 2;
/** Decimals of latencies in milliseconds. */
export const MS_DECIMALS = 1;

/** Longest period one report covers, in days (both ends included). */
export const MAX_RANGE_DAYS = 366;
/** A sign-up counts as converted when its first paid invoice was paid within this many days. */
export const CONVERSION_WINDOW_DAYS = 30;

export type TargetOp = '>' | '<';
export interface Target {
  op: TargetOp;
  value: number;
}

export const METRIC_KEYS = [
  'subscription_conversion_rate',
  'trial_conversion_rate',
  'onboarding_completion_rate',
  'payment_success_rate',
  'dunning_recovery_rate',
  'support_tickets_per_100_active_users',
  'mrr',
  'arr',
  'arpa',
  'paying_accounts',
  'net_revenue_churn_rate',
  'mrr_at_start',
  'churned_mrr',
  'contraction_mrr',
  'expansion_mrr',
  'new_mrr',
  'http_latency_average_ms',
  'http_latency_p95_ms',
] as const;
export type MetricKey = (typeof METRIC_KEYS)[number];

export const METRIC_UNITS = [
  'ratio',
  'minor_units',
  'accounts',
  'tickets_per_100_users',
  'ms',
] as const;
export type MetricUnit = (typeof METRIC_UNITS)[number];

/** The launch targets; a figure without one has `target: null`. */
export const TARGETS: Partial<Record<MetricKey, Target>> = {
  subscription_conversion_rate: { op: '>', value: 0.05 },
  onboarding_completion_rate: { op: '>', value: 0.9 },
  payment_success_rate: { op: '>', value: 0.98 },
  support_tickets_per_100_active_users: { op: '<', value: 5 },
  http_latency_average_ms: { op: '<', value: 300 },
};

/**
 * `numerator / denominator` rounded to `decimals`, half away from zero (as
 * PostgreSQL's `round(numeric, n)`), computed in integers so that no binary
 * fraction creeps in. Null when the denominator is 0: no basis, no figure.
 */
export function ratio(
  numerator: number | bigint,
  denominator: number | bigint,
  decimals: number = RATE_DECIMALS,
): number | null {
  const den = BigInt(denominator);
  if (den === 0n) return null;
  const scale = 10n ** BigInt(decimals);
  const scaled = divRoundHalfAway(BigInt(numerator) * scale, den);
  return toDecimal(scaled, decimals);
}

/** `n / d` rounded half away from zero, in integers (d ≠ 0). */
export function divRoundHalfAway(n: bigint, d: bigint): bigint {
  if (d === 0n) throw new RangeError('division by zero');
  const negative = n < 0n !== d < 0n;
  const a = n < 0n ? -n : n;
  const b = d < 0n ? -d : d;
  const q = (2n * a + b) / (2n * b);
  return negative ? -q : q;
}

/** An integer count of 10^-decimals units as a JS number (exact for the sizes here). */
function toDecimal(scaled: bigint, decimals: number): number {
  return Number(scaled) / 10 ** decimals;
}

/** A float rounded to `decimals`, half away from zero, going through its shortest decimal text. */
export function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  const shifted = Number((Math.abs(value) * factor).toPrecision(15));
  return (Math.sign(value) * Math.round(shifted)) / factor || 0;
}

/** Whether a value meets its target: null when either is missing. */
export function meets(value: number | null, target: Target | null | undefined): boolean | null {
  if (value === null || !target) return null;
  return target.op === '>' ? value > target.value : value < target.value;
}

// ---- money ----

/**
 * What one period of a price is worth per year, in minor units: monthly
 * prices × 12, yearly prices as they are. Summing these keeps MRR exact
 * (MRR = annual / 12 is rounded once, at the end).
 */
export function annualAmount(
  interval: 'month' | 'year',
  unitAmount: number,
  seats: number,
): bigint {
  const perPeriod = BigInt(unitAmount) * BigInt(seats);
  return interval === 'year' ? perPeriod : perPeriod * 12n;
}

/** MRR in minor units from the exact annual sum: annual / 12, half away from zero. */
export function mrrOf(annual: bigint): number {
  return Number(divRoundHalfAway(annual, 12n));
}

/** Average MRR per paying account: annual / (12 × accounts), rounded once; null with no account. */
export function arpaOf(annual: bigint, accounts: number): number | null {
  if (accounts === 0) return null;
  return Number(divRoundHalfAway(annual, 12n * BigInt(accounts)));
}

/** One account's annualised amount at the start and at the end of the period (one currency). */
export interface AccountMovement {
  from: bigint;
  to: bigint;
}

export interface RevenueMovement {
  /** Annualised amounts (exact): MRR × 12. */
  startAnnual: bigint;
  endAnnual: bigint;
  churnedAnnual: bigint;
  contractionAnnual: bigint;
  expansionAnnual: bigint;
  newAnnual: bigint;
  /** Accounts paying at the end. */
  payingAccounts: number;
}

/**
 * Compares each account at the start and the end: one paying at the start
 * and not at the end churned (all of its start amount); one paying less
 * contracted, more expanded; one not paying at the start is new. The SQL
 * computes the same sums; this is its reference and the unit tests' subject.
 */
export function revenueMovement(accounts: AccountMovement[]): RevenueMovement {
  const out: RevenueMovement = {
    startAnnual: 0n,
    endAnnual: 0n,
    churnedAnnual: 0n,
    contractionAnnual: 0n,
    expansionAnnual: 0n,
    newAnnual: 0n,
    payingAccounts: 0,
  };
  for (const { from, to } of accounts) {
    out.startAnnual += from;
    out.endAnnual += to;
    if (to > 0n) out.payingAccounts += 1;
    if (from > 0n && to === 0n) out.churnedAnnual += from;
    else if (from > 0n && to < from) out.contractionAnnual += from - to;
    else if (from > 0n && to > from) out.expansionAnnual += to - from;
    else if (from === 0n && to > 0n) out.newAnnual += to;
  }
  return out;
}

/**
 * Net revenue churn: (churned + contraction − expansion) / MRR at the start,
 * from the exact annual sums (the 12s cancel); negative when expansion wins.
 */
export function netRevenueChurn(movement: RevenueMovement): number | null {
  return ratio(
    movement.churnedAnnual + movement.contractionAnnual - movement.expansionAnnual,
    movement.startAnnual,
  );
}

// ---- latency ----

/** One cumulative bucket of a Prometheus histogram: observations ≤ `le` (the last is +Inf). */
export interface CumulativeBucket {
  le: number;
  count: number;
}

/**
 * The q-quantile of a cumulative histogram, as PromQL's `histogram_quantile`
 * computes it: find the bucket where the rank q × total falls and interpolate
 * linearly inside it (from 0 for the first bucket); a rank in the +Inf bucket
 * answers the highest finite bound. Null with no observation (PromQL: NaN).
 */
export function histogramQuantile(q: number, buckets: CumulativeBucket[]): number | null {
  if (Number.isNaN(q)) return null;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length < 2 || sorted[sorted.length - 1].le !== Infinity) return null;
  // Counts must not fall with a higher bound (PromQL's ensureMonotonic).
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i].count < sorted[i - 1].count)
      sorted[i] = { ...sorted[i], count: sorted[i - 1].count };
  }
  const total = sorted[sorted.length - 1].count;
  if (total === 0) return null;
  let rank = q * total;
  let b = sorted.findIndex((bucket, i) => i < sorted.length - 1 && bucket.count >= rank);
  if (b === -1) b = sorted.length - 1;
  if (b === sorted.length - 1) return sorted[sorted.length - 2].le;
  if (b === 0 && sorted[0].le <= 0) return sorted[0].le;
  let start = 0;
  let count = sorted[b].count;
  if (b > 0) {
    start = sorted[b - 1].le;
    count -= sorted[b - 1].count;
    rank -= sorted[b - 1].count;
  }
  if (count === 0) return start;
  return start + (sorted[b].le - start) * (rank / count);
}

/** Routes left out of the latency figures: probes and scrapes are not what users wait for. */
export function isExcludedRoute(route: string): boolean {
  return route === '/metrics' || route === '/health' || route.startsWith('/health/');
}

// ---- dates ----

const DAY_MS = 86_400_000;

/** `YYYY-MM-DD` as midnight UTC, or null when it is not a real calendar day. */
export function parseDay(text: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(text)) return null;
  const at = new Date(`${text}T00:00:00.000Z`);
  if (Number.isNaN(at.getTime()) || at.toISOString().slice(0, 10) !== text) return null;
  return at;
}

/** Days from `from` to `to`, both included. */
export function daysInclusive(from: Date, to: Date): number {
  return Math.round((to.getTime() - from.getTime()) / DAY_MS) + 1;
}

export function addDays(at: Date, days: number): Date {
  return new Date(at.getTime() + days * DAY_MS);
}
