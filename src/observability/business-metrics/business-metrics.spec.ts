import {
  annualAmount,
  arpaOf,
  daysInclusive,
  divRoundHalfAway,
  histogramQuantile,
  isExcludedRoute,
  meets,
  mrrOf,
  netRevenueChurn,
  parseDay,
  ratio,
  revenueMovement,
  roundTo,
  TARGETS,
} from './business-metrics';

describe('business metrics arithmetic', () => {
  describe('ratio', () => {
    it('rounds to 4 decimals half away from zero, exactly', () => {
      expect(ratio(1, 3)).toBe(0.3333);
      expect(ratio(2, 3)).toBe(0.6667);
      // 1/8 = 0.125 → 2 decimals: half away from zero.
      expect(ratio(1, 8, 2)).toBe(0.13);
      expect(ratio(-1, 8, 2)).toBe(-0.13);
      // 0.00005 exactly is a half: away from zero.
      expect(ratio(1, 20_000)).toBe(0.0001);
      expect(ratio(1, 20_001)).toBe(0);
      expect(ratio(49, 50)).toBe(0.98);
      expect(ratio(5, 5)).toBe(1);
      expect(ratio(0, 7)).toBe(0);
    });

    it('is null without a basis', () => {
      expect(ratio(0, 0)).toBeNull();
      expect(ratio(3, 0n)).toBeNull();
    });

    it('takes bigints beyond 2^53', () => {
      expect(ratio(2n ** 60n, 2n ** 61n)).toBe(0.5);
    });
  });

  it('divRoundHalfAway', () => {
    expect(divRoundHalfAway(7n, 2n)).toBe(4n);
    expect(divRoundHalfAway(-7n, 2n)).toBe(-4n);
    expect(divRoundHalfAway(5n, 3n)).toBe(2n);
    expect(divRoundHalfAway(4n, 3n)).toBe(1n);
    expect(divRoundHalfAway(7n, -2n)).toBe(-4n);
    expect(() => divRoundHalfAway(1n, 0n)).toThrow(RangeError);
  });

  it('roundTo goes through decimal text (1.005 → 1.01, not 1.00)', () => {
    expect(roundTo(1.005, 2)).toBe(1.01);
    expect(roundTo(449.99999999999994, 1)).toBe(450);
    expect(roundTo(-2.5, 0)).toBe(-3);
    expect(roundTo(0, 1)).toBe(0);
  });

  it('meets: strict comparison, null without a value or a target', () => {
    expect(meets(0.06, TARGETS.subscription_conversion_rate)).toBe(true);
    expect(meets(0.05, TARGETS.subscription_conversion_rate)).toBe(false);
    expect(meets(5, TARGETS.support_tickets_per_100_active_users)).toBe(false);
    expect(meets(4.99, TARGETS.support_tickets_per_100_active_users)).toBe(true);
    expect(meets(null, TARGETS.payment_success_rate)).toBeNull();
    expect(meets(1, null)).toBeNull();
  });

  describe('money', () => {
    it('annualises month prices × 12 and keeps year prices, per seat', () => {
      expect(annualAmount('month', 2900, 3)).toBe(104_400n);
      expect(annualAmount('year', 29_000, 2)).toBe(58_000n);
    });

    it('MRR rounds once, at the end: a yearly price not divisible by 12', () => {
      // 1000.5 cents / month from one yearly 12 006, plus 2 900: 3 900.5 → 3 901.
      const annual = annualAmount('year', 12_006, 1) + annualAmount('month', 2900, 1);
      expect(mrrOf(annual)).toBe(3901);
      // Rounding each subscription first would give 1001 + 2900 = 3901 here but not for two of them:
      // 2 × 12 006 / 12 = 2001 exactly, while 2 × round(1000.5) = 2002.
      expect(mrrOf(annualAmount('year', 12_006, 1) * 2n)).toBe(2001);
      expect(mrrOf(5n)).toBe(0);
      expect(mrrOf(6n)).toBe(1);
    });

    it('ARPA = annual / (12 × accounts), rounded once; null without accounts', () => {
      expect(arpaOf(annualAmount('year', 12_006, 1) + annualAmount('month', 2900, 1), 2)).toBe(
        1950,
      ); // 46 806 / 24 = 1950.25
      expect(arpaOf(0n, 0)).toBeNull();
    });

    it('movement: churned, contraction, expansion and new, per account', () => {
      const movement = revenueMovement([
        { from: 12_000n, to: 0n }, // churned
        { from: 24_000n, to: 12_000n }, // contraction 12 000
        { from: 12_000n, to: 36_000n }, // expansion 24 000
        { from: 0n, to: 6_000n }, // new
        { from: 10_000n, to: 10_000n }, // unchanged
        { from: 0n, to: 0n }, // never paid
      ]);
      expect(movement).toEqual({
        startAnnual: 58_000n,
        endAnnual: 64_000n,
        churnedAnnual: 12_000n,
        contractionAnnual: 12_000n,
        expansionAnnual: 24_000n,
        newAnnual: 6_000n,
        payingAccounts: 4,
      });
      // (12 000 + 12 000 − 24 000) / 58 000 = 0.
      expect(netRevenueChurn(movement)).toBe(0);
      expect(
        netRevenueChurn(
          revenueMovement([
            { from: 30_000n, to: 0n },
            { from: 90_000n, to: 90_000n },
          ]),
        ),
      ).toBe(0.25);
      // Expansion beyond losses: negative churn.
      expect(netRevenueChurn(revenueMovement([{ from: 30_000n, to: 40_000n }]))).toBe(-0.3333);
      expect(netRevenueChurn(revenueMovement([{ from: 0n, to: 40_000n }]))).toBeNull();
    });
  });

  describe('histogramQuantile (PromQL semantics)', () => {
    const buckets = (pairs: [number, number][]) => pairs.map(([le, count]) => ({ le, count }));
    // Observations 0.02, 0.04, 0.2, 0.3 (seconds).
    const four = buckets([
      [0.005, 0],
      [0.01, 0],
      [0.025, 1],
      [0.05, 2],
      [0.1, 2],
      [0.25, 3],
      [0.5, 4],
      [1, 4],
      [Infinity, 4],
    ]);

    it('interpolates linearly inside the bucket the rank falls in', () => {
      // rank 3.8 in (0.25, 0.5]: 0.25 + 0.25 × (0.8 / 1).
      expect(histogramQuantile(0.95, four)).toBeCloseTo(0.45, 12);
      // rank 2 reaches the (0.025, 0.05] bucket's count exactly: its upper bound.
      expect(histogramQuantile(0.5, four)).toBe(0.05);
      // rank 1 in the first non-empty bucket (0.01, 0.025]: start 0.01, 1/1 of the way.
      expect(histogramQuantile(0.25, four)).toBeCloseTo(0.025, 12);
      // rank 0.4 in (0.01, 0.025]: 0.01 + 0.015 × 0.4.
      expect(histogramQuantile(0.1, four)).toBeCloseTo(0.016, 12);
    });

    it('the first bucket interpolates from 0', () => {
      expect(
        histogramQuantile(
          0.5,
          buckets([
            [0.1, 10],
            [Infinity, 10],
          ]),
        ),
      ).toBeCloseTo(0.05, 12);
    });

    it('a rank in the +Inf bucket answers the highest finite bound', () => {
      expect(
        histogramQuantile(
          0.99,
          buckets([
            [0.1, 1],
            [1, 1],
            [Infinity, 10],
          ]),
        ),
      ).toBe(1);
    });

    it('no observation, no +Inf bucket or too few buckets: null; q outside [0, 1]: ±Infinity', () => {
      expect(
        histogramQuantile(
          0.95,
          buckets([
            [0.1, 0],
            [Infinity, 0],
          ]),
        ),
      ).toBeNull();
      expect(histogramQuantile(0.95, buckets([[0.1, 3]]))).toBeNull();
      expect(histogramQuantile(0.95, buckets([[Infinity, 3]]))).toBeNull();
      expect(histogramQuantile(-0.1, four)).toBe(-Infinity);
      expect(histogramQuantile(1.1, four)).toBe(Infinity);
    });

    it('unsorted input and non-monotonic counts are handled as PromQL does', () => {
      const shuffled = [...four].reverse();
      expect(histogramQuantile(0.95, shuffled)).toBeCloseTo(0.45, 12);
      expect(
        histogramQuantile(
          0.5,
          buckets([
            [0.1, 2],
            [0.2, 1], // fixed up to 2
            [Infinity, 4],
          ]),
        ),
      ).toBe(0.1);
    });
  });

  it('excludes probes and scrapes from latency', () => {
    expect(isExcludedRoute('/health')).toBe(true);
    expect(isExcludedRoute('/health/ready')).toBe(true);
    expect(isExcludedRoute('/metrics')).toBe(true);
    expect(isExcludedRoute('/v1/healthcheck')).toBe(false);
    expect(isExcludedRoute('/v1/tickets/:id')).toBe(false);
  });

  it('parseDay accepts real calendar days only', () => {
    expect(parseDay('2031-02-28')?.toISOString()).toBe('2031-02-28T00:00:00.000Z');
    expect(parseDay('2031-02-29')).toBeNull();
    expect(parseDay('2031-2-3')).toBeNull();
    expect(parseDay('2031-02-03T00:00:00Z')).toBeNull();
    expect(daysInclusive(parseDay('2031-01-01')!, parseDay('2031-12-31')!)).toBe(365);
    expect(daysInclusive(parseDay('2032-01-01')!, parseDay('2032-12-31')!)).toBe(366);
  });
});
