/*
 * What a piece of feedback may hold: pure rules shared by the request DTO,
 * the service (demo data comes in without HTTP) and the unit tests.
 */

export enum FeedbackKind {
  /** A 1–5 satisfaction rating. */
  Rating = 'rating',
  /** "How likely are you to recommend us?", 0–10 (Net Promoter Score). */
  Nps = 'nps',
}

export enum FeedbackCategory {
  Bug = 'bug',
  FeatureRequest = 'feature_request',
  Billing = 'billing',
  Support = 'support',
  Usability = 'usability',
  Performance = 'performance',
  Other = 'other',
}

/** The scores each kind allows, inclusive (the table's check constraint says the same). */
export const SCORE_RANGE: Record<FeedbackKind, { min: number; max: number }> = {
  [FeedbackKind.Rating]: { min: 1, max: 5 },
  [FeedbackKind.Nps]: { min: 0, max: 10 },
};

export const MESSAGE_MAX_LENGTH = 5000;

/** Bounds of `context`: flat, small, so that it can be stored, listed and exported as is. */
export const CONTEXT_LIMITS = {
  maxKeys: 20,
  /** Its JSON, in UTF-8 bytes. */
  maxBytes: 4096,
  maxKeyLength: 64,
  maxStringLength: 1000,
} as const;

const CONTEXT_KEY = /^[A-Za-z][A-Za-z0-9_.-]*$/;

export type FeedbackContext = Record<string, string | number | boolean | null>;

/** Why `score` is not allowed for `kind`, or null when it is. */
export function scoreProblem(kind: FeedbackKind, score: unknown): string | null {
  const range = SCORE_RANGE[kind];
  if (!range) return null; // an unknown kind is reported on `kind` itself
  if (
    typeof score !== 'number' ||
    !Number.isInteger(score) ||
    score < range.min ||
    score > range.max
  ) {
    return `score must be an integer from ${range.min} to ${range.max} for ${kind} feedback`;
  }
  return null;
}

/** Why `value` is not an acceptable `context`, or null when it is. */
export function contextProblem(value: unknown): string | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return 'context must be an object';
  }
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > CONTEXT_LIMITS.maxKeys) {
    return `context must have at most ${CONTEXT_LIMITS.maxKeys} keys`;
  }
  for (const [key, entry] of entries) {
    if (key.length > CONTEXT_LIMITS.maxKeyLength || !CONTEXT_KEY.test(key)) {
      return `context key "${key.slice(0, CONTEXT_LIMITS.maxKeyLength)}" must start with a letter, use letters, digits, _ . - only and be at most ${CONTEXT_LIMITS.maxKeyLength} characters`;
    }
    const ok =
      entry === null ||
      typeof entry === 'boolean' ||
      (typeof entry === 'number' && Number.isFinite(entry)) ||
      (typeof entry === 'string' && entry.length <= CONTEXT_LIMITS.maxStringLength);
    if (!ok) {
      return `context.${key} must be a string of at most ${CONTEXT_LIMITS.maxStringLength} characters, a number, a boolean or null (no nesting)`;
    }
  }
  if (Buffer.byteLength(JSON.stringify(value), 'utf8') > CONTEXT_LIMITS.maxBytes) {
    return `context must be at most ${CONTEXT_LIMITS.maxBytes} bytes as JSON`;
  }
  return null;
}
