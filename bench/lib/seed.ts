import 'reflect-metadata';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { v7 } from 'uuid';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { AppModule } from '../../src/app.module';
import { EntitlementService } from '../../src/billing/catalog/entitlement.service';
import { Clock } from '../../src/common/clock';
import { loadConfig } from '../../src/config/app-config';
import { hashPassword } from '../../src/identity/credentials';
import { User } from '../../src/identity/entities/user.entity';
import { TokenService } from '../../src/identity/token.service';
import { SupportQueueService } from '../../src/support/queue/support-queue.service';
import { AuthorRole, MessageKind } from '../../src/support/tickets/entities/ticket-message.entity';
import type { Ticket } from '../../src/support/tickets/entities/ticket.entity';
import {
  statusAfterReply,
  TicketPriority,
  TicketStatus,
} from '../../src/support/tickets/ticket-status';
import { MembershipService } from '../../src/tenancy/members/membership.service';
import { TenantProvisioningService } from '../../src/tenancy/tenant-provisioning.service';
import { BENCH_SECRETS } from './app-process';
import { generateArticles, prng, SUPPORT_WORDS, vocabulary } from './kb-articles';
import { inParallel } from './parallel';
import { buySubscription } from './renewals';

/** The password of every seeded user (hashed once: argon2 is the slow part of seeding users). */
export const SEED_PASSWORD = 'bench horse battery staple 42';

export interface SeededUser {
  id: string;
  email: string;
  role: TenantRole | PlatformRole;
  /** The organisation the session is in (null: platform staff). */
  tenantId: string | null;
  accessToken: string;
  refreshToken: string;
}

export interface SeededTenant {
  id: string;
  slug: string;
  schemaName: string;
  owner: SeededUser;
  /** Answers tickets as the agent. */
  admin: SeededUser;
  /** Sees only the tickets they raised. */
  member: SeededUser;
  /** Every seeded ticket, open or new (so replies are accepted). */
  ticketIds: string[];
}

export interface HttpDataSet {
  tenants: SeededTenant[];
  /** Platform support staff: reads the cross-tenant queue. */
  agent: SeededUser;
  /** Search words the articles contain (support vocabulary and generated words). */
  vocabulary: string[];
  tickets: number;
  articles: number;
  /** Seconds per phase: provisioning, articles, users, billing, tickets, analyze. */
  timings: Record<string, number>;
}

export interface SeedOptions {
  databaseUrl: string;
  dataDir: string;
  /** The running app: subscriptions are bought through its API, as a customer would. */
  appUrl: string;
  tenants: number;
  articles: number;
  /** Tickets per tenant: uniform in [min, max]. */
  ticketsPerTenant?: { min: number; max: number };
}

/** Parallel provisioning / API calls: more only queues on the 2-core machines we run on. */
const CONCURRENCY = 4;
const DAY_MS = 86_400_000;

/**
 * Seeds the HTTP scenario's data set, deterministically (seeded PRNG for every
 * choice, and for the UUIDv7 random bits):
 *
 * - tenants through `TenantProvisioningService` (row, schema, tenant migrations);
 * - an owner, an admin and a member per tenant (`User` + `MembershipService`,
 *   one argon2 hash for all), signed in through `TokenService`;
 * - a card and a paid monthly subscription per tenant through the API
 *   (`POST /v1/billing/payment-methods`, `POST /v1/billing/subscription`), so
 *   the customer, subscription, first invoice, lines and attempt are the
 *   billing engine's own;
 * - tickets with replies and status history by multi-row SQL, row for row what
 *   `TicketService.create` and `reply` write (ticket, messages, events, the
 *   `ticket.created` audit event, the `platform.support_queue` row with SLA due
 *   times from `SupportQueueService.dueTimes`) — not the notification mails;
 * - published articles from the `bench:kb` generator.
 */
