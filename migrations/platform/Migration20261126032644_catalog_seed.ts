// Platform migration: the default catalog (Free, Starter, Pro, Enterprise) and the invoice counter.
// Platform admins edit the catalog afterwards through /v1/admin/plans; this only seeds it.
import { Migration } from '@mikro-orm/migrations';

const FEATURES: [key: string, name: string, kind: string, description: string][] = [
  ['seats', 'Seats', 'limit', 'Members and pending invitations the organisation may have.'],
  ['support', 'Support', 'text', 'Who answers, and how fast.'],
  ['api_access', 'API keys', 'flag', 'Programmatic access with scoped API keys.'],
  ['audit_log', 'Audit log', 'flag', 'Who did what in the organisation, searchable.'],
  ['knowledge_base', 'Knowledge base', 'flag', 'Self-service answers before a ticket.'],
  ['sso', 'Single sign-on', 'flag', 'SAML and OIDC sign-in for the whole organisation.'],
  ['uptime_sla', 'Uptime commitment', 'text', 'Availability promised in the contract.'],
];

type Plan = {
  id: string;
  code: string;
  name: string;
  description: string;
  supportTier: string;
  seatLimit: number | null;
  trialDays: number;
  recommended: boolean;
  features: Record<string, boolean | number | string | null>;
  /** [currency, month, year] per seat, in minor units. */
  prices: [string, number, number, string, string][];
};

const PLANS: Plan[] = [
  {
    id: '0193a000-0000-7000-8000-000000000001',
    code: 'free',
    name: 'Free',
    description: 'For a small team finding its feet.',
    supportTier: 'community',
    seatLimit: 5,
    trialDays: 0,
    recommended: false,
    features: {
      seats: 5,
      support: 'Community forum',
      api_access: true,
      audit_log: true,
      knowledge_base: true,
      sso: false,
      uptime_sla: null,
    },
    prices: [],
  },
  {
    id: '0193a000-0000-7000-8000-000000000002',
    code: 'starter',
    name: 'Starter',
    description: 'Everything a growing team needs, billed per seat.',
    supportTier: 'standard',
    seatLimit: 25,
    trialDays: 14,
    recommended: false,
    features: {
      seats: 25,
      support: 'Email, next business day',
      api_access: true,
      audit_log: true,
      knowledge_base: true,
      sso: false,
      uptime_sla: '99.5%',
    },
    prices: [
      [
        'usd',
        1200,
        12000,
        '0193a000-0000-7000-8001-000000000021',
        '0193a000-0000-7000-8001-000000000022',
      ],
      [
        'eur',
        1100,
        11000,
        '0193a000-0000-7000-8001-000000000023',
        '0193a000-0000-7000-8001-000000000024',
      ],
    ],
  },
  {
    id: '0193a000-0000-7000-8000-000000000003',
    code: 'pro',
    name: 'Pro',
    description: 'For teams that run their business on it.',
    supportTier: 'priority',
    seatLimit: 200,
    trialDays: 14,
    recommended: true,
    features: {
      seats: 200,
      support: 'Priority, 4 business hours',
      api_access: true,
      audit_log: true,
      knowledge_base: true,
      sso: true,
      uptime_sla: '99.9%',
    },
    prices: [
      [
        'usd',
        2900,
        29000,
        '0193a000-0000-7000-8001-000000000031',
        '0193a000-0000-7000-8001-000000000032',
      ],
      [
        'eur',
        2700,
        27000,
        '0193a000-0000-7000-8001-000000000033',
        '0193a000-0000-7000-8001-000000000034',
      ],
    ],
  },
  {
    id: '0193a000-0000-7000-8000-000000000004',
    code: 'enterprise',
    name: 'Enterprise',
    description: 'Unlimited seats, a named engineer and a contractual SLA.',
    supportTier: 'dedicated',
    seatLimit: null,
    trialDays: 0,
    recommended: false,
    features: {
      seats: null,
      support: 'Dedicated, 1 business hour',
      api_access: true,
      audit_log: true,
      knowledge_base: true,
      sso: true,
      uptime_sla: '99.95%',
    },
    prices: [
      [
        'usd',
        7900,
        79000,
        '0193a000-0000-7000-8001-000000000041',
        '0193a000-0000-7000-8001-000000000042',
      ],
      [
        'eur',
        7300,
        73000,
        '0193a000-0000-7000-8001-000000000043',
        '0193a000-0000-7000-8001-000000000044',
      ],
    ],
  },
];

/** A SQL literal for the constants above (never for outside input). */
function sql(value: string | number | boolean | null): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return `'${value.replace(/'/g, "''")}'`;
  return String(value);
}

export class Migration20261126032644_catalog_seed extends Migration {
  override up(): void {
    FEATURES.forEach(([key, name, kind, description], index) => {
      this.addSql(
        `insert into platform.feature (key, name, kind, description, sort_order)
         values (${[key, name, kind, description, (index + 1) * 10].map(sql).join(', ')})`,
      );
    });
    PLANS.forEach((plan, index) => {
      const values = [
        plan.id,
        plan.code,
        plan.name,
        plan.description,
        (index + 1) * 10,
        plan.supportTier,
        plan.seatLimit,
        plan.trialDays,
        plan.recommended,
      ].map(sql);
      this.addSql(
        `insert into platform.plan (id, code, name, description, sort_order, support_tier, seat_limit,
           trial_days, recommended, features, status, created_at, updated_at)
         values (${values.join(', ')}, ${sql(JSON.stringify(plan.features))}::jsonb, 'active', now(), now())`,
      );
      for (const [currency, month, year, monthId, yearId] of plan.prices) {
        for (const [id, interval, amount] of [
          [monthId, 'month', month],
          [yearId, 'year', year],
        ] as const) {
          this.addSql(
            `insert into platform.price (id, plan_id, currency, interval, unit_amount, status, created_at)
             values (${[id, plan.id, currency, interval, amount].map(sql).join(', ')}, 'active', now())`,
          );
        }
      }
    });
    this.addSql("insert into platform.billing_counter (name, value) values ('invoice', 0)");
  }

  override down(): void {
    const codes = PLANS.map((plan) => sql(plan.code)).join(', ');
    this.addSql("delete from platform.billing_counter where name = 'invoice'");
    this.addSql(
      `delete from platform.price where plan_id in (select id from platform.plan where code in (${codes}))`,
    );
    this.addSql(`delete from platform.plan where code in (${codes})`);
    this.addSql('delete from platform.feature');
  }
}
