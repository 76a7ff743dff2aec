import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { JobQueue } from '../../common/jobs/job-queue';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { EntitlementService } from '../catalog/entitlement.service';
import { BillingCustomer } from '../entities/billing-customer.entity';
import { Invoice, InvoiceReason, InvoiceStatus } from '../entities/invoice.entity';
import { AttemptStatus, AttemptTrigger } from '../entities/payment-attempt.entity';
import { PaymentMethod } from '../entities/payment-method.entity';
import { CollectOutcome, PaymentService } from '../payments/payment.service';
import { BillingRunService, RenewalResult } from '../subscriptions/billing-run.service';
import { DunningService } from './dunning.service';
import { RecoveryMail } from './recovery-mails';
import { RecoveryMailer } from './recovery-mailer';
import { RecoveryPolicyService } from './recovery-policy.service';

export const RECOVERY_SWEEP_QUEUE = 'billing.recovery';
export const DUNNING_STEP_QUEUE = 'billing.dunning-step';
export const RETRY_QUEUE = 'billing.retry';
export const RECONCILE_QUEUE = 'billing.reconcile';
export const CARD_EXPIRY_QUEUE = 'billing.card-expiry';

/** An unknown outcome is left this long for its webhook before the reconciler asks. */
const RECONCILE_AFTER_MS = 60_000;
/** A pending attempt older than this is presumed dead (same lease as the payment service). */
const PENDING_LEASE_MS = 5 * 60_000;
const SWEEP_LIMIT = 1_000;

interface StepJob {
  campaignId: string;
  step: number;
}
interface RetryJob {
  invoiceId: string;
}
interface ReconcileJob {
  attemptId: string;
}

/** What a test clock ran while it moved, in order. */
export interface ClockEvent {
  at: Date;
  kind: 'renewal' | 'retry' | 'dunning_step';
  subjectId: string;
  /** For a dunning step: which one. */
  step?: number;
}

/**
 * Payment recovery in motion. A sweep (on the billing run's cron, once across
 * replicas) finds what is due by each tenant's billing time — dunning steps,
 * scheduled retries, attempts whose outcome is unknown — and queues one
 * durable job for each, keyed so the same work is never queued twice. Each
 * job is idempotent on its own (the step and retry slot are taken in a
 * transaction), so a crash, a retried job or two replicas change nothing.
 */
