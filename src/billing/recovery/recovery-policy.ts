import { PaymentErrorCategory } from '../payments/payment-gateway';

/**
 * One recovery policy holds both the retry schedule and the dunning steps,
 * counted in days from the same origin (the first failure), so the two can
 * never drift apart. Pure: the campaign code reads it, the admin API edits it.
 */

/** What a dunning step does. */
export enum DunningAction {
  /** "Your payment failed" (or "confirm your payment" when the bank asks for it). */
  Notify = 'notify',
  Remind = 'remind',
  /** Warns that writes will be suspended at the suspend step. */
  Warn = 'warn',
  /** Subscription `unpaid`: the organisation's writes answer 402 until it pays. */
  Suspend = 'suspend',
  /** Subscription canceled, invoice uncollectible: the campaign gives up. */
  Cancel = 'cancel',
}

export interface DunningStep {
  /** Days after the first failure. */
  day: number;
  action: DunningAction;
}

export interface RecoveryRules {
  /** Automatic retries of a soft decline, in days after the first failure. */
  retryDays: number[];
  /** The campaign, in order of `day`. */
  steps: DunningStep[];
  /** Days before the default card expires to send the card-expiring mail (0: none). */
  cardExpiryNoticeDays: number;
}

export const DEFAULT_RECOVERY_RULES: RecoveryRules = {
  retryDays: [1, 3, 5, 7],
  steps: [
    { day: 0, action: DunningAction.Notify },
    { day: 3, action: DunningAction.Remind },
    { day: 7, action: DunningAction.Warn },
    { day: 10, action: DunningAction.Suspend },
    { day: 30, action: DunningAction.Cancel },
  ],
  cardExpiryNoticeDays: 14,
};

export const LIMITS = { maxRetries: 10, maxSteps: 12, maxDay: 180, maxNoticeDays: 60 } as const;

const DAY_MS = 86_400_000;

/** Everything wrong with a policy, in words an admin can act on; empty when it is valid. */
export function policyProblems(rules: RecoveryRules): string[] {
  const problems: string[] = [];
  const isDay = (d: unknown, min: number) =>
    Number.isInteger(d) && (d as number) >= min && (d as number) <= LIMITS.maxDay;

  if (rules.retryDays.length > LIMITS.maxRetries) {
    problems.push(`at most ${LIMITS.maxRetries} retries`);
  }
  if (!rules.retryDays.every((d) => isDay(d, 1))) {
    problems.push(`retry days must be whole days from 1 to ${LIMITS.maxDay}`);
  } else if (rules.retryDays.some((d, i) => i > 0 && d <= rules.retryDays[i - 1])) {
    problems.push('retry days must be strictly increasing');
  }

  const { steps } = rules;
  if (steps.length === 0) problems.push('a campaign needs at least one step');
  if (steps.length > LIMITS.maxSteps) problems.push(`at most ${LIMITS.maxSteps} steps`);
  if (!steps.every((s) => isDay(s.day, 0))) {
    problems.push(`step days must be whole days from 0 to ${LIMITS.maxDay}`);
  } else if (steps.some((s, i) => i > 0 && s.day < steps[i - 1].day)) {
    problems.push('steps must be in order of their day');
  }
  const count = (action: DunningAction) => steps.filter((s) => s.action === action).length;
  const index = (action: DunningAction) => steps.findIndex((s) => s.action === action);
  if (count(DunningAction.Suspend) > 1) problems.push('at most one suspend step');
  if (count(DunningAction.Cancel) > 1) problems.push('at most one cancel step');
  const cancel = index(DunningAction.Cancel);
  const suspend = index(DunningAction.Suspend);
  if (cancel >= 0 && cancel !== steps.length - 1) problems.push('cancel must be the last step');
  if (suspend >= 0 && cancel >= 0 && suspend > cancel) {
    problems.push('suspend must come before cancel');
  }
  const warn = index(DunningAction.Warn);
  if (warn >= 0 && (suspend < 0 || warn > suspend)) {
    problems.push('a warn step needs a suspend step after it');
  }
  const lastRetry = rules.retryDays.at(-1);
  if (cancel >= 0 && lastRetry !== undefined && lastRetry > steps[cancel].day) {
    problems.push('every retry must fall on or before the cancel step');
  }
  if (
    !Number.isInteger(rules.cardExpiryNoticeDays) ||
    rules.cardExpiryNoticeDays < 0 ||
    rules.cardExpiryNoticeDays > LIMITS.maxNoticeDays
  ) {
    problems.push(`card expiry notice must be 0 to ${LIMITS.maxNoticeDays} days`);
  }
  return problems;
}

