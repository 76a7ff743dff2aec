import { createHmac } from 'node:crypto';
import { PlatformRole, TenantRole } from '../access/roles';
import { TicketPriority, TicketStatus } from '../support/tickets/ticket-status';
import { Prng } from './prng';

/** What `npm run demo -- --seed … --tenants …` asks for. */
export interface DemoOptions {
  seed: string;
  /** Organisations, the showcase included (at least 4: one per billing story that the tests check). */
  tenants: number;
  ticketsPerTenant: number;
  /** How much history is simulated before `until`. */
  months: number;
  /** The moment the simulation ends ("now" of the generated world). */
  until: Date;
}

export const DEMO_DEFAULTS = {
  seed: 'groundwork',
  tenants: 12,
  ticketsPerTenant: 10,
  months: 12,
} as const;
export const DEMO_LIMITS = {
  tenants: [4, 200],
  ticketsPerTenant: [0, 500],
  months: [2, 36],
} as const;

/** Seeded catalog prices (migrations/platform/…_catalog_seed.ts). */
export const DEMO_PRICES = {
  STARTER_MONTH: '0193a000-0000-7000-8001-000000000021',
  STARTER_YEAR: '0193a000-0000-7000-8001-000000000022',
  STARTER_EUR_MONTH: '0193a000-0000-7000-8001-000000000023',
  PRO_MONTH: '0193a000-0000-7000-8001-000000000031',
  PRO_YEAR: '0193a000-0000-7000-8001-000000000032',
  PRO_EUR_MONTH: '0193a000-0000-7000-8001-000000000033',
  ENTERPRISE_MONTH: '0193a000-0000-7000-8001-000000000041',
} as const;

/** Simulated gateway test cards (Stripe's documented shortcuts). */
export const CARDS = {
  good: 'pm_card_visa',
  goodToo: 'pm_card_mastercard',
  /** Attaches fine, then every charge is declined (`card_declined`, a soft decline). */
  failing: 'pm_card_chargeCustomerFail',
} as const;

/**
 * The billing life each organisation is given. The first four are the stories
 * the issue asks for; the rest spread tenants over every tier and interval.
 */
export type DemoStory =
  | 'showcase' // Starter monthly, upgraded to Pro mid-period, renewing monthly
  | 'recovered' // Pro monthly; a renewal declined, recovered by dunning after a card update
  | 'suspended' // Starter monthly; a renewal declined and never paid: suspended at the end
  | 'canceled' // Starter monthly, cancelled at period end a few weeks before the end
  | 'pro_yearly'
  | 'enterprise'
  | 'free'
  | 'starter_eur'
  | 'pro_monthly'
  | 'starter_yearly';

const STORIES_FIRST: DemoStory[] = [
  'showcase',
  'recovered',
  'suspended',
  'canceled',
  'pro_yearly',
  'enterprise',
  'free',
  'starter_eur',
];
const STORIES_THEN: DemoStory[] = [
  'pro_monthly',
  'starter_yearly',
  'free',
  'pro_yearly',
  'enterprise',
  'starter_eur',
];

export interface DemoPerson {
  name: string;
  email: string;
  role: TenantRole;
}

export interface DemoStaff {
  name: string;
  email: string;
  role: PlatformRole;
}

/** One billing action at a moment; the generator performs them in time order. */
export type BillingStep =
  | { at: Date; kind: 'add_card'; card: string; makeDefault: boolean }
  | { at: Date; kind: 'subscribe'; priceId: string; quantity: number }
  | { at: Date; kind: 'change'; priceId: string }
  | { at: Date; kind: 'cancel'; reason: string; comment: string };

