import { ONBOARDING_STEP_KEYS, OnboardingRow, toOnboarding } from './onboarding-steps';

const row = (done: Partial<Record<string, string>>, completedAt: string | null = null) => {
  const base: Record<string, unknown> = {
    tenant_id: '0193a000-0000-7000-8000-00000000000a',
    steps_done: Object.keys(done).length,
    steps_total: 6,
    completed: Object.keys(done).length === 6,
    completed_at: completedAt,
  };
  for (const key of ONBOARDING_STEP_KEYS) {
    base[key] = key in done;
    base[`${key}_at`] = done[key] ?? null;
  }
  return base as OnboardingRow;
};

describe('toOnboarding', () => {
  it('shows all six steps in order, none done, for a new organisation', () => {
    const result = toOnboarding(row({}));
    expect(result.steps.map((s) => s.key)).toEqual(ONBOARDING_STEP_KEYS);
    expect(result.steps.every((s) => !s.done && s.doneAt === null)).toBe(true);
    expect(result).toMatchObject({ completed: 0, total: 6, percent: 0, completedAt: null });
  });

  it('gives each done step its time in ISO form and rounds the percentage down', () => {
    const result = toOnboarding(
      row({ email_verified: '2026-12-01 10:00:00+00', api_key_created: '2026-12-02T11:30:00Z' }),
    );
    expect(result.steps.filter((s) => s.done).map((s) => [s.key, s.doneAt])).toEqual([
      ['email_verified', '2026-12-01T10:00:00.000Z'],
      ['api_key_created', '2026-12-02T11:30:00.000Z'],
    ]);
    expect(result).toMatchObject({ completed: 2, total: 6, percent: 33, completedAt: null });
  });

  it('is complete with every step done, at the time of the last', () => {
    const at = '2026-12-03T09:00:00.000Z';
    const all = Object.fromEntries(ONBOARDING_STEP_KEYS.map((k) => [k, at]));
    expect(toOnboarding(row(all, at))).toMatchObject({
      completed: 6,
      percent: 100,
      completedAt: at,
    });
  });
});
