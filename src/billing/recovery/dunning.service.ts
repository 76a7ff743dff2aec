import { Injectable, Logger } from '@nestjs/common';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { AuditService } from '../../tenancy/audit/audit.service';
import { BillingClock } from '../billing-clock';
import {
  CampaignStatus,
  DunningCampaign,
  DunningStepRun,
  RUNNING_CAMPAIGN,
} from '../entities/dunning-campaign.entity';
import { Invoice, InvoiceReason, InvoiceStatus } from '../entities/invoice.entity';
import { Subscription, SubscriptionStatus } from '../entities/subscription.entity';
import { RecoveryMail } from './recovery-mails';
import { RecoveryMailer } from './recovery-mailer';
import { RecoveryMetrics } from './recovery-metrics';
import {
  actionDueAt,
  DUNNING_CLASSES,
  DunningAction,
  DunningStep,
  FailureClass,
  nextRetryAt,
  stepDueAt,
  TRANSIENT_RETRY_MS,
} from './recovery-policy';
import { RecoveryPolicyService } from './recovery-policy.service';

/** A failure, as the campaign needs it. */
export interface RecordedFailure {
  failureClass: FailureClass;
  /** Payment error category, or `no_payment_method`. */
  category: string;
  declineCode?: string | null;
  /** Safe to show the customer (the issuer's words, not ours). */
  message?: string | null;
}

/** Subscription statuses a renewal failure can put into dunning (not a first payment). */
const DUNNABLE = [
  SubscriptionStatus.Active,
  SubscriptionStatus.Trialing,
  SubscriptionStatus.PastDue,
  SubscriptionStatus.Unpaid,
];

/**
 * Campaign state, always inside the caller's transaction with the invoice row
 * locked first (lock order everywhere: invoice → campaign → subscription).
 * It owns the retry schedule (`invoice.next_attempt_at`) and the subscription
 * status dunning implies (`past_due`, `unpaid`), and runs steps exactly once.
 */
@Injectable()
export class DunningService {
  private readonly logger = new Logger('Dunning');

  constructor(
    private readonly clock: Clock,
    private readonly billingClock: BillingClock,
    private readonly policies: RecoveryPolicyService,
    private readonly mailer: RecoveryMailer,
    private readonly audit: AuditService,
    private readonly metrics: RecoveryMetrics,
  ) {}

  /**
   * A charge of `invoice` (locked by the caller) failed. Starts the campaign at
   * the first failure the customer can act on, plans the next automatic
   * attempt by the failure's class, and tells the customer when the bank
   * wants them to confirm.
   */
  async onFailure(em: EntityManager, invoice: Invoice, failure: RecordedFailure): Promise<void> {
    if (invoice.status !== InvoiceStatus.Open) return;
    if (invoice.reason !== InvoiceReason.SubscriptionCycle || !invoice.subscription) return;
    if (failure.failureClass === FailureClass.UnknownOutcome) return; // the reconciler settles it first
    const now = await this.billingClock.nowFor(em, invoice.tenantId);
    let campaign = await this.lockCampaign(em, invoice);
    if (!campaign) {
      if (!DUNNING_CLASSES.has(failure.failureClass)) {
        // The gateway failed, not the card: try again soon, without troubling the customer.
        invoice.nextAttemptAt = new Date(now.getTime() + TRANSIENT_RETRY_MS);
        invoice.updatedAt = this.clock.now();
        return;
      }
      const subscription = await this.lockSubscription(em, invoice.subscription.id);
      if (!DUNNABLE.includes(subscription.status)) return;
      campaign = await this.start(em, invoice, subscription, failure, now);
    } else {
      campaign.lastFailureClass = failure.failureClass;
      campaign.lastCategory = failure.category;
      campaign.lastDeclineCode = failure.declineCode ?? null;
      campaign.updatedAt = this.clock.now();
      if (failure.failureClass === FailureClass.NeedsAuthentication) {
        await this.mailer.send(em, invoice.tenantId, RecoveryMail.ActionRequired, {
          invoice,
          declineMessage: failure.message,
          suspendAt: this.suspendAt(campaign),
        });
      }
    }
    invoice.nextAttemptAt = this.nextAttempt(campaign, failure.failureClass, now);
    invoice.updatedAt = this.clock.now();
  }

