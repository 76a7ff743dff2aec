import { randomBytes } from 'node:crypto';
import { EntityManager } from '@mikro-orm/postgresql';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ManualClock } from '../common/clock';
import { hashPassword, normalizeEmail } from '../identity/credentials';
import { User } from '../identity/entities/user.entity';
import { TokenService } from '../identity/token.service';
import { BillingRunService } from '../billing/subscriptions/billing-run.service';
import { RecoveryService } from '../billing/recovery/recovery.service';
import { SupportAutoCloseService } from '../support/queue/auto-close.service';
import { SlaBreachService } from '../support/queue/sla-breach.service';
import { TicketStatus } from '../support/tickets/ticket-status';
import { MembershipService } from '../tenancy/members/membership.service';
import { TenantProvisioningService } from '../tenancy/tenant-provisioning.service';
import {
  BillingStep,
  DemoFeatures,
  demoPassword,
  DemoTenant,
  DemoTicket,
  DemoWorld,
} from './demo-world';
import { KbContentCategory, loadKbContent } from './kb-content';
import { takeOverClock } from './simulated-time';

const HOUR = 3_600_000;
/** How far the simulation moves between two sweeps (SLA breaches, auto-close) when nothing else happens. */
const HOP = 6 * HOUR;

export interface DemoProgress {
  (done: number, total: number, phase: string): void;
}

export interface DemoSummary {
  tenants: number;
  users: number;
  kbArticles: number;
  kbCategories: number;
  tickets: number;
  /** Actions the world asked for that the app refused, e.g. a write by a suspended organisation (402). */
  refused: number;
  /** The first few refusals, for `--verbose`. */
  refusals: string[];
  renewals: number;
  dunningSteps: number;
  retries: number;
  feedback: number;
  featureFlags: number;
  betaCohorts: number;
  ms: number;
}

interface Action {
  at: Date;
  seq: number;
  label: string;
  run: () => Promise<void>;
}

interface DueEvent {
  kind: 'renewal' | 'dunning_step' | 'retry';
  id: string;
  at: Date;
  step: number | null;
}

/** Raised when the app answers an action of the world with something unexpected. */
export class DemoStepError extends Error {}

/**
 * Builds a demo world in a running (not listening) application: the people,
 * organisations and knowledge base first, then the whole history in time
 * order, through the same HTTP routes and services customers and the
 * scheduler use, on a manual clock that starts `months` before `until`.
 * Between actions the clock stops at every renewal, dunning step and
 * payment retry that falls due, and the SLA and auto-close sweeps run every
 * few hours of simulated time, as the cron jobs would.
 */
export class DemoGenerator {
  private clock!: ManualClock;
  private readonly users = new Map<string, User>();
  private readonly tenantIds = new Map<string, string>();
  private readonly ticketIds = new Map<string, string>();
  private readonly tokens = new Map<
    string,
    { token: string; issuedAt: number; simulatedAt: number }
  >();
  private readonly stuck = new Set<string>();
  private summary!: DemoSummary;
  private sharedHash?: Promise<string>;

  constructor(
    private readonly app: NestFastifyApplication,
    private readonly world: DemoWorld,
    private readonly options: { onProgress?: DemoProgress; kb?: KbContentCategory[] } = {},
  ) {}

  async run(): Promise<DemoSummary> {
    const started = performance.now();
    const { clock, release } = takeOverClock(this.app, this.world.start);
    this.clock = clock;
    this.summary = {
      tenants: 0,
      users: 0,
      kbArticles: 0,
      kbCategories: 0,
      tickets: 0,
      refused: 0,
      refusals: [],
      renewals: 0,
      dunningSteps: 0,
      retries: 0,
      feedback: 0,
      featureFlags: 0,
      betaCohorts: 0,
      ms: 0,
    };
    try {
      await this.createStaff();
      const kb = this.options.kb ?? loadKbContent();
      const actions = this.plan();
      const total = kb.reduce((n, c) => n + c.articles.length, 0) + actions.length + 1;
      let done = 0;
      const tick = (phase: string) => this.options.onProgress?.(++done, total, phase);
      await this.createKnowledgeBase(kb, () => tick('knowledge base'));
      for (const action of actions) {
        await this.advanceTo(action.at);
        await action.run();
        tick(action.label);
      }
      await this.advanceTo(this.world.until);
      tick('done');
      this.summary.ms = Math.round(performance.now() - started);
      return this.summary;
    } finally {
      release();
    }
  }

