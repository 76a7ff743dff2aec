/**
 * The SLA clock of one ticket: pure arithmetic on plain data.
 *
 * Each metric (first response, resolution) counts business time from the
 * ticket's creation while the clock runs. The clock pauses while the ticket waits
 * on the requester (`pending`) and while it is `solved` or `closed`; so every
 * paused stretch pushes the due time later by exactly the business time it
 * contains.
 *
 * `on_hold` does NOT pause the clock (by default): on hold means the ticket waits
 * on us or a third party (an engineering fix, a vendor), and the requester is
 * still waiting for an answer; pausing it would let a team park tickets out of
 * the SLA. Zendesk's requester-wait-time counts on-hold the same way. A policy
 * that wants otherwise passes `pausedStatuses`.
 */
import { addBusinessTime, BusinessCalendar, businessMsBetween } from './business-calendar';

export type TicketStatus = 'new' | 'open' | 'pending' | 'on_hold' | 'solved' | 'closed';

/** Statuses during which the clock does not run. */
export const DEFAULT_PAUSED_STATUSES: readonly TicketStatus[] = ['pending', 'solved', 'closed'];

/** A stretch of the ticket's life in one status, `[from, to)`; `to` null: still in it. */
export interface StatusInterval {
  status: TicketStatus;
  from: Date;
  to: Date | null;
}

/** A status change as the ticket's history records it. */
export interface StatusChange {
  status: TicketStatus;
  at: Date;
}

/** Targets in business milliseconds; null: no target for that metric. */
export interface SlaTargets {
  firstResponseMs: number | null;
  resolutionMs: number | null;
}

export interface SlaClockInput {
  targets: SlaTargets;
  calendar: BusinessCalendar;
  createdAt: Date;
  /** The ticket's status history; stretches not covered count as running. */
  timeline: readonly StatusInterval[];
  firstRespondedAt: Date | null;
  /** When the ticket was last solved; null when it is not (or was reopened). */
  resolvedAt: Date | null;
  /** Defaults to `DEFAULT_PAUSED_STATUSES`. */
  pausedStatuses?: readonly TicketStatus[];
}

export interface SlaMetric {
  targetMs: number;
  /** When the target is (or was) due. While paused: the due time if the clock ran again now. */
  dueAt: Date;
  /** When the metric was met, if it was by `now`. */
  metAt: Date | null;
  /** Met after its due time, or not met and `now` is past it. */
  breached: boolean;
  /** The clock is not running at `now` (and the metric is not met). */
  paused: boolean;
  /** Business time the clock has counted, up to the met time or `now`. */
  elapsedMs: number;
  /**
   * `targetMs - elapsedMs`: the queue's sort key, frozen while paused. Negative
   * once the clock has counted past the target; never positive when breached (0
   * when the due time has passed but only outside business hours since).
   */
  remainingMs: number;
}

export interface SlaState {
  /** Null when the policy sets no target for the metric. */
  firstResponse: SlaMetric | null;
  resolution: SlaMetric | null;
}

/** Evaluate both metrics of a ticket as of `now`. */
export function evaluateSla(input: SlaClockInput, now: Date): SlaState {
  const paused = pausedSpans(input);
  const metric = (targetMs: number | null, metAt: Date | null, name: string) =>
    targetMs === null ? null : evaluateMetric(input, paused, targetMs, metAt, now, name);
  return {
    firstResponse: metric(input.targets.firstResponseMs, input.firstRespondedAt, 'first response'),
    resolution: metric(input.targets.resolutionMs, input.resolvedAt, 'resolution'),
  };
}

/**
 * Whether a metric still running will breach within `windowMs` of wall-clock
 * time after `now`. Wall time, not business time: the agent on shift cares about
 * what breaches in the next hour, not what breaches at Monday's opening.
 * Breached, met, paused or untargeted metrics are not "breaching soon".
 */
export function breachingSoon(input: SlaClockInput, now: Date, windowMs: number): boolean {
  return isBreachingSoon(evaluateSla(input, now), now, windowMs);
}

/** `breachingSoon` on an already evaluated state (the queue evaluates once). */
export function isBreachingSoon(state: SlaState, now: Date, windowMs: number): boolean {
  if (!(windowMs >= 0)) throw new RangeError(`window must be a non-negative duration: ${windowMs}`);
  return [state.firstResponse, state.resolution].some(
    (metric) =>
      metric !== null &&
      metric.metAt === null &&
      !metric.paused &&
      !metric.breached &&
      metric.dueAt.getTime() - now.getTime() <= windowMs,
  );
}

/**
 * Business time to the next breach among the metrics still open (not met), or
 * null when none is: the queue sorts ascending on it, nulls last. Paused metrics
 * count with their frozen remaining time.
 */
export function timeToBreach(state: SlaState): number | null {
  const open = [state.firstResponse, state.resolution].filter(
    (metric): metric is SlaMetric => metric !== null && metric.metAt === null,
  );
  if (open.length === 0) return null;
  return Math.min(...open.map((metric) => metric.remainingMs));
}