  /** The invoice (locked by the caller) was paid: the campaign, if any, has recovered it. */
  async onPaid(em: EntityManager, invoice: Invoice, at: Date): Promise<DunningCampaign | null> {
    const campaign = await this.lockCampaign(em, invoice);
    if (!campaign || !RUNNING_CAMPAIGN.includes(campaign.status as never)) return null;
    this.end(campaign, CampaignStatus.Recovered, at);
    this.metrics.recovered(campaign, invoice.amountPaid || campaign.amountDue);
    await this.mailer.send(em, invoice.tenantId, RecoveryMail.Recovered, { invoice });
    this.audit.recordPlatform(
      {
        tenantId: invoice.tenantId,
        action: 'billing.dunning.recovered',
        data: { campaignId: campaign.id, invoiceId: invoice.id, lastAction: campaign.lastAction },
      },
      em,
    );
    return campaign;
  }

  /** The invoice (locked) was voided: its campaign has nothing left to collect. */
  async onVoided(em: EntityManager, invoice: Invoice, at: Date): Promise<void> {
    const campaign = await this.lockCampaign(em, invoice);
    if (campaign && RUNNING_CAMPAIGN.includes(campaign.status as never)) {
      this.end(campaign, CampaignStatus.Closed, at);
    }
  }

  /**
   * The status a subscription should have given its running campaigns: unpaid
   * while any has suspended it, past due while any runs, else active. Only
   * moves subscriptions dunning put somewhere (past due, unpaid).
   */
  async settleSubscription(em: EntityManager, subscription: Subscription): Promise<void> {
    if (![SubscriptionStatus.PastDue, SubscriptionStatus.Unpaid].includes(subscription.status)) {
      return;
    }
    const running = await em.find(DunningCampaign, {
      subscription,
      status: { $in: [...RUNNING_CAMPAIGN] },
    });
    const suspended = running.some((c) => this.hasSuspended(c));
    const status = suspended
      ? SubscriptionStatus.Unpaid
      : running.length > 0
        ? SubscriptionStatus.PastDue
        : SubscriptionStatus.Active;
    if (subscription.status !== status) {
      subscription.status = status;
      subscription.updatedAt = this.clock.now();
    }
  }

