import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { JobQueue } from '../../common/jobs/job-queue';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { BillingClock } from '../billing-clock';
import { EntitlementService } from '../catalog/entitlement.service';
import { BillingCustomer } from '../entities/billing-customer.entity';
import { Invoice, InvoiceReason, InvoiceStatus } from '../entities/invoice.entity';
import { AttemptTrigger } from '../entities/payment-attempt.entity';
import { Subscription, SubscriptionStatus } from '../entities/subscription.entity';
import { InvoiceService } from '../invoices/invoice.service';
import { CollectOutcome, PaymentService } from '../payments/payment.service';
import { DunningService } from '../recovery/dunning.service';
import { FailureClass } from '../recovery/recovery-policy';
import { planLine } from './line-descriptions';
import { nextBoundary } from './proration';

export const BILLING_RUN_QUEUE = 'billing.run';
export const RENEW_QUEUE = 'billing.renew';

/** Renewals one worker process runs at once (each holds a database connection while it runs). */
export const RENEW_CONCURRENCY = 4;

/** A first payment left unfinished (SCA never completed) lapses after this, as on Stripe. */
export const INCOMPLETE_TTL_MS = 23 * 3600_000;

/** Statuses a period end moves on: renew, or end when cancelled. */
const RENEWABLE = [
  SubscriptionStatus.Active,
  SubscriptionStatus.Trialing,
  SubscriptionStatus.PastDue,
];

export interface RenewalResult {
  subscriptionId: string;
  periodEnd: Date;
  /** `renewed` (with its invoice), `ended` (cancelled at period end), or `skipped` (already done, or not due). */
  result: 'renewed' | 'ended' | 'skipped';
  invoiceId: string | null;
  payment: CollectOutcome['status'] | null;
}

/** A subscription whose current period has ended, as the billing run finds it. */
export interface DueRenewal {
  id: string;
  currentPeriodEnd: Date;
}

interface RenewJob {
  subscriptionId: string;
  periodEnd: string;
}

/**
 * Renewals. A cron (`BILLING_RUN_CRON`, fired once across replicas by pg-boss)
 * finds subscriptions whose period has ended by their tenant's billing time
 * and enqueues one `billing.renew` job per subscription and period. Each
 * period is invoiced exactly once: the job locks the subscription and checks
 * the period it was sent for, and the invoice's billing key
 * (`cycle:<subscription>:<period start>`) is unique, so a repeated run, a
 * retried job or two replicas racing all end with one invoice and one charge.
 */
