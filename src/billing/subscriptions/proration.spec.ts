import fc from 'fast-check';
import { BillingInterval } from '../entities/money';
import {
  changeDirection,
  nextBoundary,
  periodAmount,
  periodBoundary,
  planChange,
  Rate,
  unusedAmount,
} from './proration';

const M = BillingInterval.Month;
const Y = BillingInterval.Year;

const at = (iso: string) => new Date(iso);
const iso = (date: Date) => date.toISOString();
const rate = (unitAmount: number, interval = M, quantity = 1): Rate => ({
  unitAmount,
  quantity,
  interval,
});
const plusMs = (date: Date, ms: number) => new Date(date.getTime() + ms);
const plusDays = (date: Date, days: number) => plusMs(date, days * 86_400_000);
const daysInMonth = (year: number, month: number) =>
  new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
const abs = (n: bigint) => (n < 0n ? -n : n);
/** Whole seconds of a period, as `unusedAmount` counts them. */
const secondsOf = (start: Date, end: Date) =>
  BigInt(Math.floor((end.getTime() - start.getTime()) / 1000));

// ---------------------------------------------------------------- arbitraries

const MIN_MS = Date.UTC(2000, 0, 1);
const MAX_MS = Date.UTC(2100, 0, 1);
const instantArb = fc.integer({ min: MIN_MS, max: MAX_MS }).map((ms) => new Date(ms));
const intervalArb = fc.constantFrom(M, Y);
const rateArb = (interval: fc.Arbitrary<BillingInterval> = intervalArb) =>
  fc.record({
    unitAmount: fc.integer({ min: 0, max: 10_000_000 }),
    quantity: fc.integer({ min: 1, max: 500 }),
    interval,
  });
/** A real billing period: the n-th period of a subscription anchored anywhere in 2000–2100. */
const periodArb = (interval: fc.Arbitrary<BillingInterval> = intervalArb) =>
  fc.record({ anchor: instantArb, interval, n: fc.nat(24) }).map(({ anchor, interval: i, n }) => ({
    interval: i,
    start: periodBoundary(anchor, i, n),
    end: periodBoundary(anchor, i, n + 1),
  }));
/** An offset in [0, length) ms, biased to both ends of the period where rounding bites. */
const offsetIn = (lengthMs: number) =>
  fc.oneof(
    fc.integer({ min: 0, max: lengthMs - 1 }),
    fc.integer({ min: Math.max(0, lengthMs - 5_000), max: lengthMs - 1 }),
    fc.integer({ min: 0, max: Math.min(lengthMs - 1, 5_000) }),
  );

// ------------------------------------------------------------- changeDirection

describe('changeDirection', () => {
  it.each([
    ['a dearer monthly price', rate(1_000), rate(2_000), 'upgrade'],
    ['a cheaper monthly price', rate(2_000), rate(1_000), 'downgrade'],
    ['the same price', rate(1_000), rate(1_000), 'none'],
    ['a dearer yearly price', rate(10_000, Y), rate(10_001, Y), 'upgrade'],
    ['more seats', rate(1_000, M, 3), rate(1_000, M, 5), 'upgrade'],
    ['fewer seats', rate(1_000, M, 5), rate(1_000, M, 3), 'downgrade'],
    ['twice the seats at half the price', rate(2_000, M, 1), rate(1_000, M, 2), 'none'],
    [
      'fewer seats at a dearer price costing more',
      rate(1_000, M, 10),
      rate(2_500, M, 5),
      'upgrade',
    ],
    ['a free plan to a paid one', rate(0), rate(1), 'upgrade'],
    ['a paid plan to a free one', rate(1), rate(0), 'downgrade'],
    ['free to free', rate(0), rate(0, Y), 'none'],
  ] as const)('%s is %s', (_, from, to, direction) => {
    expect(changeDirection(from, to)).toBe(direction);
  });

  describe('compares monthly and yearly prices by their daily cost, not their sticker', () => {
    it.each([
      ['monthly 10.00 → yearly 120.00 (same daily cost)', rate(1_000), rate(12_000, Y), 'none'],
      [
        'monthly 10.00 → yearly 100.00 (dearer sticker, cheaper per day)',
        rate(1_000),
        rate(10_000, Y),
        'downgrade',
      ],
      ['monthly 10.00 → yearly 120.01', rate(1_000), rate(12_001, Y), 'upgrade'],
      ['monthly 10.00 → yearly 119.99', rate(1_000), rate(11_999, Y), 'downgrade'],
      ['yearly 120.00 → monthly 10.00', rate(12_000, Y), rate(1_000), 'none'],
      [
        'yearly 120.00 → monthly 10.01 (cheaper sticker, dearer per day)',
        rate(12_000, Y),
        rate(1_001),
        'upgrade',
      ],
      ['yearly 120.00 → monthly 9.99', rate(12_000, Y), rate(999), 'downgrade'],
      ['5 seats monthly → 5 seats yearly at 12×', rate(1_000, M, 5), rate(12_000, Y, 5), 'none'],
      ['5 seats monthly → 6 seats yearly at 10×', rate(1_000, M, 5), rate(10_000, Y, 6), 'none'],
    ] as const)('%s is %s', (_, from, to, direction) => {
      expect(changeDirection(from, to)).toBe(direction);
    });
  });

  it('agrees with an exact comparison of annualised cost, and is antisymmetric', () => {
    const annualised = (r: Rate) => BigInt(periodAmount(r)) * (r.interval === M ? 12n : 1n);
    fc.assert(
      fc.property(rateArb(), rateArb(), (from, to) => {
        const a = annualised(from);
        const b = annualised(to);
        const expected = b > a ? 'upgrade' : b < a ? 'downgrade' : 'none';
        const mirrored = { upgrade: 'downgrade', downgrade: 'upgrade', none: 'none' } as const;
        expect(changeDirection(from, to)).toBe(expected);
        expect(changeDirection(to, from)).toBe(mirrored[expected]);
      }),
      { numRuns: 1_000 },
    );
  });
});

