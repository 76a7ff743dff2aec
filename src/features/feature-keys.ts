import type { Subject } from '../access/ability.factory';

/** snake_case words of lower-case letters and digits, starting with a letter: `ai_ticket_summaries`. */
export const FEATURE_KEY_PATTERN = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;
export const FEATURE_KEY_MIN_LENGTH = 2;
export const FEATURE_KEY_MAX_LENGTH = 64;
export const FEATURE_KEY_EXAMPLE = 'ai_ticket_summaries';
export const COHORT_KEY_EXAMPLE = 'design_partners';

export function isFeatureKey(value: string): boolean {
  return (
    value.length >= FEATURE_KEY_MIN_LENGTH &&
    value.length <= FEATURE_KEY_MAX_LENGTH &&
    FEATURE_KEY_PATTERN.test(value)
  );
}

/**
 * Tenant subjects a flag may gate (no create or update while it is off).
 * Billing stays out, so an organisation can always pay, and so does the
 * organisation itself; a product module adds its own subjects here.
 */
export const GATEABLE_SUBJECTS = [
  'Member',
  'Invitation',
  'ApiKey',
  'Ticket',
  'TicketNote',
] as const satisfies readonly Subject[];