@Injectable()
export class BillingRunService implements OnModuleInit {
  private readonly logger = new Logger('BillingRun');

  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobQueue,
    private readonly invoices: InvoiceService,
    private readonly payments: PaymentService,
    private readonly entitlements: EntitlementService,
    private readonly billingClock: BillingClock,
    private readonly clock: Clock,
    private readonly dunning: DunningService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    this.jobs.define({
      name: BILLING_RUN_QUEUE,
      cron: this.config.billing.runCron,
      retryLimit: 0,
      handle: async () => {
        const queued = await this.enqueueDue();
        if (queued > 0) this.logger.log({ queued }, 'billing run queued renewals');
      },
    });
    this.jobs.define<RenewJob>({
      name: RENEW_QUEUE,
      policy: 'stately',
      retryLimit: 5,
      retryDelaySeconds: 30,
      // Renewals of different subscriptions share no row (each locks its own
      // subscription; plans and prices are read unlocked), so a worker runs
      // several at once. Four: most of a renewal is waiting on the database
      // and the gateway, and four connections leave the rest of the pool
      // (at least 10) to requests.
      batchSize: 20,
      concurrency: RENEW_CONCURRENCY,
      handle: async (job) => {
        await this.renew(job.subscriptionId, new Date(job.periodEnd));
      },
    });
  }

  /**
   * One renewal job per due subscription, every one of them: read `pageSize`
   * at a time in (period end, id) order, so a run never stops at a page (the
   * rest would wait for the next cron tick, capping renewals at one page a
   * minute). Returns how many were queued.
   */
  async enqueueDue(pageSize = 5_000): Promise<number> {
    await this.expireIncomplete();
    let queued = 0;
    let after: DueRenewal | undefined;
    for (;;) {
      const due = await this.findDue({ limit: pageSize, after });
      for (const row of due) {
        const periodEnd = row.currentPeriodEnd.toISOString();
        const id = await this.jobs.send<RenewJob>(
          RENEW_QUEUE,
          { subscriptionId: row.id, periodEnd },
          { singletonKey: `renew:${row.id}:${periodEnd}` },
        );
        if (id) queued++;
      }
      if (due.length < pageSize) return queued;
      after = due[due.length - 1];
    }
  }

  /**
   * Subscriptions whose period has ended by their tenant's billing time (a
   * test clock, else the clock). One query across every tenant.
   */
  async findDue(options: {
    tenantId?: string;
    limit: number;
    /** Keyset: only subscriptions after this one in (period end, id) order. */
    after?: DueRenewal;
  }): Promise<DueRenewal[]> {
    const { tenantId, after } = options;
    const rows = await this.em.fork().execute<{ id: string; current_period_end: Date }[]>(
      `select s.id, s.current_period_end
         from platform.subscription s
         left join platform.billing_customer c on c.tenant_id = s.tenant_id
        where s.status in (?, ?, ?)
          and s.current_period_end <= coalesce(c.test_clock_at, ?::timestamptz)
          ${tenantId ? 'and s.tenant_id = ?' : ''}
          ${after ? 'and (s.current_period_end, s.id) > (?::timestamptz, ?::uuid)' : ''}
        order by s.current_period_end, s.id
        limit ?`,
      [
        ...RENEWABLE,
        this.clock.now(),
        ...(tenantId ? [tenantId] : []),
        ...(after ? [after.currentPeriodEnd, after.id] : []),
        options.limit,
      ],
    );
    return rows.map((row) => ({ id: row.id, currentPeriodEnd: new Date(row.current_period_end) }));
  }

  /**
   * Closes the period of `subscriptionId` that ends at `periodEnd`: ends the
   * subscription if it was cancelled, else invoices the next period (with any
   * pending change and proration lines) and charges it. Safe to run any
   * number of times, concurrently: only the first does anything.
   */
  async renew(subscriptionId: string, periodEnd: Date): Promise<RenewalResult> {
    const skipped: RenewalResult = {
      subscriptionId,
      periodEnd,
      result: 'skipped',
      invoiceId: null,
      payment: null,
    };
    let closed: { tenantId: string; invoice: Invoice | null } | null;
    try {
      closed = await this.em.fork().transactional(async (tx) => {
        // Only the subscription is locked. Its plan and prices are read without a lock:
        // locking them too (as a locking populate does) would make every renewal of a
        // plan wait for the one before it, and write a lock to the shared catalog row.
        const subscription = await tx.findOne(
          Subscription,
          { id: subscriptionId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (
          !subscription ||
          !RENEWABLE.includes(subscription.status) ||
          subscription.currentPeriodEnd.getTime() !== periodEnd.getTime()
        ) {
          return null;
        }
        // Locked now, as issuing the invoice needs it (its credit balance): one read, not two.
        const customer = await tx.findOne(
          BillingCustomer,
          { tenantId: subscription.tenantId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (periodEnd > this.billingClock.of(customer)) return null;
        await tx.populate(subscription, ['plan', 'price', 'pendingPrice.plan']);
        const updatedAt = this.clock.now();
        if (subscription.cancelAtPeriodEnd) {
          subscription.status = SubscriptionStatus.Canceled;
          subscription.endedAt = periodEnd;
          subscription.updatedAt = updatedAt;
          return { tenantId: subscription.tenantId, invoice: null };
        }
        if (subscription.pendingPrice) {
          // A move to a shorter interval, waiting for the paid period to run out.
          subscription.plan = subscription.pendingPrice.plan;
          subscription.price = subscription.pendingPrice;
          subscription.quantity = subscription.pendingQuantity ?? subscription.quantity;
          subscription.billingAnchor = periodEnd;
          subscription.pendingPrice = null;
          subscription.pendingQuantity = null;
        }
        const { price, quantity } = subscription;
        const start = periodEnd;
        const end = nextBoundary(subscription.billingAnchor, price.interval, start);
        subscription.currentPeriodStart = start;
        subscription.currentPeriodEnd = end;
        if (subscription.status === SubscriptionStatus.Trialing)
          subscription.status = SubscriptionStatus.Active;
        subscription.updatedAt = updatedAt;
        const invoice = await this.invoices.issue(tx, {
          tenantId: subscription.tenantId,
          subscription,
          reason: InvoiceReason.SubscriptionCycle,
          currency: price.currency,
          periodStart: start,
          periodEnd: end,
          billingKey: `cycle:${subscription.id}:${start.toISOString()}`,
          sweepPending: true,
          now: start,
          lines: [planLine(subscription.plan.name, price, quantity, start, end)],
          lockedCustomer: customer ?? undefined,
          // Due now: if this worker dies before its charge is written, the recovery sweep
          // makes it (the charge below takes this slot when it runs).
          nextAttemptAt: start,
        });
        return { tenantId: subscription.tenantId, invoice };
      });
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        // Another replica issued this period's invoice first.
        return skipped;
      }
      throw error;
    }
    if (!closed) return skipped;
    this.entitlements.invalidate(closed.tenantId);
    if (!closed.invoice) return { ...skipped, result: 'ended' };
    const invoice = closed.invoice;
    if (invoice.status !== InvoiceStatus.Open) {
      return {
        subscriptionId,
        periodEnd,
        result: 'renewed',
        invoiceId: invoice.id,
        payment: 'nothing_due',
      };
    }
    const outcome = await this.payments.collect(invoice.id, AttemptTrigger.Renewal);
    if (outcome.status === 'no_payment_method') {
      // No card to charge at all: recovery starts as for a card that will not work again.
      await this.em.fork().transactional(async (tx) => {
        const locked = await tx.findOneOrFail(
          Invoice,
          { id: invoice.id },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        await this.dunning.onFailure(tx, locked, {
          failureClass: FailureClass.HardDecline,
          category: 'no_payment_method',
        });
      });
    }
    if (['failed', 'requires_action', 'no_payment_method'].includes(outcome.status)) {
      await this.markPastDue(subscriptionId);
      this.entitlements.invalidate(closed.tenantId);
    }
    return {
      subscriptionId,
      periodEnd,
      result: 'renewed',
      invoiceId: invoice.id,
      payment: outcome.status,
    };
  }

  /** Everything due for one tenant, inline and period by period (test clocks, demos). */
  async runTenant(tenantId: string, maxPeriods = 1_000): Promise<RenewalResult[]> {
    await this.expireIncomplete(tenantId);
    const results: RenewalResult[] = [];
    for (let i = 0; i < maxPeriods; i++) {
      const [due] = await this.findDue({ tenantId, limit: 1 });
      if (!due) break;
      const result = await this.renew(due.id, due.currentPeriodEnd);
      results.push(result);
      if (result.result === 'skipped') break;
    }
    return results;
  }

  /** A renewal that could not be charged: the subscription is past due (recovery takes it from here). */
  private async markPastDue(subscriptionId: string): Promise<void> {
    await this.em.fork().transactional(async (tx) => {
      const subscription = await tx.findOneOrFail(
        Subscription,
        { id: subscriptionId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (subscription.status === SubscriptionStatus.Active) {
        subscription.status = SubscriptionStatus.PastDue;
        subscription.updatedAt = this.clock.now();
      }
    });
  }

  /** First payments never completed within a day lapse: the record stays, the invoice is voided. */
  async expireIncomplete(tenantId?: string): Promise<number> {
    // Candidates by each tenant's billing time, in one query; each is then locked and re-checked.
    const rows = await this.em.fork().execute<{ id: string }[]>(
      `select s.id
         from platform.subscription s
         left join platform.billing_customer c on c.tenant_id = s.tenant_id
        where s.status = ?
          and s.current_period_start <= coalesce(c.test_clock_at, ?::timestamptz) - interval '${INCOMPLETE_TTL_MS / 1000} seconds'
          ${tenantId ? 'and s.tenant_id = ?' : ''}
        limit 1000`,
      [SubscriptionStatus.Incomplete, this.clock.now(), ...(tenantId ? [tenantId] : [])],
    );
    let expired = 0;
    for (const { id } of rows) {
      const lapsed = await this.em.fork().transactional(async (tx) => {
        const subscription = await tx.findOne(
          Subscription,
          { id, status: SubscriptionStatus.Incomplete },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (!subscription) return false;
        const now = this.billingClock.of(
          await tx.findOne(BillingCustomer, { tenantId: subscription.tenantId }),
        );
        subscription.status = SubscriptionStatus.IncompleteExpired;
        subscription.endedAt = now;
        subscription.updatedAt = this.clock.now();
        const open = await tx.find(Invoice, { subscription, status: InvoiceStatus.Open });
        for (const invoice of open) await this.invoices.void(tx, invoice.id, now);
        return true;
      });
      if (lapsed) expired++;
    }
    return expired;
  }
}