// ------------------------------------------------------- periodBoundary/nextBoundary

describe('periodBoundary', () => {
  it('keeps a subscription anchored on the 31st on the last day of shorter months, never drifting', () => {
    const anchor = at('2025-01-31T00:00:00.000Z');
    const boundaries = [1, 2, 3, 4, 5, 12, 13].map((n) => iso(periodBoundary(anchor, M, n)));
    expect(boundaries).toEqual([
      '2025-02-28T00:00:00.000Z',
      '2025-03-31T00:00:00.000Z',
      '2025-04-30T00:00:00.000Z',
      '2025-05-31T00:00:00.000Z',
      '2025-06-30T00:00:00.000Z',
      '2026-01-31T00:00:00.000Z',
      '2026-02-28T00:00:00.000Z',
    ]);
  });

  it('uses Feb 29 in a leap year', () => {
    const anchor = at('2024-01-31T00:00:00.000Z');
    expect(iso(periodBoundary(anchor, M, 1))).toBe('2024-02-29T00:00:00.000Z');
    expect(iso(periodBoundary(anchor, M, 2))).toBe('2024-03-31T00:00:00.000Z');
    expect(iso(periodBoundary(at('2024-01-30T00:00:00.000Z'), M, 1))).toBe(
      '2024-02-29T00:00:00.000Z',
    );
    expect(iso(periodBoundary(at('2024-01-29T00:00:00.000Z'), M, 1))).toBe(
      '2024-02-29T00:00:00.000Z',
    );
    // 2100 is not a leap year; 2000 was.
    expect(iso(periodBoundary(at('2100-01-31T00:00:00.000Z'), M, 1))).toBe(
      '2100-02-28T00:00:00.000Z',
    );
    expect(iso(periodBoundary(at('2000-01-31T00:00:00.000Z'), M, 1))).toBe(
      '2000-02-29T00:00:00.000Z',
    );
  });

  it('keeps the 30th on the 30th after February', () => {
    const anchor = at('2025-01-30T00:00:00.000Z');
    expect(iso(periodBoundary(anchor, M, 1))).toBe('2025-02-28T00:00:00.000Z');
    expect(iso(periodBoundary(anchor, M, 2))).toBe('2025-03-30T00:00:00.000Z');
  });

  it('rolls over the year', () => {
    expect(iso(periodBoundary(at('2025-12-15T00:00:00.000Z'), M, 1))).toBe(
      '2026-01-15T00:00:00.000Z',
    );
    expect(iso(periodBoundary(at('2025-11-30T00:00:00.000Z'), M, 3))).toBe(
      '2026-02-28T00:00:00.000Z',
    );
    expect(iso(periodBoundary(at('2025-12-31T00:00:00.000Z'), M, 25))).toBe(
      '2028-01-31T00:00:00.000Z',
    );
  });

  it('bills a yearly subscription started on Feb 29 on Feb 28, and on Feb 29 in leap years', () => {
    const anchor = at('2024-02-29T09:30:00.000Z');
    expect([1, 2, 3, 4, 8].map((n) => iso(periodBoundary(anchor, Y, n)))).toEqual([
      '2025-02-28T09:30:00.000Z',
      '2026-02-28T09:30:00.000Z',
      '2027-02-28T09:30:00.000Z',
      '2028-02-29T09:30:00.000Z',
      '2032-02-29T09:30:00.000Z',
    ]);
  });

  it('counts a year as twelve months', () => {
    const anchor = at('2025-03-31T12:00:00.000Z');
    expect(iso(periodBoundary(anchor, Y, 1))).toBe(iso(periodBoundary(anchor, M, 12)));
    expect(iso(periodBoundary(anchor, Y, 3))).toBe(iso(periodBoundary(anchor, M, 36)));
  });

  it('returns the anchor itself for count 0', () => {
    const anchor = at('2025-01-31T23:59:59.999Z');
    expect(iso(periodBoundary(anchor, M, 0))).toBe(iso(anchor));
    expect(iso(periodBoundary(anchor, Y, 0))).toBe(iso(anchor));
  });

  it('keeps the time of day, to the millisecond', () => {
    const anchor = at('2025-01-31T23:59:59.999Z');
    expect(iso(periodBoundary(anchor, M, 1))).toBe('2025-02-28T23:59:59.999Z');
    expect(iso(periodBoundary(anchor, Y, 1))).toBe('2026-01-31T23:59:59.999Z');
  });

  it('works in UTC whatever the process time zone', () => {
    const saved = process.env.TZ;
    const compute = () =>
      [
        periodBoundary(at('2025-01-31T23:30:00.000Z'), M, 1),
        periodBoundary(at('2025-03-01T00:30:00.000Z'), M, 1),
        periodBoundary(at('2024-02-29T23:00:00.000Z'), Y, 1),
      ].map(iso);
    try {
      const results = ['UTC', 'Pacific/Kiritimati', 'America/Los_Angeles', 'Europe/Berlin'].map(
        (tz) => {
          process.env.TZ = tz;
          return compute();
        },
      );
      for (const result of results) {
        expect(result).toEqual([
          '2025-02-28T23:30:00.000Z',
          '2025-04-01T00:30:00.000Z',
          '2025-02-28T23:00:00.000Z',
        ]);
      }
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('lands on the anchor day (or the month end), at the anchor time, count periods later, strictly increasing', () => {
    fc.assert(
      fc.property(instantArb, intervalArb, fc.nat(600), (anchor, interval, count) => {
        const boundary = periodBoundary(anchor, interval, count);
        const months = anchor.getUTCMonth() + (interval === Y ? 12 * count : count);
        const year = anchor.getUTCFullYear() + Math.floor(months / 12);
        const month = months % 12;
        expect(boundary.getUTCFullYear()).toBe(year);
        expect(boundary.getUTCMonth()).toBe(month);
        expect(boundary.getUTCDate()).toBe(Math.min(anchor.getUTCDate(), daysInMonth(year, month)));
        expect(boundary.getTime() % 86_400_000).toBe(anchor.getTime() % 86_400_000);
        expect(periodBoundary(anchor, interval, count + 1).getTime()).toBeGreaterThan(
          boundary.getTime(),
        );
      }),
      { numRuns: 1_000 },
    );
  });
});

describe('nextBoundary', () => {
  const anchor = at('2025-01-31T10:00:00.000Z');

  it.each([
    ['the anchor itself', '2025-01-31T10:00:00.000Z', '2025-02-28T10:00:00.000Z'],
    ['a moment before the first boundary', '2025-02-28T09:59:59.999Z', '2025-02-28T10:00:00.000Z'],
    [
      'exactly a boundary (the next one, strictly after)',
      '2025-02-28T10:00:00.000Z',
      '2025-03-31T10:00:00.000Z',
    ],
    ['a day in March', '2025-03-15T00:00:00.000Z', '2025-03-31T10:00:00.000Z'],
    ['a day in a later year', '2027-02-28T11:00:00.000Z', '2027-03-31T10:00:00.000Z'],
  ])('after %s is %s', (_, after, expected) => {
    expect(iso(nextBoundary(anchor, M, at(after)))).toBe(expected);
  });

  it('finds yearly boundaries from Feb 29', () => {
    const leap = at('2024-02-29T00:00:00.000Z');
    expect(iso(nextBoundary(leap, Y, at('2025-02-28T00:00:00.000Z')))).toBe(
      '2026-02-28T00:00:00.000Z',
    );
    expect(iso(nextBoundary(leap, Y, at('2027-03-01T00:00:00.000Z')))).toBe(
      '2028-02-29T00:00:00.000Z',
    );
  });

  it('is the first boundary strictly after the instant', () => {
    fc.assert(
      fc.property(
        instantArb,
        intervalArb,
        fc.integer({ min: 0, max: 10 * 366 * 86_400_000 }),
        (from, interval, offset) => {
          const after = plusMs(from, offset);
          const next = nextBoundary(from, interval, after);
          expect(next.getTime()).toBeGreaterThan(after.getTime());
          let count = 1;
          while (periodBoundary(from, interval, count).getTime() !== next.getTime()) count++;
          expect(periodBoundary(from, interval, count - 1).getTime()).toBeLessThanOrEqual(
            after.getTime(),
          );
        },
      ),
      { numRuns: 500 },
    );
  });
});

// ------------------------------------------------------------------ unusedAmount

describe('unusedAmount', () => {
  // January 2025: 31 days, so 31.00 is 1.00 a day.
  const start = at('2025-01-01T00:00:00.000Z');
  const end = at('2025-02-01T00:00:00.000Z');

  it.each([
    ['a year before the period', '2024-01-01T00:00:00.000Z', 3_100],
    ['at the start (all of it)', '2025-01-01T00:00:00.000Z', 3_100],
    ['one day in', '2025-01-02T00:00:00.000Z', 3_000],
    ['half way', '2025-01-16T12:00:00.000Z', 1_550],
    ['one day left', '2025-01-31T00:00:00.000Z', 100],
    ['one second left', '2025-01-31T23:59:59.000Z', 0],
    ['at the end (none of it)', '2025-02-01T00:00:00.000Z', 0],
    ['after the end', '2025-03-01T00:00:00.000Z', 0],
  ])('of 31.00 for January, %s, is %i', (_, instant, expected) => {
    expect(unusedAmount(3_100, start, end, at(instant))).toBe(expected);
  });

  it('is 0 of a free price', () => {
    expect(unusedAmount(0, start, end, at('2025-01-10T00:00:00.000Z'))).toBe(0);
  });

  it('rounds half up', () => {
    const s = at('2025-01-01T00:00:00.000Z');
    const sec = (n: number) => plusMs(s, n * 1000);
    expect(unusedAmount(1, s, sec(2), sec(1))).toBe(1); // 0.5 → 1
    expect(unusedAmount(3, s, sec(2), sec(1))).toBe(2); // 1.5 → 2
    expect(unusedAmount(5, s, sec(4), sec(2))).toBe(3); // 2.5 → 3
    expect(unusedAmount(1, s, sec(3), sec(1))).toBe(1); // 0.67 → 1
    expect(unusedAmount(1, s, sec(3), sec(2))).toBe(0); // 0.33 → 0
    expect(unusedAmount(1, s, sec(4), sec(3))).toBe(0); // 0.25 → 0
    expect(unusedAmount(3, s, sec(4), sec(1))).toBe(2); // 2.25 → 2
    expect(unusedAmount(3, s, sec(4), sec(3))).toBe(1); // 0.75 → 1
  });

  it('counts whole seconds left: a part-second is not credited', () => {
    const s = at('2025-01-01T00:00:00.000Z');
    const e = plusMs(s, 10_000);
    expect(unusedAmount(10, s, e, plusMs(s, 1))).toBe(9);
    expect(unusedAmount(10, s, e, plusMs(s, 999))).toBe(9);
    expect(unusedAmount(10, s, e, plusMs(s, 1_000))).toBe(9);
    expect(unusedAmount(10, s, e, plusMs(s, 1_001))).toBe(8);
    expect(unusedAmount(10, s, e, plusMs(e, -1))).toBe(0);
    // Periods keep their anchor's milliseconds: 00:00:00.250 → 00:00:10.250 is ten seconds.
    expect(unusedAmount(10, plusMs(s, 250), plusMs(e, 250), plusMs(s, 5_250))).toBe(5);
  });

  it('is exact at the largest safe amount', () => {
    const s = at('2025-01-01T00:00:00.000Z');
    const max = Number.MAX_SAFE_INTEGER; // odd: half of it is a tie
    expect(unusedAmount(max, s, plusMs(s, 2_000), plusMs(s, 1_000))).toBe(2 ** 52);
    expect(unusedAmount(max, s, plusMs(s, 2_000), s)).toBe(max);
  });

  it.each([
    ['negative', -1],
    ['fractional', 10.5],
    ['NaN', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
    ['beyond 2^53', 2 ** 53],
  ])('rejects a %s amount', (_, amount) => {
    expect(() => unusedAmount(amount, start, end, start)).toThrow(RangeError);
  });

  it.each([
    ['empty', start, start],
    ['reversed', end, start],
    ['shorter than a second', start, plusMs(start, 999)],
  ])('rejects an %s period', (_, s, e) => {
    expect(() => unusedAmount(100, s, e, s)).toThrow(/the period must end after it starts/);
  });

  describe('properties', () => {
    const caseArb = fc
      .record({
        amount: fc.oneof(fc.integer({ min: 0, max: 10_000_000_000 }), fc.maxSafeNat()),
        start: instantArb,
        lengthMs: fc.oneof(
          fc.integer({ min: 1_000, max: 10_000 }),
          fc.integer({ min: 1_000, max: 400 * 86_400_000 }),
        ),
      })
      .chain((c) =>
        fc.record({
          amount: fc.constant(c.amount),
          start: fc.constant(c.start),
          end: fc.constant(plusMs(c.start, c.lengthMs)),
          // From before the start to after the end, at any millisecond.
          at: fc.integer({ min: -c.lengthMs, max: 2 * c.lengthMs }).map((o) => plusMs(c.start, o)),
          later: fc
            .integer({ min: -c.lengthMs, max: 2 * c.lengthMs })
            .map((o) => plusMs(c.start, o)),
        }),
      );

    it('lies in [0, amount], within half a minor unit of the exact value, rounding ties up', () => {
      fc.assert(
        fc.property(caseArb, ({ amount, start: s, end: e, at: t }) => {
          const unused = unusedAmount(amount, s, e, t);
          expect(Number.isSafeInteger(unused)).toBe(true);
          expect(unused).toBeGreaterThanOrEqual(0);
          expect(unused).toBeLessThanOrEqual(amount);
          // exact = amount × left / total; 2·total·(unused − exact) ∈ (−total, total].
          const total = secondsOf(s, e);
          const rawLeft = secondsOf(t, e);
          const left = rawLeft < 0n ? 0n : rawLeft > total ? total : rawLeft;
          const error = 2n * total * BigInt(unused) - 2n * BigInt(amount) * left;
          expect(error > -total && error <= total).toBe(true);
          if (t <= s) expect(unused).toBe(amount);
          if (t >= e) expect(unused).toBe(0);
        }),
        { numRuns: 1_500 },
      );
    });

    it('never grows as time passes', () => {
      fc.assert(
        fc.property(caseArb, ({ amount, start: s, end: e, at: a, later: b }) => {
          const [t1, t2] = a <= b ? [a, b] : [b, a];
          expect(unusedAmount(amount, s, e, t1)).toBeGreaterThanOrEqual(
            unusedAmount(amount, s, e, t2),
          );
        }),
        { numRuns: 1_500 },
      );
    });

    it('never shrinks as the amount grows (so an upgrade never credits more than it debits)', () => {
      fc.assert(
        fc.property(caseArb, fc.nat(10_000_000), ({ amount, start: s, end: e, at: t }, extra) => {
          const bigger = Math.min(amount + extra, Number.MAX_SAFE_INTEGER);
          expect(unusedAmount(bigger, s, e, t)).toBeGreaterThanOrEqual(
            unusedAmount(amount, s, e, t),
          );
        }),
        { numRuns: 1_000 },
      );
    });
  });
});

// -------------------------------------------------------------------- planChange

describe('planChange', () => {
  // January 2025: 31 days; at Jan 11 00:00, 21 days are left.
  const period = { start: at('2025-01-01T00:00:00.000Z'), end: at('2025-02-01T00:00:00.000Z') };
  const jan11 = at('2025-01-11T00:00:00.000Z');

  describe('within the same interval', () => {
    it('credits the unused old time and debits the same time at the new price (an upgrade)', () => {
      const from = rate(3_100);
      const to = rate(6_200);
      expect(planChange(from, to, period, jan11)).toEqual({
        timing: 'now',
        direction: 'upgrade',
        lines: [
          {
            kind: 'proration_credit',
            amount: -2_100,
            rate: from,
            periodStart: jan11,
            periodEnd: period.end,
          },
          {
            kind: 'proration_debit',
            amount: 4_200,
            rate: to,
            periodStart: jan11,
            periodEnd: period.end,
          },
        ],
        net: 2_100,
        periodStart: period.start,
        periodEnd: period.end,
      });
    });

    it('gives a negative net for a downgrade, to credit to the next invoice', () => {
      const plan = planChange(rate(6_200), rate(3_100), period, jan11);
      expect(plan.direction).toBe('downgrade');
      expect(plan.lines.map((l) => l.amount)).toEqual([-4_200, 2_100]);
      expect(plan.net).toBe(-2_100);
    });

    it('prices seat changes', () => {
      const plan = planChange(
        rate(1_000, M, 10),
        rate(1_000, M, 12),
        period,
        at('2025-01-16T12:00:00.000Z'),
      );
      expect(plan.direction).toBe('upgrade');
      expect(plan.lines.map((l) => l.amount)).toEqual([-5_000, 6_000]);
      expect(plan.net).toBe(1_000);
    });

    it('can net 0 for an upgrade near the end of the period, where both sides round alike', () => {
      const plan = planChange(rate(3_100), rate(3_200), period, plusMs(period.end, -60_000));
      expect(plan.direction).toBe('upgrade');
      expect(plan.lines.map((l) => l.amount)).toEqual([0, 0]); // 0.07 and 0.07 of a cent
      expect(plan.net).toBe(0);
    });

    it('re-prices the whole period at its start', () => {
      const plan = planChange(rate(3_100), rate(6_200), period, period.start);
      expect(plan.lines.map((l) => l.amount)).toEqual([-3_100, 6_200]);
    });

    it('nets to 0 for a change of the same daily cost', () => {
      const plan = planChange(rate(2_000, M, 1), rate(1_000, M, 2), period, jan11);
      expect(plan.direction).toBe('none');
      expect(plan.net).toBe(0);
    });

    it('re-prices a yearly period the same way', () => {
      const year = { start: at('2025-01-01T00:00:00.000Z'), end: at('2026-01-01T00:00:00.000Z') };
      const plan = planChange(rate(36_500, Y), rate(73_000, Y), year, plusDays(year.start, 100));
      expect(plan.timing).toBe('now');
      expect(plan.lines.map((l) => l.amount)).toEqual([-26_500, 53_000]);
      expect(plan.net).toBe(26_500);
    });

    it('credits 0, not -0, when nothing is unused (a free plan, the last second)', () => {
      // -0 prints as "-$0.00" and fails Object.is / toEqual against 0.
      const plan = planChange(rate(0), rate(3_100), period, jan11);
      expect(plan.lines[0].amount).toBe(0);
      expect(plan.lines[1].amount).toBe(2_100);
      expect(plan.net).toBe(2_100);
      const lastSecond = planChange(rate(3_100), rate(0), period, plusMs(period.end, -500));
      expect(lastSecond.lines.map((l) => l.amount)).toEqual([0, 0]);
      expect(lastSecond.net).toBe(0);
    });
  });

  describe('monthly → yearly', () => {
    const at10am = at('2025-01-11T10:00:00.000Z');

    it('restarts: a new yearly period from now, billed in full, less the unused month', () => {
      const from = rate(3_100);
      const to = rate(40_000, Y);
      const plan = planChange(from, to, period, at10am);
      const credit = -unusedAmount(3_100, period.start, period.end, at10am);
      expect(credit).toBe(-2_058); // 20 days 14 hours of 31 days: 2058.33
      expect(plan).toEqual({
        timing: 'restart',
        direction: 'upgrade',
        lines: [
          {
            kind: 'proration_credit',
            amount: credit,
            rate: from,
            periodStart: at10am,
            periodEnd: period.end,
          },
          {
            kind: 'proration_debit',
            amount: 40_000,
            rate: to,
            periodStart: at10am,
            periodEnd: at('2026-01-11T10:00:00.000Z'),
          },
        ],
        net: 40_000 + credit,
        periodStart: at10am,
        periodEnd: at('2026-01-11T10:00:00.000Z'),
      });
    });

    it('restarts even when the yearly price is cheaper per day (the interval decides the timing)', () => {
      const plan = planChange(rate(3_100), rate(36_500, Y), period, at10am);
      expect(plan.direction).toBe('downgrade');
      expect(plan.timing).toBe('restart');
      expect(plan.net).toBe(36_500 - 2_058);
    });

    it('starts a year anchored on a Feb 29 change at Feb 28 next year', () => {
      const feb = { start: at('2024-02-01T00:00:00.000Z'), end: at('2024-03-01T00:00:00.000Z') };
      const plan = planChange(rate(2_900), rate(30_000, Y), feb, at('2024-02-29T00:00:00.000Z'));
      expect(iso(plan.periodEnd)).toBe('2025-02-28T00:00:00.000Z');
      expect(plan.lines.map((l) => l.amount)).toEqual([-100, 30_000]);
    });
  });

  describe('yearly → monthly', () => {
    const year = { start: at('2025-01-01T00:00:00.000Z'), end: at('2026-01-01T00:00:00.000Z') };

    it.each([
      ['a cheaper', 500, 'downgrade'],
      ['a dearer', 5_000, 'upgrade'],
    ] as const)(
      'defers %s monthly price to the end of the paid year, with no lines',
      (_, monthly, direction) => {
        expect(
          planChange(rate(36_500, Y), rate(monthly), year, at('2025-06-01T00:00:00.000Z')),
        ).toEqual({
          timing: 'period_end',
          direction,
          lines: [],
          net: 0,
          periodStart: year.start,
          periodEnd: year.end,
        });
      },
    );
  });

  it.each([
    ['before the period', '2024-12-31T23:59:59.999Z'],
    ['at its end', '2025-02-01T00:00:00.000Z'],
    ['after it', '2025-03-01T00:00:00.000Z'],
  ])('rejects a change %s', (_, instant) => {
    for (const to of [rate(6_200), rate(40_000, Y)]) {
      expect(() => planChange(rate(3_100), to, period, at(instant))).toThrow(
        /a change must fall inside the current period/,
      );
    }
  });

  describe('properties', () => {
    const changeArb = periodArb().chain((p) =>
      fc.record({
        period: fc.constant(p),
        from: rateArb(fc.constant(p.interval)),
        to: rateArb(),
        at: offsetIn(p.end.getTime() - p.start.getTime()).map((o) => plusMs(p.start, o)),
      }),
    );

    it('lines add up to the net, credit ≤ 0 ≤ debit, every amount a safe integer', () => {
      fc.assert(
        fc.property(changeArb, ({ period: p, from, to, at: t }) => {
          const plan = planChange(from, to, p, t);
          expect(plan.direction).toBe(changeDirection(from, to));
          for (const n of [plan.net, ...plan.lines.map((l) => l.amount)]) {
            expect(Number.isSafeInteger(n)).toBe(true);
            expect(Object.is(n, -0)).toBe(false);
          }
          expect(plan.net).toBe(plan.lines.reduce((sum, l) => sum + l.amount, 0));
          if (from.interval === to.interval) expect(plan.timing).toBe('now');
          else expect(plan.timing).toBe(to.interval === Y ? 'restart' : 'period_end');
          if (plan.timing === 'period_end') {
            expect(plan.lines).toEqual([]);
            expect(plan.net).toBe(0);
            return;
          }
          const [credit, debit] = plan.lines;
          expect(credit.kind).toBe('proration_credit');
          expect(debit.kind).toBe('proration_debit');
          expect(credit.amount).toBeLessThanOrEqual(0);
          expect(credit.amount).toBeGreaterThanOrEqual(-periodAmount(from));
          expect(debit.amount).toBeGreaterThanOrEqual(0);
          expect(debit.amount).toBeLessThanOrEqual(periodAmount(to));
          expect(credit.periodStart).toBe(t);
          expect(debit.periodStart).toBe(t);
          if (plan.timing === 'restart') {
            expect(debit.amount).toBe(periodAmount(to));
            expect(plan.periodStart).toBe(t);
            expect(iso(plan.periodEnd)).toBe(iso(periodBoundary(t, Y, 1)));
          }
        }),
        { numRuns: 1_000 },
      );
    });

    it('same interval: an upgrade never credits, a downgrade never charges, no change nets 0', () => {
      fc.assert(
        fc.property(changeArb, ({ period: p, from, to, at: t }) => {
          const same = { ...to, interval: from.interval };
          const plan = planChange(from, same, p, t);
          // Not ⇔: at the very end of a period both sides can round to the same amount.
          if (plan.direction === 'upgrade') expect(plan.net).toBeGreaterThanOrEqual(0);
          if (plan.direction === 'downgrade') expect(plan.net).toBeLessThanOrEqual(0);
          if (plan.direction === 'none') expect(plan.net).toBe(0);
          if (plan.net > 0) expect(plan.direction).toBe('upgrade');
          if (plan.net < 0) expect(plan.direction).toBe('downgrade');
        }),
        { numRuns: 1_000 },
      );
    });

    it('changing there and straight back nets exactly 0', () => {
      fc.assert(
        fc.property(changeArb, ({ period: p, from, to, at: t }) => {
          const same = { ...to, interval: from.interval };
          expect(planChange(from, same, p, t).net + planChange(same, from, p, t).net).toBe(0);
        }),
        { numRuns: 1_000 },
      );
    });
  });
});

// ------------------------------------------- proration totals add up, to the cent

describe('billing a period through a sequence of plan changes', () => {
  /**
   * The period's first amount, then each change's credit and debit lines, as
   * an invoice ledger records them. Instants are whole seconds after the
   * period start, so "exact" below is the true rational value.
   */
  const scenarioArb = periodArb().chain((p) => {
    const seconds = (p.end.getTime() - p.start.getTime()) / 1000;
    return fc.record({
      period: fc.constant(p),
      first: rateArb(fc.constant(p.interval)),
      changes: fc
        .uniqueArray(
          fc.oneof(
            fc.integer({ min: 0, max: seconds - 1 }),
            fc.integer({ min: seconds - 10, max: seconds - 1 }),
          ),
          { maxLength: 30 },
        )
        .map((offsets) => [...offsets].sort((a, b) => a - b))
        .chain((offsets) =>
          fc.tuple(
            ...offsets.map((offset) =>
              fc.record({
                offset: fc.constant(offset),
                rate: rateArb(fc.constant(p.interval)),
              }),
            ),
          ),
        ),
    });
  });

  it('totals exactly the telescoped sum of each price over its time, ≥ 0 per price, within k minor units of exact', () => {
    fc.assert(
      fc.property(scenarioArb, ({ period: p, first, changes }) => {
        const rates = [first, ...changes.map((c) => c.rate)];
        const instants = [p.start, ...changes.map((c) => plusMs(p.start, c.offset * 1000)), p.end];
        const k = changes.length;

        // The ledger, line by line; the running balance never goes below zero
        // (no credit beyond what was billed).
        let billed = periodAmount(first);
        for (let i = 1; i <= k; i++) {
          const plan = planChange(rates[i - 1], rates[i], p, instants[i]);
          expect(plan.timing).toBe('now');
          for (const line of plan.lines) {
            expect(Number.isSafeInteger(line.amount)).toBe(true);
            billed += line.amount;
            expect(Number.isSafeInteger(billed)).toBe(true);
            expect(billed).toBeGreaterThanOrEqual(0);
          }
        }

        // (a) exactly the telescoped sum; (b) each price's share is ≥ 0.
        const unused = (i: number, t: number) =>
          t === 0
            ? periodAmount(rates[i])
            : unusedAmount(periodAmount(rates[i]), p.start, p.end, instants[t]);
        let telescoped = 0;
        for (let i = 0; i <= k; i++) {
          const share = unused(i, i) - unused(i, i + 1);
          expect(share).toBeGreaterThanOrEqual(0);
          expect(share).toBeLessThanOrEqual(periodAmount(rates[i]));
          telescoped += share;
        }
        expect(billed).toBe(telescoped);

        // (c) |billed − Σ full_i × len_i / len| ≤ k: each of the 2k prorated
        // lines is off by at most half a minor unit (the brief allows k + 1).
        const len = secondsOf(p.start, p.end);
        let exactTimesLen = 0n;
        for (let i = 0; i <= k; i++) {
          exactTimesLen += BigInt(periodAmount(rates[i])) * secondsOf(instants[i], instants[i + 1]);
        }
        expect(abs(BigInt(billed) * len - exactTimesLen) <= BigInt(k) * len).toBe(true);

        // No loop of changes pays less than the cheapest price held (or more
        // than the dearest), beyond that rounding.
        const amounts = rates.map(periodAmount);
        expect(billed).toBeGreaterThanOrEqual(Math.min(...amounts) - k);
        expect(billed).toBeLessThanOrEqual(Math.max(...amounts) + k);
      }),
      { numRuns: 500 },
    );
  });

  it('flipping between two prices cannot earn a credit (the proration loop)', () => {
    fc.assert(
      fc.property(
        periodArb(fc.constant(M)),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 1, max: 5_000 }),
        (p, cheap, dear, flips, stepSeconds) => {
          const a = rate(Math.min(cheap, dear));
          const b = rate(Math.max(cheap, dear));
          let billed = periodAmount(a);
          let current = a;
          let t = p.start;
          let changes = 0;
          for (let i = 0; i < flips; i++) {
            t = plusMs(t, stepSeconds * 1000);
            if (t >= p.end) break;
            const next = current === a ? b : a;
            billed += planChange(current, next, p, t).net;
            current = next;
            changes++;
          }
          // Every price held costs at least the cheap one's share of the period.
          expect(billed).toBeGreaterThanOrEqual(Math.max(0, periodAmount(a) - changes));
        },
      ),
      { numRuns: 500 },
    );
  });
});