export interface DemoTicket {
  /** Position in its tenant, from 0: a stable key for the ticket. */
  index: number;
  requesterEmail: string;
  subject: string;
  description: string;
  priority: TicketPriority;
  tags: string[];
  createdAt: Date;
  /** Where it ends up by `until`. */
  finalStatus: TicketStatus;
  /** null: no agent has answered. */
  firstReplyAt: Date | null;
  agentEmail: string;
  agentReply: string;
  /** A follow-up from the requester before the agent sets the final status. */
  requesterFollowUp: { at: Date; body: string } | null;
  /** When the agent sets a status other than the reply's (pending, on hold, solved, closed). */
  statusAt: Date | null;
  rating: { at: Date; score: number; comment?: string } | null;
}

/** Product feedback a member sends (`POST /v1/feedback`): a quarterly NPS survey, now and then a rating. */
export interface DemoFeedback {
  at: Date;
  email: string;
  kind: 'nps' | 'rating';
  score: number;
  category:
    'bug' | 'feature_request' | 'billing' | 'support' | 'usability' | 'performance' | 'other';
  message: string | null;
  page: string;
}

export interface DemoTenant {
  slug: string;
  name: string;
  story: DemoStory;
  signupAt: Date;
  people: DemoPerson[];
  billing: BillingStep[];
  tickets: DemoTicket[];
  feedback: DemoFeedback[];
}

/** A beta cohort of organisations and the flags switched on for it (the feature-flag module). */
export interface DemoFeatures {
  at: Date;
  cohort: { key: string; name: string; description: string; tenants: string[] };
  flags: { key: string; description: string; planDefaults: Record<string, boolean> }[];
}

export interface DemoLogin {
  role: string;
  email: string;
  password: string;
  tenant: string | null;
}

export interface DemoWorld {
  options: DemoOptions;
  start: Date;
  until: Date;
  staff: DemoStaff[];
  tenants: DemoTenant[];
  features: DemoFeatures;
  logins: DemoLogin[];
}

const DAY = 86_400_000;
const HOUR = 3_600_000;

export const SHOWCASE = { slug: 'northwind', name: 'Northwind Traders', domain: 'northwind.demo' };
export const STAFF_DOMAIN = 'groundwork.demo';

const COMPANIES = [
  'Blue Heron Analytics',
  'Copperline Logistics',
  'Fernbrook Health',
  'Ironwood Studios',
  'Lumen Grid Energy',
  'Marlow & Finch Legal',
  'Oakridge Dental Group',
  'Pinecrest Outfitters',
  'Quayside Coffee Roasters',
  'Redwood Robotics',
  'Saltmarsh Seafood Co.',
  'Tidewater Marine',
  'Umber Architecture',
  'Vantage Point Surveying',
  'Willowmere Schools',
  'Yellowtail Bikes',
  'Zephyr Air Charter',
  'Harbourview Hotels',
  'Kestrel Security',
  'Granite Peak Insurance',
  'Elmstead Bakery',
  'Driftwood Books',
  'Aster Biolabs',
  'Brightwater Solar',
  'Cobalt Freight',
  'Juniper Veterinary',
  'Larkspur Events',
  'Meridian Payroll',
  'Northgate Pharmacy',
  'Orchard Lane Farms',
];

const FIRST_NAMES = [
  'Amara',
  'Ben',
  'Chloé',
  'Dmitri',
  'Elena',
  'Farid',
  'Grace',
  'Hiroshi',
  'Isabel',
  'Jonas',
  'Keisha',
  'Luca',
  'Maya',
  'Nikhil',
  'Oona',
  'Pedro',
  'Rosa',
  'Stefan',
  'Tariq',
  'Uma',
  'Victor',
  'Wen',
  'Yara',
  'Zoltan',
];
const LAST_NAMES = [
  'Adeyemi',
  'Baptiste',
  'Castellanos',
  'Duarte',
  'Eriksen',
  'Fontaine',
  'Gallagher',
  'Haddad',
  'Ivanova',
  'Jansen',
  'Kowalski',
  'Lindgren',
  'Moreau',
  'Nakamura',
  "O'Brien",
  'Petrov',
  'Quinn',
  'Rahman',
  'Schultz',
  'Tanaka',
  'Varga',
  'Whitfield',
  'Yilmaz',
  'Zhou',
];