export async function seedHttpDataSet(options: SeedOptions): Promise<HttpDataSet> {
  const random = prng(7);
  const timings: Record<string, number> = {};
  const timed = async <T>(phase: string, work: () => Promise<T>): Promise<T> => {
    const started = performance.now();
    const result = await work();
    timings[phase] = (performance.now() - started) / 1000;
    return result;
  };
  const app = await openContext(options);
  const client = new Client({ connectionString: options.databaseUrl });
  await client.connect();
  try {
    const provisioned = await timed('provisionSeconds', () =>
      inParallel(options.tenants, CONCURRENCY, (i) =>
        app.get(TenantProvisioningService).provision({
          slug: `bench-${String(i).padStart(5, '0')}`,
          name: `Bench Org ${i}`,
        }),
      ),
    );
    // Articles before users: the access tokens are issued last, so they outlive the load phases.
    const words = vocabulary(prng(42), 5_000);
    await timed('articlesSeconds', () =>
      generateArticles(client, options.articles, words, prng(42)),
    );
    const accounts = new Map<SeededUser, User>();
    const { tenants, agent } = await timed('usersSeconds', async () => {
      const seeded = await seedUsers(app, provisioned, accounts);
      await signIn(app, accounts);
      return seeded;
    });
    await timed('billingSeconds', () => subscribe(options.appUrl, tenants));
    const ticketsPerTenant = options.ticketsPerTenant ?? { min: 20, max: 50 };
    const tickets = await timed('ticketsSeconds', async () => {
      let count = 0;
      for (const tenant of tenants) {
        const { supportTier } = await app.get(EntitlementService).forTenant(tenant.id);
        const n =
          ticketsPerTenant.min +
          Math.floor(random() * (ticketsPerTenant.max - ticketsPerTenant.min + 1));
        count += await seedTickets(client, app, tenant, supportTier, n, random);
      }
      return count;
    });
    await timed('analyzeSeconds', () => client.query('vacuum analyze'));
    // Signed in again last: access tokens live 15 minutes, and seeding a full
    // data set on a busy machine can take most of that.
    await signIn(app, accounts);
    return {
      tenants,
      agent,
      vocabulary: words.slice(0, 500),
      tickets,
      articles: options.articles,
      timings,
    };
  } finally {
    await client.end();
    await app.close();
  }
}

/** The app's modules in this process (no HTTP, no job workers, no mail delivery). */
async function openContext(options: SeedOptions): Promise<INestApplicationContext> {
  const loaded = loadConfig({
    NODE_ENV: 'production',
    DATABASE_URL: options.databaseUrl,
    DATA_DIR: options.dataDir,
    LOG_LEVEL: 'warn',
    BILLING_GATEWAY: 'simulated',
    ...BENCH_SECRETS,
  });
  const config = { ...loaded, mail: { ...loaded.mail, deliver: false }, jobs: { work: false } };
  return NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: ['error', 'warn'],
  });
}

async function seedUsers(
  app: INestApplicationContext,
  provisioned: { id: string; slug: string; schemaName: string }[],
  accounts: Map<SeededUser, User>,
): Promise<{ tenants: SeededTenant[]; agent: SeededUser }> {
  const passwordHash = await hashPassword(SEED_PASSWORD);
  const memberships = app.get(MembershipService);
  const now = app.get(Clock).now();
  const person = (
    em: EntityManager,
    email: string,
    role: TenantRole | PlatformRole,
    tenantId: string | null,
  ): SeededUser => {
    const platformRole = Object.values(PlatformRole).includes(role as PlatformRole)
      ? (role as PlatformRole)
      : null;
    const user = em.create(User, {
      email,
      name: email.split('@')[0],
      passwordHash,
      emailVerifiedAt: now,
      platformRole,
      createdAt: now,
      updatedAt: now,
    });
    if (tenantId) memberships.add(em, tenantId, user.id, role as TenantRole);
    const seeded = { id: user.id, email, role, tenantId, accessToken: '', refreshToken: '' };
    accounts.set(seeded, user);
    return seeded;
  };
  const root = app.get(EntityManager);
  const tenants: SeededTenant[] = [];
  const BATCH = 100;
  for (let start = 0; start < provisioned.length; start += BATCH) {
    const em = root.fork();
    for (const t of provisioned.slice(start, start + BATCH)) {
      tenants.push({
        id: t.id,
        slug: t.slug,
        schemaName: t.schemaName,
        owner: person(em, `owner@${t.slug}.example.com`, TenantRole.Owner, t.id),
        admin: person(em, `admin@${t.slug}.example.com`, TenantRole.Admin, t.id),
        member: person(em, `member@${t.slug}.example.com`, TenantRole.Member, t.id),
        ticketIds: [],
      });
    }
    await em.flush();
  }
  const em = root.fork();
  const agent = person(em, 'agent@support.bench.example.com', PlatformRole.Support, null);
  await em.flush();
  return { tenants, agent };
}

