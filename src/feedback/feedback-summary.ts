import { FeedbackCategory, FeedbackKind, SCORE_RANGE } from './feedback-rules';

/** One group of the summary query: how many responses had this kind, score and category. */
export interface ScoreCount {
  kind: FeedbackKind;
  score: number;
  category: FeedbackCategory;
  count: number;
}

export interface FeedbackSummary {
  responses: number;
  byKind: { kind: FeedbackKind; count: number }[];
  byCategory: { category: FeedbackCategory; count: number }[];
  rating: {
    responses: number;
    /** Mean of the 1–5 ratings, rounded half away from zero to 2 decimals; null without ratings. */
    average: number | null;
    distribution: { score: number; count: number }[];
  };
  nps: {
    responses: number;
    /** Scores 9–10. */
    promoters: number;
    /** Scores 7–8. */
    passives: number;
    /** Scores 0–6. */
    detractors: number;
    /**
     * % promoters − % detractors, from −100 to 100, rounded half away from zero
     * to 1 decimal; null without NPS answers.
     */
    score: number | null;
  };
}

export const PROMOTER_MIN = 9;
export const DETRACTOR_MAX = 6;

/**
 * `numerator / denominator` rounded half away from zero to `decimals` places,
 * in integer arithmetic (exact for any count a database returns).
 */
export function roundRatio(numerator: number, denominator: number, decimals: number): number {
  if (!Number.isInteger(numerator) || !Number.isInteger(denominator) || denominator <= 0) {
    throw new RangeError('roundRatio takes integers and a positive denominator');
  }
  const scale = 10 ** decimals;
  const a = 2 * Math.abs(numerator) * scale + denominator;
  const b = 2 * denominator;
  const rounded = (a - (a % b)) / b;
  const signed = numerator < 0 ? -rounded : rounded;
  return signed / scale + 0; // + 0: never -0
}

const range = (min: number, max: number): number[] =>
  Array.from({ length: max - min + 1 }, (_, i) => min + i);

/** Counts, average rating and NPS from the grouped counts. */
export function summarize(groups: ScoreCount[]): FeedbackSummary {
  const byKind = new Map<FeedbackKind, number>();
  const byCategory = new Map<FeedbackCategory, number>();
  const ratings = new Map<number, number>();
  let ratingSum = 0;
  let ratingCount = 0;
  let promoters = 0;
  let passives = 0;
  let detractors = 0;
  let responses = 0;
  for (const { kind, score, category, count } of groups) {
    responses += count;
    byKind.set(kind, (byKind.get(kind) ?? 0) + count);
    byCategory.set(category, (byCategory.get(category) ?? 0) + count);
    if (kind === FeedbackKind.Rating) {
      ratings.set(score, (ratings.get(score) ?? 0) + count);
      ratingSum += score * count;
      ratingCount += count;
    } else if (score >= PROMOTER_MIN) promoters += count;
    else if (score <= DETRACTOR_MAX) detractors += count;
    else passives += count;
  }
  const npsCount = promoters + passives + detractors;
  const rating = SCORE_RANGE[FeedbackKind.Rating];
  return {
    responses,
    byKind: Object.values(FeedbackKind).map((kind) => ({ kind, count: byKind.get(kind) ?? 0 })),
    byCategory: Object.values(FeedbackCategory).map((category) => ({
      category,
      count: byCategory.get(category) ?? 0,
    })),
    rating: {
      responses: ratingCount,
      average: ratingCount ? roundRatio(ratingSum, ratingCount, 2) : null,
      distribution: range(rating.min, rating.max).map((score) => ({
        score,
        count: ratings.get(score) ?? 0,
      })),
    },
    nps: {
      responses: npsCount,
      promoters,
      passives,
      detractors,
      score: npsCount ? roundRatio(100 * (promoters - detractors), npsCount, 1) : null,
    },
  };
}