  // ---- the plan --------------------------------------------------------------------------

  /** Every action of every organisation, in time order (ties in the order they were planned). */
  private plan(): Action[] {
    const actions: Omit<Action, 'seq'>[] = [];
    for (const tenant of this.world.tenants) {
      actions.push({
        at: tenant.signupAt,
        label: `sign-up ${tenant.slug}`,
        run: () => this.signUp(tenant),
      });
      for (const step of tenant.billing) {
        actions.push({
          at: step.at,
          label: `${step.kind} ${tenant.slug}`,
          run: () => this.billing(tenant, step),
        });
      }
      for (const ticket of tenant.tickets) actions.push(...this.ticketActions(tenant, ticket));
      for (const feedback of tenant.feedback) {
        actions.push({
          at: feedback.at,
          label: `feedback ${tenant.slug}`,
          run: async () => {
            const res = await this.call('POST', '/v1/feedback', {
              as: feedback.email,
              tenant: tenant.slug,
              body: {
                kind: feedback.kind,
                score: feedback.score,
                category: feedback.category,
                ...(feedback.message ? { message: feedback.message } : {}),
                context: { page: feedback.page },
              },
            });
            if (res) this.summary.feedback++;
          },
        });
      }
    }
    const features = this.world.features;
    actions.push({ at: features.at, label: 'beta cohort', run: () => this.features(features) });
    return actions
      .map((action, seq) => ({ ...action, seq }))
      .sort((a, b) => a.at.getTime() - b.at.getTime() || a.seq - b.seq);
  }

  private ticketActions(tenant: DemoTenant, ticket: DemoTicket): Omit<Action, 'seq'>[] {
    const key = `${tenant.slug}#${ticket.index}`;
    const label = `ticket ${key}`;
    const path = () => `/v1/support/tickets/${this.ticketIds.get(key)}`;
    const ifCreated = (fn: () => Promise<void>) => () =>
      this.ticketIds.has(key) ? fn() : Promise.resolve();
    const actions: Omit<Action, 'seq'>[] = [
      {
        at: ticket.createdAt,
        label,
        run: async () => {
          const res = await this.call('POST', '/v1/support/tickets', {
            as: ticket.requesterEmail,
            tenant: tenant.slug,
            body: {
              subject: ticket.subject,
              description: ticket.description,
              priority: ticket.priority,
              tags: ticket.tags,
            },
          });
          if (res) {
            this.ticketIds.set(key, (res as { id: string }).id);
            this.summary.tickets++;
          }
        },
      },
    ];
    if (ticket.firstReplyAt) {
      actions.push({
        at: ticket.firstReplyAt,
        label,
        run: ifCreated(async () => {
          const agent = { as: ticket.agentEmail, tenant: tenant.slug };
          await this.call('PATCH', path(), {
            ...agent,
            body: { assigneeId: this.userId(ticket.agentEmail) },
          });
          await this.call('POST', `${path()}/replies`, {
            ...agent,
            body: { body: ticket.agentReply },
          });
        }),
      });
    }
    if (ticket.requesterFollowUp) {
      const followUp = ticket.requesterFollowUp;
      actions.push({
        at: followUp.at,
        label,
        run: ifCreated(async () => {
          await this.call('POST', `${path()}/replies`, {
            as: ticket.requesterEmail,
            tenant: tenant.slug,
            body: { body: followUp.body },
          });
        }),
      });
    }
    if (ticket.statusAt) {
      // A closed ticket was solved first; the auto-close sweep closes it 96 hours later.
      const status =
        ticket.finalStatus === TicketStatus.Closed ? TicketStatus.Solved : ticket.finalStatus;
      actions.push({
        at: ticket.statusAt,
        label,
        run: ifCreated(async () => {
          await this.call('PATCH', path(), {
            as: ticket.agentEmail,
            tenant: tenant.slug,
            body: { status },
          });
        }),
      });
    }
    if (ticket.rating) {
      const rating = ticket.rating;
      actions.push({
        at: rating.at,
        label,
        run: ifCreated(async () => {
          await this.call('POST', `${path()}/rating`, {
            as: ticket.requesterEmail,
            tenant: tenant.slug,
            body: { score: rating.score, ...(rating.comment ? { comment: rating.comment } : {}) },
          });
        }),
      });
    }
    return actions;
  }

