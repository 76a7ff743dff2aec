import { afterFailedAttempt, OUTBOX_RETRY_POLICY, retryDelayMs, RetryPolicy } from './outbox-retry';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const NOW = new Date('2026-11-26T10:00:00.000Z');

/** A small seeded PRNG (mulberry32): property checks that replay the same numbers every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const always = (value: number) => () => value;

describe('OUTBOX_RETRY_POLICY', () => {
  it('is eight attempts, 30 s after the first failure, never more than an hour apart', () => {
    expect(OUTBOX_RETRY_POLICY).toEqual({
      maxAttempts: 8,
      baseDelayMs: 30 * SECOND,
      maxDelayMs: 60 * MINUTE,
    });
  });

  it('cannot be changed by a caller', () => {
    expect(Object.isFrozen(OUTBOX_RETRY_POLICY)).toBe(true);
  });
});

describe('retryDelayMs', () => {
  it.each([
    [1, 30 * SECOND],
    [2, 1 * MINUTE],
    [3, 2 * MINUTE],
    [4, 4 * MINUTE],
    [5, 8 * MINUTE],
    [6, 16 * MINUTE],
    [7, 32 * MINUTE],
    [8, 60 * MINUTE],
    [9, 60 * MINUTE],
    [50, 60 * MINUTE],
    [2000, 60 * MINUTE],
  ])('after failure %d: between half of %d ms and all of it', (attempt, ceiling) => {
    expect(retryDelayMs(attempt, always(0))).toBe(ceiling / 2);
    expect(retryDelayMs(attempt, always(0.5))).toBe((ceiling * 3) / 4);
    // Math.random never returns 1; just below it gives (almost) the ceiling.
    expect(retryDelayMs(attempt, always(0.999_999_999))).toBe(ceiling);
  });

  it('never waits more than the cap, even when 2^attempt overflows', () => {
    expect(retryDelayMs(Number.MAX_SAFE_INTEGER, always(0.999))).toBeLessThanOrEqual(60 * MINUTE);
    expect(retryDelayMs(1100, always(0))).toBe(30 * MINUTE);
  });

  it('clamps a random source that strays outside [0, 1)', () => {
    expect(retryDelayMs(1, always(-3))).toBe(15 * SECOND);
    expect(retryDelayMs(1, always(7))).toBe(30 * SECOND);
  });

  it('returns whole milliseconds', () => {
    const random = seeded(1);
    for (let i = 0; i < 1000; i++) {
      expect(Number.isInteger(retryDelayMs(1 + (i % 12), random))).toBe(true);
    }
  });

  it.each([0, -1, 1.5, NaN, Infinity])('refuses attempt %p', (attempt) => {
    expect(() => retryDelayMs(attempt, always(0))).toThrow(RangeError);
  });

  it('stays within [ceiling/2, ceiling] for any random draw (property, 10 000 draws)', () => {
    const random = seeded(42);
    for (let i = 0; i < 10_000; i++) {
      const attempt = 1 + Math.floor(random() * 20);
      const ceiling = Math.min(60 * MINUTE, 30 * SECOND * 2 ** (attempt - 1));
      const delay = retryDelayMs(attempt, random);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    }
  });

  it('is monotonic in the draw: a larger random number never gives a shorter delay', () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      let previous = -1;
      for (let r = 0; r < 1; r += 0.01) {
        const delay = retryDelayMs(attempt, always(r));
        expect(delay).toBeGreaterThanOrEqual(previous);
        previous = delay;
      }
    }
  });

  it('never shrinks from one failure to the next for the same draw', () => {
    const random = seeded(7);
    for (let i = 0; i < 500; i++) {
      const r = random();
      for (let attempt = 1; attempt < 15; attempt++) {
        expect(retryDelayMs(attempt + 1, always(r))).toBeGreaterThanOrEqual(
          retryDelayMs(attempt, always(r)),
        );
      }
    }
  });

  it('spreads messages that failed together instead of bringing them back at once', () => {
    const random = seeded(2026);
    const delays = Array.from({ length: 1000 }, () => retryDelayMs(3, random));
    const distinct = new Set(delays).size;
    expect(distinct).toBeGreaterThan(900);
    const mean = delays.reduce((a, b) => a + b, 0) / delays.length;
    // Uniform on [1 min, 2 min]: the mean is close to 1.5 min.
    expect(mean).toBeGreaterThan(1.45 * MINUTE);
    expect(mean).toBeLessThan(1.55 * MINUTE);
  });

  it('follows another policy when given one', () => {
    const fast: RetryPolicy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 250 };
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, always(0), fast))).toEqual([50, 100, 125, 125]);
  });

  it('uses Math.random by default', () => {
    const spy = jest.spyOn(Math, 'random').mockReturnValue(0);
    try {
      expect(retryDelayMs(2)).toBe(30 * SECOND);
      expect(spy).toHaveBeenCalledTimes(1);
    } finally {
      spy.mockRestore();
    }
  });
});

describe('afterFailedAttempt', () => {
  it('schedules the next attempt from now after each of the first seven failures', () => {
    for (let attempts = 1; attempts <= 7; attempts++) {
      const decision = afterFailedAttempt(attempts, NOW, always(0));
      const expected = retryDelayMs(attempts, always(0));
      expect(decision).toEqual({
        status: 'pending',
        delayMs: expected,
        nextAttemptAt: new Date(NOW.getTime() + expected),
      });
    }
  });

  it('gives up after the eighth attempt, and after any later one', () => {
    expect(afterFailedAttempt(8, NOW)).toEqual({ status: 'failed' });
    expect(afterFailedAttempt(9, NOW)).toEqual({ status: 'failed' });
    expect(afterFailedAttempt(1000, NOW)).toEqual({ status: 'failed' });
  });

  it('keeps every retry of a message within about an hour of its first failure', () => {
    const random = seeded(99);
    for (let run = 0; run < 200; run++) {
      let at = NOW;
      let attempts = 1;
      for (;;) {
        const decision = afterFailedAttempt(attempts, at, random);
        if (decision.status === 'failed') break;
        expect(decision.nextAttemptAt.getTime()).toBeGreaterThan(at.getTime());
        at = decision.nextAttemptAt;
        attempts++;
      }
      expect(attempts).toBe(8);
      const total = at.getTime() - NOW.getTime();
      expect(total).toBeGreaterThanOrEqual(31.75 * MINUTE);
      expect(total).toBeLessThanOrEqual(63.5 * MINUTE);
    }
  });

  it('does not change the date it was given', () => {
    const now = new Date(NOW);
    afterFailedAttempt(1, now, always(0.3));
    expect(now).toEqual(NOW);
  });

  it('honours a policy with fewer attempts', () => {
    const policy: RetryPolicy = { maxAttempts: 2, baseDelayMs: 1000, maxDelayMs: 1000 };
    expect(afterFailedAttempt(1, NOW, always(0), policy)).toMatchObject({
      status: 'pending',
      delayMs: 500,
    });
    expect(afterFailedAttempt(2, NOW, always(0), policy)).toEqual({ status: 'failed' });
  });

  it.each([0, -2, 2.5, NaN])('refuses attempts %p', (attempts) => {
    expect(() => afterFailedAttempt(attempts, NOW)).toThrow(RangeError);
  });
});