/** Requests customers send, about Groundwork's own features (subject, description, tags). */
const TICKET_TOPICS: [string, string, string[]][] = [
  [
    'Invoice shows the wrong company address',
    'Our last invoice still has our old office address. We moved in the spring; where do we change what appears on invoices?',
    ['billing', 'invoices'],
  ],
  [
    'Card declined on renewal but the card works',
    'We got an email that our renewal payment failed. The card works everywhere else. Can you retry it, and why did it fail?',
    ['billing', 'payments'],
  ],
  [
    'How do we add five more seats?',
    'We are onboarding a new team next week. How do we add seats, and will we be charged for the whole month?',
    ['billing', 'seats'],
  ],
  [
    'Invitation email never arrived',
    'I invited a colleague yesterday and she has not received anything. It is not in her spam folder either. Can you resend it?',
    ['members', 'invitations'],
  ],
  [
    'Can a member see billing?',
    'We want our finance lead to download invoices without being an admin. Which role should we give her?',
    ['roles', 'billing'],
  ],
  [
    'API key stopped working',
    'Our integration gets 401 since this morning with an API key that worked for months. Nothing changed on our side.',
    ['api', 'api-keys'],
  ],
  [
    'Two-factor codes rejected',
    'My authenticator app codes are always rejected when I sign in. The time on my phone is set automatically.',
    ['security', 'two-factor'],
  ],
  [
    'Export of our audit log',
    'Our auditors want the last quarter of the audit log. Is there a way to filter it by person and export it?',
    ['audit-log'],
  ],
  [
    'Upgrade mid-month: how is it charged?',
    'If we move from Starter to Pro today, do we pay the full Pro price or only for the rest of the month?',
    ['billing', 'plans'],
  ],
  [
    'Single sign-on with our identity provider',
    'We use Okta. Which plan includes single sign-on and what do you need from us to set it up?',
    ['sso', 'plans'],
  ],
  [
    'Remove a former employee',
    'Someone left the company last week. How do we remove him and make sure his sessions end right away?',
    ['members', 'security'],
  ],
  [
    'Transfer ownership of the organisation',
    'Our founder is stepping back. How does she hand over the owner role to me?',
    ['roles', 'members'],
  ],
  [
    'VAT number on invoices',
    'We need our EU VAT number on every invoice for our accountant. Where can we add it?',
    ['billing', 'invoices'],
  ],
  [
    'Knowledge base search misses an article',
    'Searching for "refund" does not find your article on credits, although it talks about refunds. Could the wording be improved?',
    ['knowledge-base'],
  ],
  [
    'Webhook events arriving twice',
    'Our endpoint received the same invoice.paid event twice. Is that expected and how should we handle it?',
    ['api', 'webhooks'],
  ],
  [
    'Downgrade at the end of the year',
    'We want to move to Starter when our yearly plan ends. Will we lose any data if we downgrade?',
    ['billing', 'plans'],
  ],
  [
    'Password reset link expired',
    'The reset link says it has expired even though I clicked it within minutes of receiving it.',
    ['account', 'security'],
  ],
  [
    'Account suspended after failed payment',
    'We cannot create anything and see a payment required message. We have updated the card; how long until it is back?',
    ['billing', 'dunning'],
  ],
  [
    'Rate limit errors from our sync job',
    'Our nightly sync gets 429 responses after a few thousand requests. What are the limits and can they be raised?',
    ['api', 'rate-limits'],
  ],
  [
    'Change the billing email',
    'Receipts go to a mailbox nobody reads. How do we send invoices to accounts@ instead?',
    ['billing'],
  ],
  [
    'Support agent role permissions',
    'We gave a teammate the support agent role but she cannot see tickets other people opened. Is that by design?',
    ['roles', 'support'],
  ],
  [
    'Cancel our subscription',
    'We are consolidating tools and want to cancel at the end of this period. Can we keep read access to our data?',
    ['billing', 'cancellation'],
  ],
  [
    'Onboarding checklist stuck',
    'The onboarding checklist still says "invite a teammate" although we invited three people.',
    ['onboarding'],
  ],
  [
    'Refund for duplicate seats',
    'We accidentally added ten seats instead of one. Can the extra charge be credited?',
    ['billing', 'credits'],
  ],
];