@Injectable()
export class RecoveryService implements OnModuleInit {
  private readonly logger = new Logger('Recovery');

  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobQueue,
    private readonly payments: PaymentService,
    private readonly dunning: DunningService,
    private readonly billingRun: BillingRunService,
    private readonly entitlements: EntitlementService,
    private readonly mailer: RecoveryMailer,
    private readonly policies: RecoveryPolicyService,
    private readonly clock: Clock,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.jobs.define({
      name: RECOVERY_SWEEP_QUEUE,
      cron: this.config.billing.runCron,
      retryLimit: 0,
      handle: async () => {
        const queued = await this.enqueueDue();
        if (queued.steps + queued.retries + queued.reconciles > 0) {
          this.logger.log(queued, 'recovery sweep queued work');
        }
      },
    });
    this.jobs.define<StepJob>({
      name: DUNNING_STEP_QUEUE,
      policy: 'stately',
      retryDelaySeconds: 30,
      handle: async ({ campaignId, step }) => {
        await this.runStep(campaignId, step);
      },
    });
    this.jobs.define<RetryJob>({
      name: RETRY_QUEUE,
      policy: 'stately',
      retryDelaySeconds: 60,
      handle: async ({ invoiceId }) => {
        await this.retry(invoiceId);
      },
    });
    this.jobs.define<ReconcileJob>({
      name: RECONCILE_QUEUE,
      policy: 'stately',
      retryDelaySeconds: 60,
      handle: async ({ attemptId }) => {
        await this.payments.settle(attemptId);
      },
    });
    this.jobs.define({
      name: CARD_EXPIRY_QUEUE,
      cron: '17 * * * *',
      retryLimit: 0,
      handle: async () => {
        const sent = await this.sendCardExpiryNotices();
        if (sent > 0) this.logger.log({ sent }, 'card-expiring notices queued');
      },
    });
  }

  /** Queues every due step, retry and reconciliation; returns how many of each. */
  async enqueueDue(): Promise<{ steps: number; retries: number; reconciles: number }> {
    const [steps, retries, attempts] = await Promise.all([
      this.dueSteps(),
      this.dueRetries(),
      this.unsettledAttempts(),
    ]);
    let queued = { steps: 0, retries: 0, reconciles: 0 };
    for (const row of steps) {
      const id = await this.jobs.send<StepJob>(
        DUNNING_STEP_QUEUE,
        { campaignId: row.id, step: row.step },
        { singletonKey: `step:${row.id}:${row.step}` },
      );
      if (id) queued = { ...queued, steps: queued.steps + 1 };
    }
    for (const row of retries) {
      const id = await this.jobs.send<RetryJob>(
        RETRY_QUEUE,
        { invoiceId: row.id },
        { singletonKey: `retry:${row.id}:${row.at.toISOString()}` },
      );
      if (id) queued = { ...queued, retries: queued.retries + 1 };
    }
    for (const row of attempts) {
      const id = await this.jobs.send<ReconcileJob>(
        RECONCILE_QUEUE,
        { attemptId: row.id },
        { singletonKey: `reconcile:${row.id}` },
      );
      if (id) queued = { ...queued, reconciles: queued.reconciles + 1 };
    }
    return queued;
  }

  /** Runs one step if it is still the campaign's next and due. */
  async runStep(campaignId: string, step: number): Promise<boolean> {
    const ran = await this.dunning.runStep(this.em, campaignId, step);
    if (ran) {
      const [row] = await this.em
        .fork()
        .execute<{ tenant_id: string }[]>(
          'select tenant_id from platform.dunning_campaign where id = ?',
          [campaignId],
        );
      if (row) this.entitlements.invalidate(row.tenant_id);
    }
    return ran;
  }

  /** The scheduled retry of an invoice, if its slot is due (else nothing). */
  retry(invoiceId: string): Promise<CollectOutcome> {
    return this.payments.collect(invoiceId, AttemptTrigger.Retry, { scheduled: true });
  }

  /**
   * A new or updated default card: one immediate attempt on every open
   * invoice of the tenant, oldest first (a hard decline waits for exactly
   * this). Failures are recorded on the invoices; they never fail the caller.
   */
  async collectOpenInvoices(tenantId: string): Promise<CollectOutcome[]> {
    const open = await this.em.fork().find(
      Invoice,
      // Renewals only: a first payment is completed in the portal, or lapses.
      {
        tenantId,
        status: InvoiceStatus.Open,
        reason: InvoiceReason.SubscriptionCycle,
        amountDue: { $gt: 0 },
      },
      { orderBy: { createdAt: 'asc' }, fields: ['id'] },
    );
    const outcomes: CollectOutcome[] = [];
    for (const { id } of open) {
      try {
        outcomes.push(await this.payments.collect(id, AttemptTrigger.PaymentMethodUpdated));
      } catch (error) {
        this.logger.error({ err: error, invoiceId: id }, 'collecting after a card change failed');
      }
    }
    if (outcomes.length > 0) this.entitlements.invalidate(tenantId);
    return outcomes;
  }

  /**
   * Moves a tenant's test clock to `target` the way time would pass: every
   * renewal, retry and dunning step that falls due runs at its own moment
   * (the clock stops there first), in order, so a month's jump leaves the
   * same history as a month of waiting.
   */
  async advanceTenant(
    tenantId: string,
    target: Date,
    maxEvents = 2_000,
  ): Promise<{
    renewals: RenewalResult[];
    events: ClockEvent[];
  }> {
    const renewals: RenewalResult[] = [];
    const events: ClockEvent[] = [];
    await this.billingRun.expireIncomplete(tenantId);
    for (let i = 0; i < maxEvents; i++) {
      const next = await this.nextEvent(tenantId, target);
      if (!next) break;
      await this.setClock(tenantId, next.at);
      events.push(next);
      switch (next.kind) {
        case 'renewal': {
          const result = await this.billingRun.renew(next.subjectId, next.at);
          renewals.push(result);
          if (result.result === 'skipped') i = maxEvents; // stuck: never spin
          break;
        }
        case 'dunning_step':
          if (!(await this.runStep(next.subjectId, next.step!))) i = maxEvents;
          break;
        case 'retry': {
          const outcome = await this.retry(next.subjectId);
          // A retry that could not take its slot would come round again: stop rather than spin.
          if (['not_due', 'in_progress', 'nothing_due'].includes(outcome.status)) i = maxEvents;
          break;
        }
      }
    }
    await this.setClock(tenantId, target);
    await this.billingRun.expireIncomplete(tenantId);
    return { renewals, events };
  }

  /** Card-expiring mails, once per card, some days (per the plan's policy) before it lapses. */
  async sendCardExpiryNotices(limit = 500): Promise<number> {
    // A card is valid through the last day of its expiry month: it lapses on the 1st of the next.
    const rows = await this.em.fork().execute<{ method_id: string; tenant_id: string }[]>(
      `select m.id as method_id, m.tenant_id
         from platform.billing_customer c
         join platform.payment_method m on m.id = c.default_payment_method_id
        where m.detached_at is null
          and m.expiry_notice_sent_at is null
          and make_timestamptz(m.exp_year, m.exp_month, 1, 0, 0, 0, 'UTC') + interval '1 month'
              > coalesce(c.test_clock_at, ?::timestamptz)
          and make_timestamptz(m.exp_year, m.exp_month, 1, 0, 0, 0, 'UTC') + interval '1 month'
              <= coalesce(c.test_clock_at, ?::timestamptz) + interval '${60} days'
        limit ?`,
      [this.clock.now(), this.clock.now(), limit],
    );
    let sent = 0;
    for (const row of rows) {
      const queued = await this.em.fork().transactional(async (tx) => {
        const method = await tx.findOne(
          PaymentMethod,
          { id: row.method_id, expiryNoticeSentAt: null, detachedAt: null },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (!method) return false;
        const customer = await tx.findOne(BillingCustomer, { tenantId: row.tenant_id });
        const now = customer?.testClockAt ? new Date(customer.testClockAt) : this.clock.now();
        const lapses = new Date(Date.UTC(method.expYear, method.expMonth, 1));
        const rules = await this.rulesForTenant(tx, row.tenant_id);
        const noticeDays = rules.cardExpiryNoticeDays;
        if (noticeDays === 0 || lapses.getTime() - now.getTime() > noticeDays * 86_400_000) {
          return false;
        }
        method.expiryNoticeSentAt = now;
        await this.mailer.send(tx, row.tenant_id, RecoveryMail.CardExpiring, {
          card: {
            brand: method.brand,
            last4: method.last4,
            expMonth: method.expMonth,
            expYear: method.expYear,
          },
        });
        return true;
      });
      if (queued) sent++;
    }
    return sent;
  }

  private async rulesForTenant(em: EntityManager, tenantId: string) {
    const [row] = await em.execute<{ plan_id: string }[]>(
      `select plan_id from platform.subscription
        where tenant_id = ? and status in ('trialing', 'active', 'past_due', 'unpaid', 'incomplete')
        limit 1`,
      [tenantId],
    );
    return (await this.policies.forPlan(em, row?.plan_id ?? null)).rules;
  }

  /** The earliest thing due for one tenant by `target`, if any. */
  private async nextEvent(tenantId: string, target: Date): Promise<ClockEvent | null> {
    const [row] = await this.em
      .fork()
      .execute<{ kind: ClockEvent['kind']; id: string; at: Date; step: number | null }[]>(
        `select * from (
         select 'renewal' as kind, s.id, s.current_period_end as at, null::int as step
           from platform.subscription s
          where s.tenant_id = ? and s.status in ('active', 'trialing', 'past_due')
            and s.current_period_end <= ?
         union all
         select 'dunning_step', c.id, c.next_step_at, c.next_step
           from platform.dunning_campaign c
          where c.tenant_id = ? and c.status = 'active' and c.next_step_at <= ?
         union all
         select 'retry', i.id, i.next_attempt_at, null
           from platform.invoice i
          where i.tenant_id = ? and i.status = 'open' and i.next_attempt_at <= ?
       ) due
       order by at, case kind when 'renewal' then 0 when 'retry' then 1 else 2 end
       limit 1`,
        [tenantId, target, tenantId, target, tenantId, target],
      );
    return row
      ? { kind: row.kind, subjectId: row.id, at: new Date(row.at), step: row.step ?? undefined }
      : null;
  }

  /** Moves a tenant's test clock forward (never back). */
  private async setClock(tenantId: string, at: Date): Promise<void> {
    await this.em.fork().execute(
      `update platform.billing_customer
            set test_clock_at = greatest(coalesce(test_clock_at, ?::timestamptz), ?::timestamptz)
          where tenant_id = ?`,
      [this.clock.now(), at, tenantId],
    );
  }

  private dueSteps(): Promise<{ id: string; step: number }[]> {
    return this.em.fork().execute(
      `select c.id, c.next_step as step
         from platform.dunning_campaign c
         left join platform.billing_customer b on b.tenant_id = c.tenant_id
        where c.status = 'active'
          and c.next_step_at <= coalesce(b.test_clock_at, ?::timestamptz)
        order by c.next_step_at
        limit ?`,
      [this.clock.now(), SWEEP_LIMIT],
    );
  }

  private async dueRetries(): Promise<{ id: string; at: Date }[]> {
    const rows = await this.em.fork().execute<{ id: string; at: Date }[]>(
      `select i.id, i.next_attempt_at as at
         from platform.invoice i
         left join platform.billing_customer b on b.tenant_id = i.tenant_id
        where i.status = 'open' and i.next_attempt_at is not null
          and i.next_attempt_at <= coalesce(b.test_clock_at, ?::timestamptz)
        order by i.next_attempt_at
        limit ?`,
      [this.clock.now(), SWEEP_LIMIT],
    );
    return rows.map((row) => ({ id: row.id, at: new Date(row.at) }));
  }

  /** Attempts whose outcome is unknown (after a minute for their webhook), or pending past their lease. */
  private unsettledAttempts(): Promise<{ id: string }[]> {
    const now = this.clock.now().getTime();
    return this.em.fork().execute(
      `select id from platform.payment_attempt
        where (status = ? and created_at <= ?)
           or (status = ? and created_at <= ?)
        order by created_at
        limit ?`,
      [
        AttemptStatus.Unknown,
        new Date(now - RECONCILE_AFTER_MS),
        AttemptStatus.Pending,
        new Date(now - PENDING_LEASE_MS),
        SWEEP_LIMIT,
      ],
    );
  }
}
