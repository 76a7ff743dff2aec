import fc from 'fast-check';
import { FeatureKind } from '../entities/feature.entity';
import { BillingInterval } from '../entities/money';
import { SupportTier } from '../entities/plan.entity';
import {
  buildPricing,
  cellValue,
  featureMatrix,
  priceGroups,
  PricingCatalog,
  PricingFeature,
  PricingPlan,
  PricingPrice,
  yearlySaving,
} from './pricing';

const M = BillingInterval.Month;
const Y = BillingInterval.Year;

const feature = (key: string, kind: FeatureKind): PricingFeature => ({
  key,
  name: key.toUpperCase(),
  description: `About ${key}`,
  kind,
});
const plan = (code: string, overrides: Partial<PricingPlan> = {}): PricingPlan => ({
  id: `id-${code}`,
  code,
  name: code,
  description: `The ${code} plan`,
  supportTier: SupportTier.Standard,
  seatLimit: 10,
  trialDays: 0,
  recommended: false,
  features: {},
  ...overrides,
});
let priceSeq = 0;
const price = (currency: string, interval: BillingInterval, unitAmount: number): PricingPrice => ({
  id: `price-${++priceSeq}`,
  currency,
  interval,
  unitAmount,
});

const FEATURES = [
  feature('seats', FeatureKind.Limit),
  feature('support', FeatureKind.Text),
  feature('sso', FeatureKind.Flag),
];
/** The seeded catalog's shape: a free tier without prices, Pro recommended. */
const CATALOG: PricingCatalog = {
  features: FEATURES,
  plans: [
    plan('free', { seatLimit: 5, features: { seats: 5, support: 'Forum', sso: false } }),
    plan('pro', {
      seatLimit: 200,
      trialDays: 14,
      recommended: true,
      features: { seats: 200, support: 'Priority', sso: true },
    }),
    plan('enterprise', { seatLimit: null, features: { seats: null, support: 'Dedicated' } }),
  ],
  prices: new Map([
    [
      'id-pro',
      [
        price('eur', M, 2700),
        price('eur', Y, 27000),
        price('usd', M, 2900),
        price('usd', Y, 29000),
      ],
    ],
    ['id-enterprise', [price('usd', Y, 79000), price('usd', M, 7900)]],
  ]),
};

describe('yearlySaving', () => {
  it('is 12 × monthly − yearly per seat, with a whole percent (Pro USD: 5800, 17%)', () => {
    expect(yearlySaving(2900, 29000)).toEqual({ amount: 5800, percent: 17 });
    expect(yearlySaving(1200, 12000)).toEqual({ amount: 2400, percent: 17 });
    expect(yearlySaving(1000, 6000)).toEqual({ amount: 6000, percent: 50 });
  });

  it('rounds the percent to the nearest whole one', () => {
    // 1/12 = 8.33 % → 8; 1/8 of a year = 12.5 % → 13 (half up).
    expect(yearlySaving(100, 1100)).toEqual({ amount: 100, percent: 8 });
    expect(yearlySaving(200, 2100)).toEqual({ amount: 300, percent: 13 });
  });

  it('is null when paying yearly saves nothing', () => {
    expect(yearlySaving(1000, 12000)).toBeNull();
    expect(yearlySaving(1000, 13000)).toBeNull();
    expect(yearlySaving(0, 0)).toBeNull();
    expect(yearlySaving(0, 100)).toBeNull();
  });

  it('holds for any amounts: amount = 12m − y, 0 ≤ percent ≤ 100, percent within 0.5 of the exact one', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 100_000_000 }),
        fc.integer({ min: 0, max: 1_200_000_000 }),
        (monthly, yearly) => {
          const saving = yearlySaving(monthly, yearly);
          if (12 * monthly - yearly <= 0) return saving === null;
          if (saving === null) return false;
          const exact = (saving.amount / (12 * monthly)) * 100;
          return (
            saving.amount === 12 * monthly - yearly &&
            Number.isInteger(saving.percent) &&
            saving.percent >= 0 &&
            saving.percent <= 100 &&
            Math.abs(saving.percent - exact) <= 0.5
          );
        },
      ),
    );
  });
});

describe('cellValue', () => {
  it("keeps the plan's value, null included", () => {
    expect(cellValue(FeatureKind.Limit, null)).toBeNull();
    expect(cellValue(FeatureKind.Limit, 25)).toBe(25);
    expect(cellValue(FeatureKind.Flag, true)).toBe(true);
    expect(cellValue(FeatureKind.Text, '99.9%')).toBe('99.9%');
  });

  it('reads a missing value as not included, never as unlimited', () => {
    expect(cellValue(FeatureKind.Flag, undefined)).toBe(false);
    expect(cellValue(FeatureKind.Limit, undefined)).toBe(0);
    expect(cellValue(FeatureKind.Text, undefined)).toBeNull();
  });
});