const AGENT_REPLIES = [
  'Thanks for the clear description. I have looked into your account and can see what happened; here is what I found and what I changed.',
  'Good question. The short answer is yes, and our knowledge base has a step-by-step article on it. I have also checked your settings so it works for you.',
  'I reproduced this on our side and passed it to the engineers with your details. I will update this ticket as soon as I hear back.',
  'That is expected behaviour, although we could explain it better. Here is why it works that way and how to get the result you want.',
  'I made the change for you. Could you check on your side and let me know if anything still looks wrong?',
];
const FOLLOW_UPS = [
  'Thanks, that worked. One more thing: does this also apply to the people we invite later?',
  'I tried that but still see the same thing. I attached a screenshot of what I see.',
  'Perfect, thank you for the quick answer.',
];
const CSAT_COMMENTS: Record<number, string[]> = {
  5: ['Fast and friendly, thank you!', 'Solved in one reply. Great support.'],
  4: ['Helpful answer, took a little while.', 'Good explanation.'],
  3: ['It works now, but it took several emails.'],
  2: ['The answer did not really match my question.'],
  1: ['Waited far too long for a reply.'],
};
const CANCEL_COMMENTS = [
  'We are consolidating our tools under one vendor this year.',
  'Budget cuts for next year; we may come back.',
];

/** Words for the printed demo passwords: none is a role or a part of an email address. */
const PASSWORD_WORDS = [
  'amber',
  'basalt',
  'cedar',
  'delta',
  'ember',
  'fjord',
  'garnet',
  'harbor',
  'indigo',
  'juniper',
  'kelp',
  'lagoon',
  'mosaic',
  'nimbus',
  'opal',
  'prairie',
  'quartz',
  'saffron',
  'tundra',
  'violet',
];

/**
 * The demo passwords: derived from the seed (so a reset with the same seed
 * keeps them), long, and not guessable from the address; never stored, only printed.
 */
export function demoPassword(seed: string, email: string): string {
  const digest = createHmac('sha256', `groundwork-demo:${seed}`).update(email).digest();
  const words = [0, 1, 2].map((i) => PASSWORD_WORDS[digest[i] % PASSWORD_WORDS.length]);
  return `${words.join('-')}-${(digest.readUInt16BE(3) % 900) + 100}`;
}

const slugOf = (name: string): string =>
  name
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/&/g, 'and')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

const emailPart = (name: string): string => slugOf(name).replace(/-/g, '');

/** `date` plus `months` calendar months (UTC), the day clamped to the month's length. */
export function addMonths(date: Date, months: number): Date {
  const d = new Date(date);
  const day = d.getUTCDate();
  d.setUTCDate(1);
  d.setUTCMonth(d.getUTCMonth() + months);
  const last = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 0)).getUTCDate();
  d.setUTCDate(Math.min(day, last));
  return d;
}

const at = (base: Date, ms: number): Date => new Date(base.getTime() + ms);

