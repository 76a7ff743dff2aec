/**
 * When the outbox tries a message again after a failed attempt: exponential
 * backoff with jitter, then a final `failed`. Pure, so the schedule is tested
 * exhaustively without a mail server or a clock.
 */
export interface RetryPolicy {
  /** Attempts in all, the first one included; the message fails after the last. */
  maxAttempts: number;
  /** Upper bound of the delay after the first failure. */
  baseDelayMs: number;
  /** No delay is longer than this, however many failures. */
  maxDelayMs: number;
}

/**
 * Eight attempts spread over 32 to 64 minutes: seven delays with ceilings of
 * 30 s, 1, 2, 4, 8, 16 and 32 min, each between half its ceiling and the ceiling.
 */
export const OUTBOX_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  maxAttempts: 8,
  baseDelayMs: 30_000,
  maxDelayMs: 60 * 60_000,
});

export type RetryDecision =
  { status: 'pending'; nextAttemptAt: Date; delayMs: number } | { status: 'failed' };

/**
 * The delay after the `attempt`-th failed attempt (1-based): a ceiling of
 * `baseDelayMs * 2^(attempt-1)`, capped at `maxDelayMs`, and a delay drawn in
 * [ceiling/2, ceiling] ("equal jitter"). Half the ceiling is kept so a retry
 * never comes at once; the random half spreads messages that failed together
 * (a mail server outage) so they do not all come back in the same second.
 *
 * `random` returns a number in [0, 1) like Math.random; values outside are clamped.
 */
export function retryDelayMs(
  attempt: number,
  random: () => number = Math.random,
  policy: RetryPolicy = OUTBOX_RETRY_POLICY,
): number {
  if (!Number.isInteger(attempt) || attempt < 1) {
    throw new RangeError(`attempt must be a whole number from 1, got ${attempt}`);
  }
  // 2 ** large is Infinity, which the cap turns back into maxDelayMs.
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(ceiling / 2 + (r * ceiling) / 2);
}

/** What becomes of a message whose `attempts`-th attempt (1-based, as stored) just failed at `now`. */
export function afterFailedAttempt(
  attempts: number,
  now: Date,
  random: () => number = Math.random,
  policy: RetryPolicy = OUTBOX_RETRY_POLICY,
): RetryDecision {
  if (!Number.isInteger(attempts) || attempts < 1) {
    throw new RangeError(`attempts must be a whole number from 1, got ${attempts}`);
  }
  if (attempts >= policy.maxAttempts) return { status: 'failed' };
  const delayMs = retryDelayMs(attempts, random, policy);
  return { status: 'pending', nextAttemptAt: new Date(now.getTime() + delayMs), delayMs };
}