/** Sorts states by time to breach, most urgent first, tickets without an open metric last. */
export function compareByTimeToBreach(a: SlaState, b: SlaState): number {
  const x = timeToBreach(a);
  const y = timeToBreach(b);
  if (x === null || y === null) return x === y ? 0 : x === null ? 1 : -1;
  return x - y;
}

/**
 * Status intervals from a history of changes: each change lasts until the next.
 * Changes must be in time order; the ticket is `new` from creation to the first.
 */
export function intervalsFromChanges(
  createdAt: Date,
  changes: readonly StatusChange[],
): StatusInterval[] {
  const intervals: StatusInterval[] = [];
  let status: TicketStatus = 'new';
  let from = createdAt;
  for (const change of changes) {
    if (change.at.getTime() < from.getTime()) {
      throw new RangeError(`status changes out of order at ${change.at.toISOString()}`);
    }
    if (change.at.getTime() > from.getTime()) intervals.push({ status, from, to: change.at });
    status = change.status;
    from = change.at;
  }
  intervals.push({ status, from, to: null });
  return intervals;
}

// ---------------------------------------------------------------- internals

interface Span {
  start: number;
  /** Null: still paused (the timeline's last status). */
  end: number | null;
}

/** Paused stretches after creation, validated: sorted and disjoint. */
function pausedSpans(input: SlaClockInput): Span[] {
  const created = time(input.createdAt, 'createdAt');
  const pausing = new Set(input.pausedStatuses ?? DEFAULT_PAUSED_STATUSES);
  const spans: Span[] = [];
  let previousEnd = -Infinity;
  let open = false;
  for (const interval of input.timeline) {
    const from = time(interval.from, 'timeline from');
    const to = interval.to === null ? null : time(interval.to, 'timeline to');
    if (open) throw new RangeError('only the last timeline interval may be open-ended');
    if (to !== null && to < from) throw new RangeError('a timeline interval ends before it starts');
    if (from < previousEnd) throw new RangeError('timeline intervals overlap or are out of order');
    previousEnd = to ?? Infinity;
    open = to === null;
    if (!pausing.has(interval.status)) continue;
    const start = Math.max(from, created);
    if (to !== null && to <= start) continue;
    const last = spans[spans.length - 1];
    if (last && last.end === start) last.end = to;
    else spans.push({ start, end: to });
  }
  return spans;
}

function evaluateMetric(
  input: SlaClockInput,
  paused: readonly Span[],
  targetMs: number,
  metAtInput: Date | null,
  nowDate: Date,
  name: string,
): SlaMetric {
  if (!Number.isSafeInteger(targetMs) || targetMs <= 0) {
    throw new RangeError(`${name} target must be a positive whole number of ms: ${targetMs}`);
  }
  const { calendar } = input;
  const created = time(input.createdAt, 'createdAt');
  const now = time(nowDate, 'now');
  const metTime = metAtInput === null ? null : time(metAtInput, `${name} time`);
  if (metTime !== null && metTime < created) {
    throw new RangeError(`${name} time is before the ticket was created`);
  }
  // A met time after `now` is not known yet at `now` (evaluating the past).
  const met = metTime !== null && metTime <= now ? metTime : null;
  // The clock's history ends here; what comes after is projected as "running".
  const cut = Math.max(met ?? now, created);

  // Running stretches up to `cut`; after it the clock is projected to run for
  // ever (a paused ticket as if it resumed at `cut`).
  const running: [number, number][] = [];
  let cursor = created;
  for (const span of paused) {
    if (span.start >= cut) break;
    if (span.start > cursor) running.push([cursor, span.start]);
    cursor = Math.max(cursor, span.end === null ? cut : Math.min(span.end, cut));
  }
  if (cursor < cut) running.push([cursor, cut]);
  const pausedAtCut = paused.some(
    (span) => span.start <= cut && (span.end === null || span.end > cut),
  );

  let elapsedMs = 0;
  let dueAt: Date | null = null;
  for (const [start, end] of running) {
    const available = businessMsBetween(calendar, new Date(start), new Date(end));
    if (dueAt === null && available > 0 && targetMs - elapsedMs <= available) {
      dueAt = addBusinessTime(calendar, new Date(start), targetMs - elapsedMs);
    }
    elapsedMs += available;
  }
  dueAt ??= addBusinessTime(calendar, new Date(cut), targetMs - elapsedMs);

  return {
    targetMs,
    dueAt,
    metAt: met === null ? null : new Date(met),
    breached: cut > dueAt.getTime(),
    paused: met === null && pausedAtCut,
    elapsedMs,
    remainingMs: targetMs - elapsedMs,
  };
}

function time(date: Date, name: string): number {
  const t = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isFinite(t)) throw new RangeError(`${name} is not a valid date`);
  return t;
}