/** The whole world, from the options alone: the same options always give the same world. */
export function buildDemoWorld(options: DemoOptions): DemoWorld {
  const root = new Prng(options.seed);
  const until = new Date(options.until);
  // A day of margin, so a yearly subscription started on the first day renews before the end.
  const start = at(addMonths(until, -options.months), -DAY);

  const staff: DemoStaff[] = [
    { name: 'Ada Lindqvist', email: `admin@${STAFF_DOMAIN}`, role: PlatformRole.Admin },
    { name: 'Sam Okafor', email: `agent@${STAFF_DOMAIN}`, role: PlatformRole.Support },
    { name: 'Lena Fischer', email: `lena.fischer@${STAFF_DOMAIN}`, role: PlatformRole.Support },
  ];
  const agents = staff.filter((s) => s.role === PlatformRole.Support).map((s) => s.email);

  const names = root.fork('companies').shuffle(COMPANIES);
  const tenants: DemoTenant[] = [];
  for (let i = 0; i < options.tenants; i++) {
    const story =
      i < STORIES_FIRST.length
        ? STORIES_FIRST[i]
        : STORIES_THEN[(i - STORIES_FIRST.length) % STORIES_THEN.length];
    const rng = root.fork(`tenant:${i}`);
    const base = i === 0 ? SHOWCASE.name : names[(i - 1) % names.length];
    const name = i - 1 >= names.length ? `${base} ${Math.floor((i - 1) / names.length) + 1}` : base;
    const slug = i === 0 ? SHOWCASE.slug : slugOf(name);
    const domain = i === 0 ? SHOWCASE.domain : `${slug}.demo`;
    const people = peopleFor(rng, story, domain, i === 0);
    const signupAt = signupOf(rng, story, start, until, options.months);
    const billing = billingFor(rng, story, signupAt, until, options.months, people.length);
    const tickets = ticketsFor(rng, {
      story,
      people,
      agents,
      signupAt,
      until,
      count: i === 0 ? Math.max(6, options.ticketsPerTenant) : options.ticketsPerTenant,
      showcase: i === 0,
    });
    const feedback = feedbackFor(rng, story, people, signupAt, until);
    tenants.push({ slug, name, story, signupAt, people, billing, tickets, feedback });
  }

  const showcase = tenants[0];
  const loginOf = (role: string, email: string, tenant: string | null): DemoLogin => ({
    role,
    email,
    password: demoPassword(options.seed, email),
    tenant,
  });
  const logins = [
    ...showcase.people
      .filter((p) => /^(owner|admin|member|billing)@/.test(p.email))
      .map((p) => loginOf(`${p.role} (${showcase.name})`, p.email, showcase.slug)),
    loginOf('platform admin', `admin@${STAFF_DOMAIN}`, null),
    loginOf('platform support agent', `agent@${STAFF_DOMAIN}`, null),
  ];
  const features: DemoFeatures = {
    at: at(start, 20 * DAY),
    cohort: {
      key: 'design_partners',
      name: 'Design partners',
      description: 'Customers who try new features first and tell us what they think.',
      // The showcase and the two healthy organisations after it.
      tenants: tenants
        .filter((t) => ['showcase', 'pro_yearly', 'enterprise'].includes(t.story))
        .map((t) => t.slug),
    },
    flags: [
      {
        key: 'ai_ticket_summaries',
        description:
          'A short summary at the top of long ticket threads, written by a language model.',
        planDefaults: {},
      },
      {
        key: 'kb_answer_suggestions',
        description: 'Suggest knowledge-base articles while a customer writes a ticket.',
        planDefaults: { enterprise: true },
      },
    ],
  };
  return { options: { ...options, until }, start, until, staff, tenants, features, logins };
}

const FEEDBACK_MESSAGES: Record<DemoFeedback['category'], string[]> = {
  bug: [
    'The invoice PDF link sometimes opens an empty page.',
    'Sorting tickets by priority forgets my choice.',
  ],
  feature_request: [
    'We would love a Slack notification when a ticket breaches its SLA.',
    'Please let us schedule a plan change for the start of next month.',
  ],
  billing: [
    'Proration on upgrades was clear, thank you.',
    'We would like invoices in EUR for our Dublin office.',
  ],
  support: [
    'Your agents answer quickly and know the product.',
    'It took two days to get a first answer.',
  ],
  usability: [
    'Inviting the whole team took under a minute.',
    'Finding the audit log took me a while.',
  ],
  performance: [
    'Search in the help centre is instant.',
    'Ticket lists are slow on Monday mornings.',
  ],
  other: ['Keep it up!', 'Good value for a team our size.'],
};

