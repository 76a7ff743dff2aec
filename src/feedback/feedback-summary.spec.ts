import fc from 'fast-check';
import { FeedbackCategory, FeedbackKind } from './feedback-rules';
import { roundRatio, ScoreCount, summarize } from './feedback-summary';

const nps = (score: number, count = 1, category = FeedbackCategory.Other): ScoreCount => ({
  kind: FeedbackKind.Nps,
  score,
  category,
  count,
});
const rating = (score: number, count = 1, category = FeedbackCategory.Other): ScoreCount => ({
  kind: FeedbackKind.Rating,
  score,
  category,
  count,
});

describe('roundRatio', () => {
  it('rounds half away from zero', () => {
    expect(roundRatio(1, 8, 2)).toBe(0.13); // 0.125
    expect(roundRatio(-1, 8, 2)).toBe(-0.13);
    expect(roundRatio(1, 3, 1)).toBe(0.3);
    expect(roundRatio(2, 3, 1)).toBe(0.7);
    expect(roundRatio(-200, 3, 1)).toBe(-66.7);
    expect(roundRatio(100, 8, 1)).toBe(12.5);
    expect(roundRatio(5, 2, 0)).toBe(3);
    expect(roundRatio(-5, 2, 0)).toBe(-3);
    expect(roundRatio(0, 7, 1)).toBe(0);
    expect(Object.is(roundRatio(-1, 1000, 1), 0)).toBe(true); // never -0
  });

  it('refuses what it cannot compute exactly', () => {
    expect(() => roundRatio(1, 0, 1)).toThrow(RangeError);
    expect(() => roundRatio(1.5, 2, 1)).toThrow(RangeError);
  });

  it('is within half a unit of the exact ratio, and symmetric in sign', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1e7, max: 1e7 }), fc.integer({ min: 1, max: 1e6 }), (n, d) => {
        const r = roundRatio(n, d, 1);
        // In tenths, with integers only: |n/d − t/10| ≤ 1/20  ⇔  |20n − 2td| ≤ d.
        const tenths = Math.round(r * 10);
        expect(Math.abs(20 * n - 2 * tenths * d)).toBeLessThanOrEqual(d);
        expect(roundRatio(-n, d, 1)).toBe(-r + 0);
      }),
    );
  });
});

describe('summarize', () => {
  it('is all zeros and nulls without feedback', () => {
    const summary = summarize([]);
    expect(summary.responses).toBe(0);
    expect(summary.rating).toEqual({
      responses: 0,
      average: null,
      distribution: [1, 2, 3, 4, 5].map((score) => ({ score, count: 0 })),
    });
    expect(summary.nps).toEqual({
      responses: 0,
      promoters: 0,
      passives: 0,
      detractors: 0,
      score: null,
    });
    expect(summary.byKind).toEqual([
      { kind: 'rating', count: 0 },
      { kind: 'nps', count: 0 },
    ]);
    expect(summary.byCategory.map((c) => c.category)).toEqual(Object.values(FeedbackCategory));
    expect(summary.byCategory.every((c) => c.count === 0)).toBe(true);
  });

  it('classifies NPS answers: 9–10 promoters, 7–8 passives, 0–6 detractors', () => {
    const summary = summarize([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => nps(s)));
    expect(summary.nps).toEqual({
      responses: 11,
      promoters: 2,
      passives: 2,
      detractors: 7,
      // (2 - 7) / 11 = -45.4545…%
      score: -45.5,
    });
  });

  it('computes NPS as % promoters − % detractors, rounded to one decimal', () => {
    // 3 promoters, 2 passives, 1 detractor of 6: 50% − 16.67% = 33.33…
    expect(summarize([nps(10, 2), nps(9), nps(8), nps(7), nps(3)]).nps.score).toBe(33.3);
    // 1 promoter of 8, the rest passives: 12.5 exactly
    expect(summarize([nps(9), nps(7, 7)]).nps.score).toBe(12.5);
    // all promoters, all detractors
    expect(summarize([nps(10, 4)]).nps.score).toBe(100);
    expect(summarize([nps(0, 4)]).nps.score).toBe(-100);
  });

  it('averages ratings to two decimals and counts each score', () => {
    // (5*3 + 4 + 1*2) / 6 = 21 / 6 = 3.5
    const summary = summarize([rating(5, 3), rating(4), rating(1, 2)]);
    expect(summary.rating.average).toBe(3.5);
    expect(summary.rating.responses).toBe(6);
    expect(summary.rating.distribution).toEqual([
      { score: 1, count: 2 },
      { score: 2, count: 0 },
      { score: 3, count: 0 },
      { score: 4, count: 1 },
      { score: 5, count: 3 },
    ]);
    // 14 / 3 = 4.666… → 4.67
    expect(summarize([rating(5, 2), rating(4)]).rating.average).toBe(4.67);
  });

  it('counts per kind and category over both kinds, and keeps ratings out of NPS', () => {
    const summary = summarize([
      rating(5, 2, FeedbackCategory.Bug),
      rating(2, 1, FeedbackCategory.Billing),
      nps(10, 3, FeedbackCategory.Bug),
      nps(6, 1, FeedbackCategory.Performance),
    ]);
    expect(summary.responses).toBe(7);
    expect(summary.byKind).toEqual([
      { kind: 'rating', count: 3 },
      { kind: 'nps', count: 4 },
    ]);
    expect(Object.fromEntries(summary.byCategory.map((c) => [c.category, c.count]))).toEqual({
      bug: 5,
      feature_request: 0,
      billing: 1,
      support: 0,
      usability: 0,
      performance: 1,
      other: 0,
    });
    expect(summary.nps).toMatchObject({ responses: 4, promoters: 3, detractors: 1, score: 50 });
    expect(summary.rating.average).toBe(4);
  });
});