describe('featureMatrix', () => {
  it('has a row per feature in order and a cell per plan code in display order', () => {
    const matrix = featureMatrix(CATALOG.features, CATALOG.plans);
    expect(matrix.plans).toEqual(['free', 'pro', 'enterprise']);
    expect(matrix.rows).toEqual([
      {
        key: 'seats',
        name: 'SEATS',
        description: 'About seats',
        kind: 'limit',
        cells: { free: 5, pro: 200, enterprise: null },
      },
      {
        key: 'support',
        name: 'SUPPORT',
        description: 'About support',
        kind: 'text',
        cells: { free: 'Forum', pro: 'Priority', enterprise: 'Dedicated' },
      },
      {
        key: 'sso',
        name: 'SSO',
        description: 'About sso',
        kind: 'flag',
        // Enterprise says nothing about sso: not included.
        cells: { free: false, pro: true, enterprise: false },
      },
    ]);
  });

  it('is complete (rows × plans) for any catalog, and shows only the rows the catalog has', () => {
    const kindArb = fc.constantFrom(FeatureKind.Flag, FeatureKind.Limit, FeatureKind.Text);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[a-z]{1,8}$/), { maxLength: 6 }),
        fc.uniqueArray(fc.stringMatching(/^[a-z]{1,8}$/), { maxLength: 6 }),
        kindArb,
        (keys, codes, kind) => {
          const features = keys.map((key) => feature(key, kind));
          const plans = codes.map((code) => plan(code, { features: { stray: true } }));
          const matrix = featureMatrix(features, plans);
          return (
            matrix.rows.length === keys.length &&
            matrix.rows.every(
              (row) =>
                Object.keys(row.cells).length === codes.length &&
                codes.every((code) => row.cells[code] !== undefined),
            ) &&
            matrix.rows.every((row) =>
              Object.values(row.cells).every(
                (value) => value === (row.key === 'stray' ? true : cellValue(kind, undefined)),
              ),
            )
          );
        },
      ),
    );
  });

  it('gives a null description for a feature without one', () => {
    const matrix = featureMatrix(
      [{ ...feature('x', FeatureKind.Flag), description: undefined }],
      [],
    );
    expect(matrix.rows[0].description).toBeNull();
  });
});

describe('priceGroups', () => {
  const prices = CATALOG.prices.get('id-pro')!;

  it('groups by currency (usd first), monthly and yearly side by side, with the saving', () => {
    const groups = priceGroups(prices);
    expect(groups.map((g) => g.currency)).toEqual(['usd', 'eur']);
    expect(groups[0]).toEqual({
      currency: 'usd',
      monthly: { priceId: prices[2].id, interval: 'month', unitAmount: 2900, currency: 'usd' },
      yearly: { priceId: prices[3].id, interval: 'year', unitAmount: 29000, currency: 'usd' },
      yearlySaving: { amount: 5800, currency: 'usd', percent: 17 },
    });
    expect(groups[1].yearlySaving).toEqual({ amount: 5400, currency: 'eur', percent: 17 });
  });

  it('keeps only the asked currency', () => {
    expect(priceGroups(prices, 'eur').map((g) => g.currency)).toEqual(['eur']);
    expect(priceGroups(prices, 'gbp')).toEqual([]);
  });

  it('shows a lone interval without a saving', () => {
    const [group] = priceGroups([price('gbp', M, 1000)]);
    expect(group).toMatchObject({ currency: 'gbp', yearly: null, yearlySaving: null });
    expect(group.monthly?.unitAmount).toBe(1000);
  });

  it('orders unknown currencies after the catalog ones, alphabetically', () => {
    const groups = priceGroups([price('chf', M, 1), price('aud', M, 1), price('gbp', M, 1)]);
    expect(groups.map((g) => g.currency)).toEqual(['gbp', 'aud', 'chf']);
  });
});

describe('buildPricing', () => {
  it('lays out tiers in display order with their prices, the matrix and the recommended tier', () => {
    const page = buildPricing(CATALOG);
    expect(page.currency).toBeNull();
    expect(page.currencies).toEqual(['usd', 'eur']);
    expect(page.recommended).toBe('pro');
    expect(page.tiers.map((t) => [t.code, t.recommended, t.prices.length])).toEqual([
      ['free', false, 0],
      ['pro', true, 2],
      ['enterprise', false, 1],
    ]);
    expect(page.tiers[1]).toMatchObject({
      name: 'pro',
      description: 'The pro plan',
      supportTier: 'standard',
      seatLimit: 200,
      trialDays: 14,
    });
    expect(page.tiers[2].seatLimit).toBeNull();
    expect(page.matrix.plans).toEqual(['free', 'pro', 'enterprise']);
  });

  it('filters prices by currency but still lists every currency offered', () => {
    const page = buildPricing(CATALOG, 'eur');
    expect(page.currency).toBe('eur');
    expect(page.currencies).toEqual(['usd', 'eur']);
    expect(page.tiers.map((t) => t.prices.map((p) => p.currency))).toEqual([[], ['eur'], []]);
  });

  it('has no recommended tier when no plan is flagged', () => {
    const plans = CATALOG.plans.map((p) => ({ ...p, recommended: false }));
    expect(buildPricing({ ...CATALOG, plans }).recommended).toBeNull();
  });
});