function feedbackFor(
  rng: Prng,
  story: DemoStory,
  people: DemoPerson[],
  signupAt: Date,
  until: Date,
): DemoFeedback[] {
  const last = story === 'suspended' ? at(until, -40 * DAY) : at(until, -HOUR);
  const feedback: DemoFeedback[] = [];
  // A quarterly NPS survey, answered by some of the people.
  for (let when = at(signupAt, 30 * DAY); when < last; when = at(when, 91 * DAY)) {
    for (const person of people) {
      if (!rng.chance(0.5)) continue;
      const score =
        story === 'suspended' || story === 'canceled'
          ? rng.int(2, 7)
          : rng.weighted([
              [10, 3],
              [9, 4],
              [8, 3],
              [7, 2],
              [6, 1],
              [4, 1],
            ] as const);
      const category =
        score >= 9
          ? 'other'
          : score >= 7
            ? 'feature_request'
            : rng.pick(['support', 'usability', 'billing'] as const);
      feedback.push({
        at: at(when, rng.int(1, 72) * HOUR),
        email: person.email,
        kind: 'nps',
        score,
        category,
        message: rng.chance(0.6) ? rng.pick(FEEDBACK_MESSAGES[category]) : null,
        page: '/survey/nps',
      });
    }
  }
  // Now and then a rating from inside the product.
  const ratings = rng.int(1, 3);
  for (let i = 0; i < ratings; i++) {
    const when = at(
      signupAt,
      Math.floor(rng.next() * Math.max(DAY, last.getTime() - signupAt.getTime())),
    );
    if (when >= last) continue;
    const category = rng.pick(['bug', 'usability', 'performance', 'billing', 'support'] as const);
    const score = category === 'bug' ? rng.int(2, 3) : rng.int(3, 5);
    feedback.push({
      at: when,
      email: rng.pick(people).email,
      kind: 'rating',
      score,
      category,
      message: rng.pick(FEEDBACK_MESSAGES[category]),
      page: rng.pick(['/billing', '/support/tickets', '/kb', '/settings/members']),
    });
  }
  return feedback.sort((a, b) => a.at.getTime() - b.at.getTime());
}

function personName(rng: Prng, used: Set<string>): string {
  for (;;) {
    const name = `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`;
    if (!used.has(name)) {
      used.add(name);
      return name;
    }
  }
}

function peopleFor(rng: Prng, story: DemoStory, domain: string, showcase: boolean): DemoPerson[] {
  const used = new Set<string>();
  if (showcase) {
    // Fixed addresses for the printed logins; real-looking names.
    return [
      { name: 'Olivia Bennett', email: `owner@${domain}`, role: TenantRole.Owner },
      { name: 'Marcus Reed', email: `admin@${domain}`, role: TenantRole.Admin },
      { name: 'Priya Natarajan', email: `member@${domain}`, role: TenantRole.Member },
      { name: 'Tomás Herrera', email: `billing@${domain}`, role: TenantRole.BillingManager },
      { name: 'Hannah Weiss', email: `hannah.weiss@${domain}`, role: TenantRole.SupportAgent },
      { name: 'Kwame Mensah', email: `kwame.mensah@${domain}`, role: TenantRole.Member },
    ];
  }
  // The free plan has five seats.
  const count = story === 'free' ? rng.int(2, 4) : rng.int(3, 7);
  const roles = [TenantRole.Owner, TenantRole.Admin, TenantRole.BillingManager];
  return Array.from({ length: count }, (_, i) => {
    const name = personName(rng, used);
    return {
      name,
      email: `${emailPart(name.split(' ')[0])}.${emailPart(name.split(' ')[1])}@${domain}`,
      role: roles[i] ?? TenantRole.Member,
    };
  });
}

function signupOf(rng: Prng, story: DemoStory, start: Date, until: Date, months: number): Date {
  switch (story) {
    case 'showcase':
    case 'pro_yearly':
    case 'recovered':
    case 'canceled':
      return at(start, rng.int(1, 6) * HOUR);
    case 'suspended':
      // Its last renewal (declined) must fall 20 days before the end: see billingFor.
      return at(addMonths(at(until, -20 * DAY), -Math.max(1, months - 2)), -2 * DAY);
    default: {
      // Somewhere in the first half of the history.
      const span = (until.getTime() - start.getTime()) / 2;
      return at(start, Math.floor(rng.next() * span));
    }
  }
}