/** A session for every seeded user (a new refresh-token family each), as a sign-in starts one. */
async function signIn(
  app: INestApplicationContext,
  accounts: Map<SeededUser, User>,
): Promise<void> {
  const tokens = app.get(TokenService);
  const seeded = [...accounts];
  const BATCH = 500;
  for (let start = 0; start < seeded.length; start += BATCH) {
    const em = app.get(EntityManager).fork();
    for (const [person, user] of seeded.slice(start, start + BATCH)) {
      const issued = tokens.issue(em, user, person.tenantId);
      person.accessToken = issued.accessToken;
      person.refreshToken = issued.refreshToken;
    }
    await em.flush();
  }
}

interface PricingBody {
  tiers: {
    code: string;
    prices: { currency: string; monthly: { priceId: string; unitAmount: number } | null }[];
  }[];
}

/** A card and a paid monthly plan per tenant, bought by the owner through the API. */
async function subscribe(appUrl: string, tenants: SeededTenant[]): Promise<void> {
  const pricing = (await (await fetch(`${appUrl}/v1/pricing`)).json()) as PricingBody;
  const paid = pricing.tiers.flatMap((tier) =>
    tier.prices
      .filter((p) => p.currency === 'usd' && p.monthly && p.monthly.unitAmount > 0)
      .map((p) => p.monthly!.priceId),
  );
  if (!paid.length) throw new Error('the catalog has no paid monthly USD price');
  await inParallel(tenants.length, CONCURRENCY, (i) =>
    buySubscription(appUrl, `Bearer ${tenants[i].owner.accessToken}`, tenants[i].slug, {
      priceId: paid[i % paid.length],
      quantity: 3,
    }),
  );
}

const PRIORITIES = [
  TicketPriority.Low,
  TicketPriority.Normal,
  TicketPriority.Normal,
  TicketPriority.Normal,
  TicketPriority.High,
  TicketPriority.Urgent,
];

/**
 * `n` tickets of the last 30 days in one tenant: raised by the owner or the
 * member, answered (or not yet) by the admin, with the requester writing back;
 * status and first response follow `statusAfterReply` as the service applies it.
 */
