/**
 * The onboarding checklist's six steps, in the order a new organisation is
 * shown them. Each is computed by `platform.tenant_onboarding` (migration
 * Migration20261203180200_onboarding; definitions in docs/onboarding.md):
 * `<key>` is its boolean column and `<key>_at` the time it first became true.
 */
export const ONBOARDING_STEPS = [
  {
    key: 'email_verified',
    title: 'Verify your email address',
    method: 'POST',
    href: '/v1/auth/verify-email',
  },
  {
    key: 'plan_chosen',
    title: 'Choose a plan',
    method: 'POST',
    href: '/v1/billing/subscription',
  },
  {
    key: 'payment_method_added',
    title: 'Add a payment method',
    method: 'POST',
    href: '/v1/billing/payment-methods',
  },
  {
    key: 'teammate_invited',
    title: 'Invite a teammate',
    method: 'POST',
    href: '/v1/tenant/invitations',
  },
  {
    key: 'first_ticket_or_kb_visit',
    title: 'Open a support ticket or visit the knowledge base',
    method: 'POST',
    href: '/v1/support/tickets',
  },
  {
    key: 'api_key_created',
    title: 'Create an API key',
    method: 'POST',
    href: '/v1/tenant/api-keys',
  },
] as const;

export type OnboardingStepKey = (typeof ONBOARDING_STEPS)[number]['key'];

export const ONBOARDING_STEP_KEYS: OnboardingStepKey[] = ONBOARDING_STEPS.map((s) => s.key);

/** One row of `platform.tenant_onboarding`, as the driver returns it. */
export type OnboardingRow = {
  tenant_id: string;
  steps_done: number;
  steps_total: number;
  completed: boolean;
  completed_at: Date | string | null;
} & { [K in OnboardingStepKey]: boolean } & {
  [K in `${OnboardingStepKey}_at`]: Date | string | null;
};

export interface OnboardingStep {
  key: OnboardingStepKey;
  title: string;
  done: boolean;
  doneAt: string | null;
  method: string;
  href: string;
}

export interface Onboarding {
  steps: OnboardingStep[];
  completed: number;
  total: number;
  percent: number;
  completedAt: string | null;
}

const iso = (value: Date | string | null): string | null =>
  value === null ? null : new Date(value).toISOString();

/** The checklist as the API shows it, from the view's row (pure: the row is the truth). */
export function toOnboarding(row: OnboardingRow): Onboarding {
  const steps = ONBOARDING_STEPS.map((step) => ({
    key: step.key,
    title: step.title,
    done: row[step.key],
    doneAt: row[step.key] ? iso(row[`${step.key}_at`]) : null,
    method: step.method,
    href: step.href,
  }));
  const completed = Number(row.steps_done);
  const total = Number(row.steps_total);
  return {
    steps,
    completed,
    total,
    percent: total === 0 ? 0 : Math.floor((completed * 100) / total),
    completedAt: row.completed ? iso(row.completed_at) : null,
  };
}