function billingFor(
  rng: Prng,
  story: DemoStory,
  signupAt: Date,
  until: Date,
  months: number,
  seats: number,
): BillingStep[] {
  const good = { kind: 'add_card', card: CARDS.good, makeDefault: true } as const;
  const subscribeAt = at(signupAt, 2 * HOUR);
  const subscribe = (priceId: string): BillingStep[] => [
    { ...good, at: at(signupAt, HOUR) },
    { at: subscribeAt, kind: 'subscribe', priceId, quantity: seats },
  ];
  switch (story) {
    case 'showcase': {
      // Mid-way through the second period (the first when the history is short): up to Pro.
      const upgradeAt = at(addMonths(subscribeAt, months >= 3 ? 1 : 0), 12 * DAY);
      return [
        ...subscribe(DEMO_PRICES.STARTER_MONTH),
        { at: upgradeAt, kind: 'change', priceId: DEMO_PRICES.PRO_MONTH },
      ];
    }
    case 'recovered': {
      const failing = addMonths(subscribeAt, Math.max(1, Math.floor(months / 2)));
      return [
        ...subscribe(DEMO_PRICES.PRO_MONTH),
        { at: at(failing, -3 * DAY), kind: 'add_card', card: CARDS.failing, makeDefault: true },
        // Day 4 of the campaign: the customer puts in a new card, which is charged at once.
        {
          at: at(failing, 4 * DAY + 5 * HOUR),
          kind: 'add_card',
          card: CARDS.goodToo,
          makeDefault: true,
        },
      ];
    }
    case 'suspended': {
      const failing = addMonths(subscribeAt, Math.max(1, months - 2));
      return [
        ...subscribe(DEMO_PRICES.STARTER_MONTH),
        { at: at(failing, -2 * DAY), kind: 'add_card', card: CARDS.failing, makeDefault: true },
      ];
    }
    case 'canceled':
      return [
        ...subscribe(DEMO_PRICES.STARTER_MONTH),
        {
          at: at(until, -45 * DAY),
          kind: 'cancel',
          reason: rng.pick(['switched_service', 'too_expensive'] as const),
          comment: rng.pick(CANCEL_COMMENTS),
        },
      ];
    case 'pro_yearly':
      return subscribe(DEMO_PRICES.PRO_YEAR);
    case 'starter_yearly':
      return subscribe(DEMO_PRICES.STARTER_YEAR);
    case 'enterprise':
      return subscribe(DEMO_PRICES.ENTERPRISE_MONTH);
    case 'starter_eur':
      return subscribe(DEMO_PRICES.STARTER_EUR_MONTH);
    case 'pro_monthly':
      return subscribe(DEMO_PRICES.PRO_MONTH);
    case 'free':
      return [];
  }
}

interface TicketPlan {
  story: DemoStory;
  people: DemoPerson[];
  agents: string[];
  signupAt: Date;
  until: Date;
  count: number;
  showcase: boolean;
}

/** The showcase's first six tickets end in every status (and one breaches its SLA). */
const SHOWCASE_TICKETS: {
  status: TicketStatus;
  ageHours: number;
  replyAfterHours: number | null;
}[] = [
  { status: TicketStatus.Closed, ageHours: 40 * 24, replyAfterHours: 2 },
  { status: TicketStatus.Solved, ageHours: 60, replyAfterHours: 1 },
  { status: TicketStatus.OnHold, ageHours: 6 * 24, replyAfterHours: 30 },
  { status: TicketStatus.Pending, ageHours: 4 * 24, replyAfterHours: 3 },
  { status: TicketStatus.Open, ageHours: 30, replyAfterHours: 2 },
  { status: TicketStatus.New, ageHours: 70, replyAfterHours: null },
];