  // ---- people, organisations, knowledge base ---------------------------------------------

  private em(): EntityManager {
    return this.app.get(EntityManager).fork();
  }

  private passwordHashFor(email: string): Promise<string> {
    if (this.world.logins.some((login) => login.email === email)) {
      return hashPassword(demoPassword(this.world.options.seed, email));
    }
    // Everyone else in the world has a long random password nobody knows (one hash serves all).
    this.sharedHash ??= hashPassword(randomBytes(24).toString('base64url'));
    return this.sharedHash;
  }

  private newUser(
    em: EntityManager,
    person: { name: string; email: string },
    hash: string,
    platformRole: User['platformRole'] = null,
  ): User {
    const now = this.clock.now();
    const user = em.create(User, {
      email: normalizeEmail(person.email),
      name: person.name,
      passwordHash: hash,
      platformRole,
      // The addresses are made up (.demo): they count as confirmed so nothing waits on a mail.
      emailVerifiedAt: now,
      createdAt: now,
      updatedAt: now,
    });
    this.users.set(user.email, user);
    this.summary.users++;
    return user;
  }

  private async createStaff(): Promise<void> {
    const em = this.em();
    for (const person of this.world.staff) {
      this.newUser(em, person, await this.passwordHashFor(person.email), person.role);
    }
    await em.flush();
  }

  private async signUp(tenant: DemoTenant): Promise<void> {
    const hashes = await Promise.all(tenant.people.map((p) => this.passwordHashFor(p.email)));
    const memberships = this.app.get(MembershipService, { strict: false });
    const created = await this.app
      .get(TenantProvisioningService, { strict: false })
      .provision({ slug: tenant.slug, name: tenant.name }, async (em, row) => {
        tenant.people.forEach((person, i) => {
          const user = this.newUser(em, person, hashes[i]);
          memberships.add(em, row.id, user.id, person.role);
        });
        await em.flush();
      });
    this.tenantIds.set(tenant.slug, created.id);
    this.summary.tenants++;
  }

  private async createKnowledgeBase(kb: KbContentCategory[], tick: () => void): Promise<void> {
    const admin = this.world.staff[0].email;
    for (const [order, category] of kb.entries()) {
      const created = (await this.call('POST', '/v1/admin/kb/categories', {
        as: admin,
        body: { slug: category.slug, name: category.name, sortOrder: (order + 1) * 10 },
        required: true,
      })) as { id: string };
      this.summary.kbCategories++;
      for (const article of category.articles) {
        const draft = (await this.call('POST', '/v1/admin/kb/articles', {
          as: admin,
          body: {
            categoryId: created.id,
            title: article.title,
            slug: article.slug,
            locale: article.locale,
            body: article.body,
            tags: article.tags,
            visibility: 'public',
          },
          required: true,
        })) as { id: string };
        await this.call('POST', `/v1/admin/kb/articles/${draft.id}/publish`, {
          as: admin,
          required: true,
        });
        this.summary.kbArticles++;
        tick();
      }
    }
  }