  /**
   * Runs step `index` of a campaign if it is the next one and due by the
   * tenant's billing time; a step that already ran, or one that is not due,
   * is skipped. The step, its mail and the campaign's move happen in one
   * transaction: never twice, never half.
   */
  async runStep(em: EntityManager, campaignId: string, index: number): Promise<boolean> {
    const ran = await em.fork().transactional(async (tx) => {
      const [peek] = await tx.execute<{ invoice_id: string }[]>(
        'select invoice_id from platform.dunning_campaign where id = ?',
        [campaignId],
      );
      if (!peek) return null;
      const invoice = await tx.findOneOrFail(
        Invoice,
        { id: peek.invoice_id },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      const campaign = await tx.findOneOrFail(
        DunningCampaign,
        { id: campaignId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (campaign.status !== CampaignStatus.Active || campaign.nextStep !== index) return null;
      const now = await this.billingClock.nowFor(tx, invoice.tenantId);
      if (invoice.status !== InvoiceStatus.Open) {
        // Settled some other way without this campaign hearing of it.
        this.end(
          campaign,
          invoice.status === InvoiceStatus.Paid ? CampaignStatus.Recovered : CampaignStatus.Closed,
          now,
        );
        return null;
      }
      const due = stepDueAt(campaign.rules, campaign.scheduleOrigin, index);
      if (!due || due > now) return null;
      const step = await this.execute(tx, campaign, invoice, due, now);
      return { tenantId: invoice.tenantId, action: step.action };
    });
    if (!ran) return false;
    this.logger.log({ campaignId, step: index, ...ran }, `dunning step ${ran.action} ran`);
    return true;
  }

  /** Staff pause: no step and no automatic retry until resumed. */
  pause(campaign: DunningCampaign, invoice: Invoice, now: Date): void {
    campaign.status = CampaignStatus.Paused;
    campaign.pausedAt = now;
    campaign.nextStepAt = null;
    campaign.updatedAt = this.clock.now();
    invoice.nextAttemptAt = null;
    invoice.updatedAt = this.clock.now();
  }

  /** Resumes where it left off: the schedule moves on by the time spent paused. */
  resume(campaign: DunningCampaign, invoice: Invoice, now: Date): void {
    const pausedFor = campaign.pausedAt ? now.getTime() - campaign.pausedAt.getTime() : 0;
    campaign.scheduleOrigin = new Date(campaign.scheduleOrigin.getTime() + Math.max(0, pausedFor));
    campaign.status = CampaignStatus.Active;
    campaign.pausedAt = null;
    campaign.nextStepAt = stepDueAt(campaign.rules, campaign.scheduleOrigin, campaign.nextStep);
    campaign.updatedAt = this.clock.now();
    invoice.nextAttemptAt = this.nextAttempt(campaign, campaign.lastFailureClass, now);
    invoice.updatedAt = this.clock.now();
  }

  /** Staff write the invoice off: uncollectible, the campaign ends, the subscription is released. */
  async writeOff(
    em: EntityManager,
    campaign: DunningCampaign,
    invoice: Invoice,
    now: Date,
  ): Promise<void> {
    invoice.status = InvoiceStatus.Uncollectible;
    invoice.nextAttemptAt = null;
    invoice.updatedAt = this.clock.now();
    this.end(campaign, CampaignStatus.WrittenOff, now);
    await this.settleSubscription(em, await this.lockSubscription(em, campaign.subscription.id));
  }

  async lockCampaign(em: EntityManager, invoice: Invoice): Promise<DunningCampaign | null> {
    return em.findOne(DunningCampaign, { invoice }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  private async start(
    em: EntityManager,
    invoice: Invoice,
    subscription: Subscription,
    failure: RecordedFailure,
    now: Date,
  ): Promise<DunningCampaign> {
    const { policy, rules } = await this.policies.forPlan(em, subscription.plan.id);
    const campaign = em.create(DunningCampaign, {
      tenantId: invoice.tenantId,
      invoice,
      subscription,
      policy,
      rules,
      status: CampaignStatus.Active,
      startedAt: now,
      scheduleOrigin: now,
      nextStep: 0,
      nextStepAt: stepDueAt(rules, now, 0),
      firstCategory: failure.category,
      lastFailureClass: failure.failureClass,
      lastCategory: failure.category,
      lastDeclineCode: failure.declineCode ?? null,
      amountDue: invoice.amountDue,
      currency: invoice.currency,
      createdAt: this.clock.now(),
      updatedAt: this.clock.now(),
    });
    if (
      subscription.status === SubscriptionStatus.Active ||
      subscription.status === SubscriptionStatus.Trialing
    ) {
      subscription.status = SubscriptionStatus.PastDue;
      subscription.updatedAt = this.clock.now();
    }
    this.metrics.started(campaign);
    // Day-0 steps (the first notice) go out with the failure itself.
    while (campaign.status === CampaignStatus.Active) {
      const due = stepDueAt(rules, campaign.scheduleOrigin, campaign.nextStep);
      if (!due || due > now) break;
      await this.execute(em, campaign, invoice, due, now, failure.message);
    }
    return campaign;
  }

  /**
   * Runs the campaign's next step (due at `due`) in the caller's transaction:
   * the witness row, the action, and the move to the following step.
   */
  private async execute(
    em: EntityManager,
    campaign: DunningCampaign,
    invoice: Invoice,
    due: Date,
    now: Date,
    declineMessage?: string | null,
  ): Promise<DunningStep> {
    const index = campaign.nextStep;
    const step = campaign.rules.steps[index];
    em.create(DunningStepRun, {
      campaign,
      step: index,
      action: step.action,
      dueAt: due,
      ranAt: now,
    });
    await this.perform(em, campaign, invoice, step.action, now, declineMessage);
    this.metrics.stepRan(step.action);
    campaign.lastAction = step.action;
    campaign.nextStep = index + 1;
    campaign.nextStepAt =
      campaign.status === CampaignStatus.Active
        ? stepDueAt(campaign.rules, campaign.scheduleOrigin, index + 1)
        : null;
    campaign.updatedAt = this.clock.now();
    return step;
  }

  private async perform(
    em: EntityManager,
    campaign: DunningCampaign,
    invoice: Invoice,
    action: DunningAction,
    now: Date,
    declineMessage?: string | null,
  ): Promise<void> {
    const tenantId = invoice.tenantId;
    const needsNewCard = campaign.lastFailureClass === FailureClass.HardDecline;
    switch (action) {
      case DunningAction.Notify:
        await this.mailer.send(
          em,
          tenantId,
          campaign.lastFailureClass === FailureClass.NeedsAuthentication
            ? RecoveryMail.ActionRequired
            : RecoveryMail.PaymentFailed,
          {
            invoice,
            declineMessage,
            needsNewCard,
            nextAttemptAt: needsNewCard
              ? null
              : (invoice.nextAttemptAt ??
                this.nextAttempt(campaign, campaign.lastFailureClass, now)),
            suspendAt: this.suspendAt(campaign),
          },
        );
        return;
      case DunningAction.Remind:
        await this.mailer.send(em, tenantId, RecoveryMail.Reminder, {
          invoice,
          needsNewCard,
          nextAttemptAt: invoice.nextAttemptAt,
          suspendAt: this.suspendAt(campaign),
          cancelAt: actionDueAt(campaign.rules, campaign.scheduleOrigin, DunningAction.Cancel),
        });
        return;
      case DunningAction.Warn:
        await this.mailer.send(em, tenantId, RecoveryMail.SuspensionNotice, {
          invoice,
          needsNewCard,
          suspendAt: this.suspendAt(campaign),
        });
        return;
      case DunningAction.Suspend: {
        const subscription = await this.lockSubscription(em, campaign.subscription.id);
        if (
          [
            SubscriptionStatus.PastDue,
            SubscriptionStatus.Active,
            SubscriptionStatus.Trialing,
          ].includes(subscription.status)
        ) {
          subscription.status = SubscriptionStatus.Unpaid;
          subscription.updatedAt = this.clock.now();
        }
        await this.mailer.send(em, tenantId, RecoveryMail.Suspended, {
          invoice,
          cancelAt: actionDueAt(campaign.rules, campaign.scheduleOrigin, DunningAction.Cancel),
        });
        this.systemAudit(em, tenantId, 'billing.dunning.suspended', campaign, invoice);
        return;
      }
      case DunningAction.Cancel: {
        const subscription = await this.lockSubscription(em, campaign.subscription.id);
        invoice.status = InvoiceStatus.Uncollectible;
        invoice.nextAttemptAt = null;
        invoice.updatedAt = this.clock.now();
        this.end(campaign, CampaignStatus.Canceled, now);
        if (DUNNABLE.includes(subscription.status)) {
          subscription.status = SubscriptionStatus.Canceled;
          subscription.endedAt = now;
          subscription.canceledAt ??= now;
          subscription.cancelReason ??= 'payment_failed';
          subscription.updatedAt = this.clock.now();
        }
        await this.mailer.send(em, tenantId, RecoveryMail.Canceled, { invoice });
        this.systemAudit(em, tenantId, 'billing.dunning.canceled', campaign, invoice);
        return;
      }
    }
  }

  /** When the next automatic attempt falls, by what the last failure was. */
  private nextAttempt(
    campaign: DunningCampaign,
    failureClass: FailureClass,
    now: Date,
  ): Date | null {
    if (campaign.status !== CampaignStatus.Active) return null;
    switch (failureClass) {
      case FailureClass.SoftDecline:
        return nextRetryAt(campaign.rules, campaign.scheduleOrigin, now);
      case FailureClass.Transient:
        return new Date(now.getTime() + TRANSIENT_RETRY_MS);
      // A hard decline waits for a new card; authentication waits for the customer.
      default:
        return null;
    }
  }

  private suspendAt(campaign: DunningCampaign): Date | null {
    return actionDueAt(campaign.rules, campaign.scheduleOrigin, DunningAction.Suspend);
  }

  private hasSuspended(campaign: DunningCampaign): boolean {
    const index = campaign.rules.steps.findIndex((s) => s.action === DunningAction.Suspend);
    return index >= 0 && campaign.nextStep > index;
  }

  private end(campaign: DunningCampaign, status: CampaignStatus, at: Date): void {
    campaign.status = status;
    campaign.endedAt = at;
    campaign.nextStepAt = null;
    campaign.pausedAt = null;
    campaign.updatedAt = this.clock.now();
  }

  private lockSubscription(em: EntityManager, id: string): Promise<Subscription> {
    return em.findOneOrFail(Subscription, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  private systemAudit(
    em: EntityManager,
    tenantId: string,
    action: string,
    campaign: DunningCampaign,
    invoice: Invoice,
  ): void {
    this.audit.recordPlatform(
      {
        tenantId,
        actor: { type: 'system' },
        action,
        data: { campaignId: campaign.id, invoiceId: invoice.id, amountDue: invoice.amountDue },
      },
      em,
    );
  }
}
