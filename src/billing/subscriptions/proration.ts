import { BillingInterval } from '../entities/money';

/**
 * Pure billing arithmetic: periods, the upgrade/downgrade rule and proration.
 * Money is integer minor units; splits are done in BigInt so that the two parts
 * of an amount always add back to it, to the cent.
 */

/** A price at a quantity: what one full period costs. */
export interface Rate {
  unitAmount: number;
  quantity: number;
  interval: BillingInterval;
}

export const periodAmount = (rate: Rate): number => rate.unitAmount * rate.quantity;

/**
 * Average days per interval, times 48 so both are integers (a month is
 * 365.25 / 12 = 30.4375 days = 1461 / 48). Used only to compare rates.
 */
const DAYS_X48: Record<BillingInterval, number> = {
  [BillingInterval.Month]: 1461,
  [BillingInterval.Year]: 17_532,
};

export type ChangeDirection = 'upgrade' | 'downgrade' | 'none';

/**
 * The one definition of an upgrade: the new rate costs more per day than the
 * old one (a yearly price is compared by its daily cost, not its sticker).
 * Compared exactly: a / da > b / db  ⇔  a·db > b·da.
 */
export function changeDirection(from: Rate, to: Rate): ChangeDirection {
  const lhs = BigInt(periodAmount(to)) * BigInt(DAYS_X48[from.interval]);
  const rhs = BigInt(periodAmount(from)) * BigInt(DAYS_X48[to.interval]);
  if (lhs > rhs) return 'upgrade';
  if (lhs < rhs) return 'downgrade';
  return 'none';
}

const DAYS_IN_MONTH = (year: number, month: number) =>
  new Date(Date.UTC(year, month + 1, 0)).getUTCDate();

/**
 * The end of the `count`-th period after `anchor`, in UTC calendar months: a
 * subscription anchored on the 31st bills on the last day of shorter months
 * and on the 31st again after, never drifting.
 */
export function periodBoundary(anchor: Date, interval: BillingInterval, count: number): Date {
  const months = interval === BillingInterval.Year ? 12 * count : count;
  const total = anchor.getUTCMonth() + months;
  const year = anchor.getUTCFullYear() + Math.floor(total / 12);
  const month = ((total % 12) + 12) % 12;
  const day = Math.min(anchor.getUTCDate(), DAYS_IN_MONTH(year, month));
  return new Date(
    Date.UTC(
      year,
      month,
      day,
      anchor.getUTCHours(),
      anchor.getUTCMinutes(),
      anchor.getUTCSeconds(),
      anchor.getUTCMilliseconds(),
    ),
  );
}

/** The first period boundary after `after`, counting whole periods from `anchor`. */
export function nextBoundary(anchor: Date, interval: BillingInterval, after: Date): Date {
  let count = 1;
  let boundary = periodBoundary(anchor, interval, count);
  while (boundary <= after) boundary = periodBoundary(anchor, interval, ++count);
  return boundary;
}

/**
 * The part of a period's amount not yet used at `at`, to the second, rounded
 * half up. `used = amount − unused`, so the two always add up.
 */
export function unusedAmount(amount: number, periodStart: Date, periodEnd: Date, at: Date): number {
  if (!Number.isSafeInteger(amount) || amount < 0) {
    throw new RangeError(
      `amount must be a non-negative whole number of minor units, got ${amount}`,
    );
  }
  const total = BigInt(Math.floor((periodEnd.getTime() - periodStart.getTime()) / 1000));
  if (total <= 0n) throw new RangeError('the period must end after it starts');
  const left = BigInt(Math.floor((periodEnd.getTime() - at.getTime()) / 1000));
  const remaining = left < 0n ? 0n : left > total ? total : left;
  return Number((BigInt(amount) * remaining * 2n + total) / (2n * total));
}

export interface ProrationLine {
  kind: 'proration_credit' | 'proration_debit';
  /** Signed: the credit is negative. */
  amount: number;
  rate: Rate;
  periodStart: Date;
  periodEnd: Date;
}

export type ChangePlan =
  | {
      /** Same interval: the rest of the current period is re-priced now. */
      timing: 'now';
      direction: ChangeDirection;
      lines: ProrationLine[];
      /** Credit + debit: positive is charged now, negative (a downgrade) credited to the next invoice. */
      net: number;
      periodStart: Date;
      periodEnd: Date;
    }
  | {
      /** To a longer interval: a new period starts now, billed in full, less the unused old time. */
      timing: 'restart';
      direction: ChangeDirection;
      lines: ProrationLine[];
      net: number;
      periodStart: Date;
      periodEnd: Date;
    }
  | {
      /** To a shorter interval: the paid period runs out first; the new price applies at renewal. */
      timing: 'period_end';
      direction: ChangeDirection;
      lines: [];
      net: 0;
      periodStart: Date;
      periodEnd: Date;
    };

/**
 * How a change from `from` to `to` at `at` is billed, within the current
 * period [periodStart, periodEnd). The interval rules are explicit:
 * - same interval: credit the unused old time, debit the same time at the new rate;
 * - to a longer interval (monthly → yearly): credit the unused old time and
 *   start a full new period now;
 * - to a shorter interval (yearly → monthly): nothing now; the change starts
 *   when the paid year ends, so no one is refunded a year in cash.
 */
export function planChange(
  from: Rate,
  to: Rate,
  period: { start: Date; end: Date },
  at: Date,
): ChangePlan {
  const direction = changeDirection(from, to);
  if (at < period.start || at >= period.end) {
    throw new RangeError('a change must fall inside the current period');
  }
  const credit: ProrationLine = {
    kind: 'proration_credit',
    // `0 -`, not unary minus: with nothing unused (a free plan) the credit is 0, never -0.
    amount: 0 - unusedAmount(periodAmount(from), period.start, period.end, at),
    rate: from,
    periodStart: at,
    periodEnd: period.end,
  };
  if (from.interval === to.interval) {
    const debit: ProrationLine = {
      kind: 'proration_debit',
      amount: unusedAmount(periodAmount(to), period.start, period.end, at),
      rate: to,
      periodStart: at,
      periodEnd: period.end,
    };
    return {
      timing: 'now',
      direction,
      lines: [credit, debit],
      net: credit.amount + debit.amount,
      periodStart: period.start,
      periodEnd: period.end,
    };
  }
  if (DAYS_X48[to.interval] > DAYS_X48[from.interval]) {
    const end = periodBoundary(at, to.interval, 1);
    const debit: ProrationLine = {
      kind: 'proration_debit',
      amount: periodAmount(to),
      rate: to,
      periodStart: at,
      periodEnd: end,
    };
    return {
      timing: 'restart',
      direction,
      lines: [credit, debit],
      net: credit.amount + debit.amount,
      periodStart: at,
      periodEnd: end,
    };
  }
  return {
    timing: 'period_end',
    direction,
    lines: [],
    net: 0,
    periodStart: period.start,
    periodEnd: period.end,
  };
}