  /** The beta cohort and its flags, by the platform admin through the admin API. */
  private async features(features: DemoFeatures): Promise<void> {
    const admin = { as: this.world.staff[0].email, required: true };
    const { cohort } = features;
    await this.call('POST', '/v1/admin/cohorts', {
      ...admin,
      body: { key: cohort.key, name: cohort.name, description: cohort.description },
    });
    this.summary.betaCohorts++;
    for (const slug of cohort.tenants) {
      const tenantId = this.tenantIds.get(slug);
      if (tenantId) {
        await this.call('PUT', `/v1/admin/cohorts/${cohort.key}/members/${tenantId}`, admin);
      }
    }
    for (const flag of features.flags) {
      await this.call('POST', '/v1/admin/features', {
        ...admin,
        body: {
          key: flag.key,
          description: flag.description,
          defaultEnabled: false,
          planDefaults: flag.planDefaults,
        },
      });
      await this.call('PUT', `/v1/admin/features/${flag.key}/cohorts/${cohort.key}`, {
        ...admin,
        body: { enabled: true },
      });
      this.summary.featureFlags++;
    }
  }

  // ---- billing ---------------------------------------------------------------------------

  private async billing(tenant: DemoTenant, step: BillingStep): Promise<void> {
    const owner = { as: tenant.people[0].email, tenant: tenant.slug };
    switch (step.kind) {
      case 'add_card':
        await this.call('POST', '/v1/billing/payment-methods', {
          ...owner,
          body: { paymentMethodId: step.card, makeDefault: step.makeDefault },
        });
        return;
      case 'subscribe':
        await this.call('POST', '/v1/billing/subscription', {
          ...owner,
          body: { priceId: step.priceId, quantity: step.quantity },
        });
        return;
      case 'change':
        await this.call('POST', '/v1/billing/subscription/change', {
          ...owner,
          body: { priceId: step.priceId },
        });
        return;
      case 'cancel':
        await this.call('POST', '/v1/billing/subscription/cancel', {
          ...owner,
          body: { reason: step.reason, comment: step.comment },
        });
        return;
    }
  }

  /**
   * Moves the clock to `target` as the scheduler would see time pass: each
   * renewal, dunning step and retry runs at its own moment (the clock stops
   * there), through the same service methods the jobs call; every few hours
   * the SLA-breach and auto-close sweeps run.
   */
  private async advanceTo(target: Date): Promise<void> {
    if (target <= this.clock.now()) return this.runDue(this.clock.now());
    for (let hop = this.clock.now().getTime() + HOP; hop < target.getTime(); hop += HOP) {
      await this.runDue(new Date(hop));
      this.clock.set(new Date(hop));
      await this.sweep();
    }
    await this.runDue(target);
    this.clock.set(target);
    await this.sweep();
  }

  private async sweep(): Promise<void> {
    await this.app.get(SlaBreachService, { strict: false }).markBreaches();
    await this.app.get(SupportAutoCloseService, { strict: false }).closeDue();
  }

  private async runDue(until: Date): Promise<void> {
    const billingRun = this.app.get(BillingRunService, { strict: false });
    const recovery = this.app.get(RecoveryService, { strict: false });
    await billingRun.expireIncomplete();
    for (;;) {
      const next = await this.nextDue(until);
      if (!next) return;
      if (next.at > this.clock.now()) this.clock.set(next.at);
      let progressed = false;
      switch (next.kind) {
        case 'renewal': {
          const result = await billingRun.renew(next.id, next.at);
          progressed = result.result !== 'skipped';
          this.summary.renewals++;
          break;
        }
        case 'dunning_step':
          progressed = await recovery.runStep(next.id, next.step!);
          this.summary.dunningSteps++;
          break;
        case 'retry': {
          const outcome = await recovery.retry(next.id);
          progressed = !['not_due', 'in_progress', 'nothing_due'].includes(outcome.status);
          this.summary.retries++;
          break;
        }
      }
      // Something that cannot move on is left alone rather than retried forever.
      if (!progressed) this.stuck.add(`${next.kind}:${next.id}:${next.at.toISOString()}`);
      await billingRun.expireIncomplete();
    }
  }

