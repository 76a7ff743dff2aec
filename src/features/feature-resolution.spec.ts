import {
  FlagDefinition,
  FlagSource,
  resolveFlag,
  resolveFlags,
  TenantFlagInputs,
} from './feature-resolution';

const flag = (overrides: Partial<FlagDefinition> = {}): FlagDefinition => ({
  key: 'ai_ticket_summaries',
  defaultEnabled: false,
  planDefaults: {},
  cohortRules: {},
  gates: [],
  ...overrides,
});
const tenant = (overrides: Partial<TenantFlagInputs> = {}): TenantFlagInputs => ({
  overrides: {},
  cohortIds: [],
  ...overrides,
});

describe('resolveFlag', () => {
  const cases: [string, FlagDefinition, TenantFlagInputs, string, boolean, FlagSource][] = [
    ['the default, off', flag(), tenant(), 'free', false, FlagSource.Default],
    ['the default, on', flag({ defaultEnabled: true }), tenant(), 'free', true, FlagSource.Default],
    [
      'the plan over the default (on)',
      flag({ planDefaults: { pro: true } }),
      tenant(),
      'pro',
      true,
      FlagSource.Plan,
    ],
    [
      'the plan over the default (off)',
      flag({ defaultEnabled: true, planDefaults: { free: false } }),
      tenant(),
      'free',
      false,
      FlagSource.Plan,
    ],
    [
      'the default when the plan is not listed',
      flag({ defaultEnabled: true, planDefaults: { pro: false } }),
      tenant(),
      'starter',
      true,
      FlagSource.Default,
    ],
    [
      'the default for a plan code naming an Object.prototype member',
      flag({ planDefaults: { pro: true } }),
      tenant(),
      'constructor',
      false,
      FlagSource.Default,
    ],
    [
      'a cohort over the plan',
      flag({ planDefaults: { free: false }, cohortRules: { beta: true } }),
      tenant({ cohortIds: ['beta'] }),
      'free',
      true,
      FlagSource.Cohort,
    ],
    [
      'a cohort that turns it off over the plan',
      flag({ planDefaults: { pro: true }, cohortRules: { holdouts: false } }),
      tenant({ cohortIds: ['holdouts'] }),
      'pro',
      false,
      FlagSource.Cohort,
    ],
    [
      'off when cohorts disagree (off wins), whatever their order',
      flag({ cohortRules: { beta: true, holdouts: false } }),
      tenant({ cohortIds: ['beta', 'holdouts'] }),
      'pro',
      false,
      FlagSource.Cohort,
    ],
    [
      'off when cohorts disagree, listed the other way round',
      flag({ cohortRules: { beta: true, holdouts: false } }),
      tenant({ cohortIds: ['holdouts', 'beta'] }),
      'pro',
      false,
      FlagSource.Cohort,
    ],
    [
      'on when every ruling cohort says on',
      flag({ cohortRules: { beta: true, design_partners: true } }),
      tenant({ cohortIds: ['beta', 'design_partners', 'unrelated'] }),
      'free',
      true,
      FlagSource.Cohort,
    ],
    [
      'the plan when the tenant is only in cohorts without a rule for the flag',
      flag({ planDefaults: { pro: true }, cohortRules: { beta: false } }),
      tenant({ cohortIds: ['design_partners'] }),
      'pro',
      true,
      FlagSource.Plan,
    ],
    [
      'an override (on) over a cohort that turns it off',
      flag({ cohortRules: { holdouts: false } }),
      tenant({ cohortIds: ['holdouts'], overrides: { ai_ticket_summaries: true } }),
      'pro',
      true,
      FlagSource.Override,
    ],
    [
      'an override (off) over cohort, plan and default',
      flag({ defaultEnabled: true, planDefaults: { pro: true }, cohortRules: { beta: true } }),
      tenant({ cohortIds: ['beta'], overrides: { ai_ticket_summaries: false } }),
      'pro',
      false,
      FlagSource.Override,
    ],
    [
      "another flag's override has no effect",
      flag({ defaultEnabled: true }),
      tenant({ overrides: { other_flag: false } }),
      'pro',
      true,
      FlagSource.Default,
    ],
  ];

  it.each(cases)('%s', (_name, definition, inputs, plan, enabled, source) => {
    expect(resolveFlag(definition, inputs, plan)).toEqual({
      key: definition.key,
      enabled,
      source,
    });
  });
});

describe('resolveFlags', () => {
  it('resolves every flag independently, ordered by key', () => {
    const flags = [
      flag({ key: 'zeta', defaultEnabled: true }),
      flag({ key: 'alpha', planDefaults: { pro: true } }),
      flag({ key: 'mid', cohortRules: { beta: true } }),
    ];
    expect(resolveFlags(flags, tenant({ cohortIds: ['beta'] }), 'pro')).toEqual([
      { key: 'alpha', enabled: true, source: FlagSource.Plan },
      { key: 'mid', enabled: true, source: FlagSource.Cohort },
      { key: 'zeta', enabled: true, source: FlagSource.Default },
    ]);
    expect(resolveFlags([], tenant(), 'pro')).toEqual([]);
  });
});