function ticketsFor(rng: Prng, plan: TicketPlan): DemoTicket[] {
  const { until } = plan;
  const first = at(plan.signupAt, DAY);
  // A suspended organisation cannot write: its tickets come before its troubles.
  const last = plan.story === 'suspended' ? at(until, -40 * DAY) : at(until, -2 * HOUR);
  const span = Math.max(HOUR, last.getTime() - first.getTime());
  const tickets: DemoTicket[] = [];
  for (let index = 0; index < plan.count; index++) {
    const [subject, description, tags] = rng.pick(TICKET_TOPICS);
    const requester = rng.pick(plan.people);
    const forced = plan.showcase ? SHOWCASE_TICKETS[index] : undefined;
    const createdAt = forced
      ? at(until, -forced.ageHours * HOUR)
      : at(first, Math.floor(rng.next() * span));
    const age = until.getTime() - createdAt.getTime();
    const finalStatus =
      forced?.status ??
      (age > 7 * DAY
        ? rng.weighted([
            [TicketStatus.Closed, 8],
            [TicketStatus.Solved, 0],
            [TicketStatus.OnHold, 1],
          ])
        : rng.weighted([
            [TicketStatus.New, 2],
            [TicketStatus.Open, 2],
            [TicketStatus.Pending, 2],
            [TicketStatus.OnHold, 1],
            [TicketStatus.Solved, 3],
          ]));
    // One in six answers is late enough to breach any tier's first-response target.
    const replyAfterHours =
      forced !== undefined
        ? forced.replyAfterHours
        : finalStatus === TicketStatus.New
          ? null
          : rng.chance(1 / 6)
            ? rng.int(28, 60)
            : rng.int(1, 6);
    const firstReplyAt =
      replyAfterHours === null
        ? null
        : new Date(Math.min(createdAt.getTime() + replyAfterHours * HOUR, until.getTime() - HOUR));
    const needsStatus = ![TicketStatus.New, TicketStatus.Open].includes(finalStatus);
    const followUp =
      firstReplyAt && needsStatus && rng.chance(0.4)
        ? { at: at(firstReplyAt, rng.int(1, 5) * HOUR), body: rng.pick(FOLLOW_UPS) }
        : null;
    const afterReply = followUp?.at ?? firstReplyAt;
    // Solved tickets close by themselves 96 hours later (SUPPORT_AUTO_CLOSE_HOURS);
    // the ones still "solved" at the end were solved recently.
    const statusAt =
      needsStatus && afterReply
        ? new Date(
            Math.min(
              afterReply.getTime() + rng.int(1, 8) * HOUR,
              finalStatus === TicketStatus.Solved ? until.getTime() - 30 * 60_000 : Infinity,
            ),
          )
        : null;
    const solved = finalStatus === TicketStatus.Solved || finalStatus === TicketStatus.Closed;
    const score = rng.weighted([
      [5, 45],
      [4, 30],
      [3, 12],
      [2, 8],
      [1, 5],
    ] as const);
    const rating =
      solved && statusAt && rng.chance(forced ? 1 : 0.75)
        ? {
            at: new Date(
              Math.min(statusAt.getTime() + rng.int(1, 20) * HOUR, until.getTime() - 60_000),
            ),
            score,
            comment: score <= 3 || rng.chance(0.5) ? rng.pick(CSAT_COMMENTS[score]) : undefined,
          }
        : null;
    tickets.push({
      index,
      requesterEmail: requester.email,
      subject,
      description,
      priority: rng.weighted([
        [TicketPriority.Low, 2],
        [TicketPriority.Normal, 5],
        [TicketPriority.High, 2],
        [TicketPriority.Urgent, 1],
      ]),
      tags,
      createdAt,
      finalStatus,
      firstReplyAt,
      agentEmail: plan.agents[index % plan.agents.length],
      agentReply: rng.pick(AGENT_REPLIES),
      requesterFollowUp: followUp,
      statusAt,
      rating,
    });
  }
  return tickets;
}