  /** The earliest renewal, dunning step or retry due by `until` across all organisations (what the cron sweeps find). */
  private async nextDue(until: Date): Promise<DueEvent | null> {
    const rows = await this.em().execute<
      { kind: DueEvent['kind']; id: string; at: Date; step: number | null }[]
    >(
      `select due.kind, due.id, due.at, due.step from (
         select 'renewal' as kind, s.id, s.tenant_id, s.current_period_end as at, null::int as step
           from platform.subscription s
          where s.status in ('active', 'trialing', 'past_due') and s.current_period_end <= ?
         union all
         select 'dunning_step', c.id, c.tenant_id, c.next_step_at, c.next_step
           from platform.dunning_campaign c
          where c.status = 'active' and c.next_step_at <= ?
         union all
         select 'retry', i.id, i.tenant_id, i.next_attempt_at, null
           from platform.invoice i
          where i.status = 'open' and i.next_attempt_at <= ?
       ) due
       join platform.tenant t on t.id = due.tenant_id
       order by due.at, case due.kind when 'renewal' then 0 when 'retry' then 1 else 2 end, t.slug
       limit 20`,
      [until, until, until],
    );
    for (const row of rows) {
      const event = { ...row, at: new Date(row.at) };
      if (!this.stuck.has(`${event.kind}:${event.id}:${event.at.toISOString()}`)) return event;
    }
    return null;
  }

  // ---- HTTP ------------------------------------------------------------------------------

  private userId(email: string): string {
    const user = this.users.get(normalizeEmail(email));
    if (!user) throw new DemoStepError(`No demo user ${email}`);
    return user.id;
  }

  /** A valid access token for `email` acting in `tenantSlug` (reissued well before it expires). */
  private async tokenFor(email: string, tenantSlug: string | undefined): Promise<string> {
    const key = `${email}|${tenantSlug ?? ''}`;
    const cached = this.tokens.get(key);
    // An access token expires by the wall clock (15 minutes); its session (the refresh
    // token's row) by the simulated one (30 days): a new one well before either.
    if (
      cached &&
      Date.now() - cached.issuedAt < 10 * 60_000 &&
      this.clock.now().getTime() - cached.simulatedAt < 7 * 24 * HOUR
    ) {
      return cached.token;
    }
    const em = this.em();
    const user = this.users.get(normalizeEmail(email));
    if (!user) throw new DemoStepError(`No demo user ${email}`);
    const tenantId = tenantSlug ? this.tenantIds.get(tenantSlug) : undefined;
    const member = tenantSlug
      ? this.world.tenants.find((t) => t.slug === tenantSlug)?.people.some((p) => p.email === email)
      : false;
    const issued = this.app
      .get(TokenService, { strict: false })
      .issue(em, user, member ? (tenantId ?? null) : null);
    await em.flush();
    this.tokens.set(key, {
      token: issued.accessToken,
      issuedAt: Date.now(),
      simulatedAt: this.clock.now().getTime(),
    });
    return issued.accessToken;
  }

  /**
   * One request through the whole HTTP pipeline (authentication, tenant,
   * policies, billing gate, validation). A refusal the world can meet (402 for
   * a suspended organisation, a 409/422 from a state the story did not foresee)
   * is counted and skipped, unless the step is `required`.
   */
  private async call(
    method: 'GET' | 'POST' | 'PATCH' | 'PUT',
    url: string,
    options: { as: string; tenant?: string; body?: object; required?: boolean },
  ): Promise<unknown> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${await this.tokenFor(options.as, options.tenant)}`,
    };
    if (options.tenant)
      headers['x-tenant-id'] = this.tenantIds.get(options.tenant) ?? options.tenant;
    const res = await this.app.inject({
      method,
      url,
      headers,
      ...(options.body ? { payload: options.body } : {}),
    });
    if (res.statusCode < 300) return res.body ? (JSON.parse(res.body) as unknown) : null;
    if (
      options.required ||
      res.statusCode >= 500 ||
      res.statusCode === 401 ||
      res.statusCode === 403
    ) {
      throw new DemoStepError(`${method} ${url} as ${options.as}: ${res.statusCode} ${res.body}`);
    }
    this.summary.refused++;
    if (this.summary.refusals.length < 50) {
      this.summary.refusals.push(
        `${method} ${url} as ${options.as}: ${res.statusCode} ${res.body.slice(0, 300)}`,
      );
    }
    return null;
  }
}