async function seedTickets(
  client: Client,
  app: INestApplicationContext,
  tenant: SeededTenant,
  supportTier: string,
  n: number,
  random: () => number,
): Promise<number> {
  const queue = app.get(SupportQueueService);
  const now = app.get(Clock).now().getTime();
  const id = (at: number) =>
    v7({ msecs: at, random: Uint8Array.from({ length: 16 }, () => Math.floor(random() * 256)) });
  const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)];
  const phrase = (words: number) =>
    Array.from({ length: words }, () => pick(SUPPORT_WORDS)).join(' ');
  const tickets: unknown[][] = [];
  const messages: unknown[][] = [];
  const events: unknown[][] = [];
  const audits: unknown[][] = [];
  const queueRows: unknown[][] = [];
  // Oldest first, so numbers and UUIDv7 ids grow with creation time as they do live.
  const created = Array.from({ length: n }, () => now - Math.floor(random() * 30 * DAY_MS)).sort(
    (a, b) => a - b,
  );
  for (let number = 1; number <= n; number++) {
    const createdAt = created[number - 1];
    const ticketId = id(createdAt);
    const requester = random() < 0.5 ? tenant.owner : tenant.member;
    const priority = pick(PRIORITIES);
    let status = TicketStatus.New;
    let firstResponseAt: Date | null = null;
    let at = createdAt;
    const statusEvents: { toValue: string; at: Date }[] = [];
    const replies = Math.floor(random() * 5);
    for (let r = 0; r < replies; r++) {
      // The admin answers first; then the two take turns.
      const agent = r % 2 === 0;
      at = Math.min(now, at + Math.floor(random() * 8 * 3_600_000) + 60_000);
      const author = agent ? tenant.admin : requester;
      const next = statusAfterReply(status, agent ? 'agent' : 'requester');
      if (next !== status) {
        events.push([id(at), ticketId, author.id, 'status', status, next, new Date(at)]);
        statusEvents.push({ toValue: next, at: new Date(at) });
        status = next;
      }
      if (agent && !firstResponseAt) firstResponseAt = new Date(at);
      messages.push([
        id(at),
        ticketId,
        MessageKind.Reply,
        author.id,
        agent ? AuthorRole.Agent : AuthorRole.Requester,
        `${phrase(12)}.\n\n${phrase(20)}.`,
        new Date(at),
      ]);
    }
    const subject = `${phrase(4)} ${number}`;
    const updatedAt = new Date(at);
    tickets.push([
      ticketId,
      number,
      subject,
      `${phrase(25)}.\n\n${phrase(30)}.`,
      status,
      priority,
      `{${pick(SUPPORT_WORDS)}}`,
      requester.id,
      firstResponseAt,
      new Date(createdAt),
      updatedAt,
    ]);
    audits.push([id(createdAt), requester.id, ticketId, new Date(createdAt)]);
    const due = queue.dueTimes(
      { priority, createdAt: new Date(createdAt), firstResponseAt, solvedAt: null } as Ticket,
      statusEvents,
      supportTier,
    );
    // The once-a-minute breach job would have marked what is already overdue;
    // left unmarked, its first run after seeding marks (and logs) thousands at once.
    const overdue = (dueAt: Date | null) => (dueAt && dueAt.getTime() < now ? dueAt : null);
    queueRows.push([
      ticketId,
      tenant.id,
      number,
      status,
      priority,
      requester.id,
      due.firstResponseDueAt,
      due.resolutionDueAt,
      firstResponseAt,
      firstResponseAt ? null : overdue(due.firstResponseDueAt),
      overdue(due.resolutionDueAt),
      new Date(createdAt),
      updatedAt,
    ]);
    tenant.ticketIds.push(ticketId);
  }
  const schema = `"${tenant.schemaName}"`;
  await client.query('begin');
  await insertRows(
    client,
    `${schema}.ticket (id, number, subject, description, status, priority, channel, tags,
       requester_id, first_response_at, created_at, updated_at)`,
    [
      'uuid',
      'int',
      'text',
      'text',
      'text',
      'text',
      'text',
      'uuid',
      'timestamptz',
      'timestamptz',
      'timestamptz',
    ],
    tickets,
    (c) =>
      `${c[0]}, ${c[1]}, ${c[2]}, ${c[3]}, ${c[4]}, ${c[5]}, 'web', ${c[6]}::text[], ${c.slice(7).join(', ')}`,
  );
  await insertRows(
    client,
    `${schema}.ticket_message (id, ticket_id, kind, author_id, author_role, body, created_at)`,
    ['uuid', 'uuid', 'text', 'uuid', 'text', 'text', 'timestamptz'],
    messages,
  );
  await insertRows(
    client,
    `${schema}.ticket_event (id, ticket_id, actor_id, field, from_value, to_value, at)`,
    ['uuid', 'uuid', 'uuid', 'text', 'text', 'text', 'timestamptz'],
    events,
  );
  await insertRows(
    client,
    `${schema}.audit_event (id, actor_type, actor_id, action, target_type, target_id, data, at)`,
    ['uuid', 'text', 'uuid', 'timestamptz'],
    audits,
    (c) => `${c[0]}, 'user', ${c[1]}, 'ticket.created', 'ticket', ${c[2]}, '{}'::jsonb, ${c[3]}`,
  );
  await insertRows(
    client,
    `platform.support_queue (ticket_id, tenant_id, number, status, priority, requester_id,
       first_response_due_at, resolution_due_at, first_response_at, first_response_breached_at,
       resolution_breached_at, created_at, updated_at)`,
    [
      'uuid',
      'uuid',
      'int',
      'text',
      'text',
      'uuid',
      'timestamptz',
      'timestamptz',
      'timestamptz',
      'timestamptz',
      'timestamptz',
      'timestamptz',
      'timestamptz',
    ],
    queueRows,
  );
  await client.query(`select setval('${schema}.ticket_number_seq', $1)`, [n]);
  await client.query('commit');
  return n;
}

/**
 * One `insert … select from unnest(…)` for all rows: a column array per
 * parameter, so thousands of rows cost one round trip. `select` builds the
 * select list from the unnested columns (`c[i]`) when it is not them as they are.
 */
async function insertRows(
  client: Client,
  target: string,
  types: string[],
  rows: unknown[][],
  select: (columns: string[]) => string = (c) => c.join(', '),
): Promise<void> {
  if (!rows.length) return;
  const columns = types.map((_, i) => `c${i}`);
  const params = types.map((_, i) => rows.map((row) => row[i]));
  await client.query(
    `insert into ${target}
     select ${select(columns)}
     from unnest(${types.map((t, i) => `$${i + 1}::${t}[]`).join(', ')}) as u(${columns.join(', ')})`,
    params,
  );
}