export const dayAfter = (origin: Date, days: number): Date =>
  new Date(origin.getTime() + days * DAY_MS);

/** The first scheduled retry strictly after `after`; null when the schedule is spent. */
export function nextRetryAt(rules: RecoveryRules, origin: Date, after: Date): Date | null {
  for (const day of rules.retryDays) {
    const at = dayAfter(origin, day);
    if (at > after) return at;
  }
  return null;
}

/** When step `index` falls due; null past the last step. */
export function stepDueAt(rules: RecoveryRules, origin: Date, index: number): Date | null {
  const step = rules.steps[index];
  return step ? dayAfter(origin, step.day) : null;
}

/** The step that suspends, if the policy has one: when it falls (for the warning mail). */
export function actionDueAt(
  rules: RecoveryRules,
  origin: Date,
  action: DunningAction,
): Date | null {
  const step = rules.steps.find((s) => s.action === action);
  return step ? dayAfter(origin, step.day) : null;
}

/** How a failed attempt is treated. */
export enum FailureClass {
  /** The card may work later: retried on the schedule. */
  SoftDecline = 'soft_decline',
  /** The card will not work again: no retry until the payment method changes. */
  HardDecline = 'hard_decline',
  /** The bank wants the customer to confirm (3-D Secure): they are asked to. */
  NeedsAuthentication = 'needs_authentication',
  /** The gateway failed, not the card (immediate retries spent): tried again within the hour, no dunning. */
  Transient = 'transient',
  /** The request may have been acted on: reconciled before anything else. */
  UnknownOutcome = 'unknown_outcome',
}

/**
 * Issuer answers that will not change by retrying the same card (Stripe's
 * decline-code reference; Recurly and Chargebee treat the same set as hard).
 * Retrying them only hurts the merchant's standing with the card networks.
 */
export const HARD_DECLINE_CODES: ReadonlySet<string> = new Set([
  'stolen_card',
  'lost_card',
  'pickup_card',
  'fraudulent',
  'merchant_blacklist',
  'incorrect_number',
  'invalid_number',
  'incorrect_cvc',
  'invalid_cvc',
  'expired_card',
  'invalid_expiry_month',
  'invalid_expiry_year',
  'invalid_account',
  'card_not_supported',
  'currency_not_supported',
  'restricted_card',
  'security_violation',
  'revocation_of_authorization',
  'revocation_of_all_authorizations',
  'stop_payment_order',
  'new_account_information_available',
]);

export function classifyFailure(failure: {
  category: string | null | undefined;
  declineCode?: string | null;
  outcomeUnknown?: boolean;
}): FailureClass {
  if (failure.outcomeUnknown) return FailureClass.UnknownOutcome;
  switch (failure.category as PaymentErrorCategory | null | undefined) {
    case PaymentErrorCategory.AuthenticationRequired:
      return FailureClass.NeedsAuthentication;
    case PaymentErrorCategory.ExpiredCard:
      return FailureClass.HardDecline;
    case PaymentErrorCategory.InsufficientFunds:
    case PaymentErrorCategory.ProcessingError:
      return FailureClass.SoftDecline;
    case PaymentErrorCategory.CardDeclined:
      return failure.declineCode && HARD_DECLINE_CODES.has(failure.declineCode)
        ? FailureClass.HardDecline
        : FailureClass.SoftDecline;
    // The gateway no longer knows the card (detached, deleted): only a new one helps.
    case PaymentErrorCategory.InvalidRequest:
      return FailureClass.HardDecline;
    // A bad key or account is our problem, never the customer's (an alert fires on it).
    case PaymentErrorCategory.RateLimited:
    case PaymentErrorCategory.GatewayUnavailable:
    case PaymentErrorCategory.Configuration:
      return FailureClass.Transient;
    default:
      return FailureClass.SoftDecline;
  }
}

/** Classes that start (or continue) a dunning campaign: the customer can act on them. */
export const DUNNING_CLASSES: ReadonlySet<FailureClass> = new Set([
  FailureClass.SoftDecline,
  FailureClass.HardDecline,
  FailureClass.NeedsAuthentication,
]);

/** After the immediate retries of a transient failure are spent, the next try. */
export const TRANSIENT_RETRY_MS = 60 * 60_000;
