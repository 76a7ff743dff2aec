import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { inLanes } from '../../common/in-lanes';
import { JobQueue } from '../../common/jobs/job-queue';
import { AuditService } from '../../tenancy/audit/audit.service';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { EntitlementService } from '../catalog/entitlement.service';
import { PaymentMethodService } from '../customers/payment-method.service';
import { BillingCustomer } from '../entities/billing-customer.entity';
import { GatewayEvent } from '../entities/gateway-event.entity';
import { Invoice, InvoiceStatus } from '../entities/invoice.entity';
import { AttemptStatus, PaymentAttempt } from '../entities/payment-attempt.entity';
import { PaymentMethod } from '../entities/payment-method.entity';
import {
  GatewayEventData,
  ParsedGatewayEvent,
  PaymentErrorCategory,
  PaymentGateway,
  WebhookSignatureError,
} from '../payments/payment-gateway';
import { DunningService } from '../recovery/dunning.service';
import { RecoveryService } from '../recovery/recovery.service';
import { classifyFailure, FailureClass } from '../recovery/recovery-policy';
import { PaymentService } from '../payments/payment.service';
import { toGatewayEvent } from '../payments/stripe-events';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const GATEWAY_EVENT_QUEUE = 'billing.gateway-event';
/** A failed event is tried again after this, then with pg-boss's backoff. */
const RETRY_DELAY_SECONDS = 10;
/** One job at a time works through every stored event not yet tried (see `drain`). */
export const GATEWAY_EVENT_DRAIN_QUEUE = 'billing.gateway-event.drain';

/** A delivery wakes the drain at most this often per process: one job for a burst, not one per event. */
const DRAIN_WAKE_DELAY_MS = 20;
/** Events a drain reads per round, and how many it applies at once (each locks its own row). */
const DRAIN_BATCH = 100;
const DRAIN_LANES = 4;
/** Batches one drain job works before it hands over to the next (a bounded job). */
const DRAIN_ROUNDS = 20;

/** Unprocessed events older than this are queued again by the sweep (a lost enqueue, a crash). */
const SWEEP_AFTER_MS = 60_000;

/** Attempt states a late event may still settle; a settled attempt never moves back. */
const OPEN_ATTEMPT = [AttemptStatus.Pending, AttemptStatus.RequiresAction, AttemptStatus.Unknown];

/**
 * Gateway webhooks: verified, stored once by event id, acknowledged at once,
 * and applied by a job. Every handler only moves records forward (a paid
 * invoice stays paid, a refund total only grows), so a repeated or
 * out-of-order delivery leaves the same state.
 */
@Injectable()
export class GatewayEventService implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger('GatewayEvents');

  constructor(
    private readonly em: EntityManager,
    private readonly gateway: PaymentGateway,
    private readonly jobs: JobQueue,
    private readonly payments: PaymentService,
    private readonly paymentMethods: PaymentMethodService,
    private readonly entitlements: EntitlementService,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly dunning: DunningService,
    private readonly recovery: RecoveryService,
  ) {}

  onModuleInit(): void {
    this.jobs.define<{ eventId: string }>({
      name: GATEWAY_EVENT_QUEUE,
      policy: 'stately',
      retryLimit: 8,
      retryDelaySeconds: RETRY_DELAY_SECONDS,
      pollingIntervalSeconds: 1,
      handle: async ({ eventId }) => {
        await this.process(eventId);
      },
    });
    this.jobs.define({
      name: GATEWAY_EVENT_DRAIN_QUEUE,
      // One drain running and one queued behind it, cluster-wide: a wake during a
      // drain is never lost (the queued one reads what arrived meanwhile).
      policy: 'stately',
      retryLimit: 2,
      retryDelaySeconds: 5,
      pollingIntervalSeconds: 1,
      handle: async () => {
        await this.drain();
      },
    });
    this.jobs.define({
      name: `${GATEWAY_EVENT_QUEUE}.sweep`,
      cron: '* * * * *',
      retryLimit: 0,
      handle: async () => {
        await this.sweep();
      },
    });
  }

  /** Verifies and stores a delivery; returns whether it was new. */
  async receive(
    rawBody: Buffer,
    signature: string | undefined,
  ): Promise<{ id: string; duplicate: boolean }> {
    let event: ParsedGatewayEvent;
    try {
      event = this.gateway.parseWebhook(rawBody, signature);
    } catch (error) {
      if (error instanceof WebhookSignatureError) {
        throw new BillingException(
          BillingErrorCode.WebhookSignatureInvalid,
          'The Stripe-Signature header does not verify for this body (check STRIPE_WEBHOOK_SECRET).',
          undefined,
          error,
        );
      }
      throw error;
    }
    const inserted = await this.em
      .fork()
      .createQueryBuilder(GatewayEvent)
      .insert({
        id: event.id,
        type: event.type,
        payload: event.raw,
        occurredAt: event.occurredAt,
        receivedAt: this.clock.now(),
        attempts: 0,
      })
      .onConflict('id')
      .ignore()
      .execute<{ affectedRows: number }>('run');
    const duplicate = inserted.affectedRows === 0;
    if (!duplicate) this.wakeDrain();
    return { id: event.id, duplicate };
  }

  private wakeTimer?: NodeJS.Timeout;
  private closing = false;

  onApplicationShutdown(): void {
    // A wake due after the queue stopped would start pg-boss again; the sweep covers it.
    this.closing = true;
    clearTimeout(this.wakeTimer);
    this.wakeTimer = undefined;
  }

  /**
   * Asks for a drain soon. Deliveries in the same few milliseconds share one
   * job; the event is stored already, so a wake lost to a crash only delays
   * it until the sweep.
   */
  private wakeDrain(): void {
    if (this.wakeTimer || this.closing) return;
    this.wakeTimer = setTimeout(() => {
      this.wakeTimer = undefined;
      this.jobs
        .send(GATEWAY_EVENT_DRAIN_QUEUE, {}, { singletonKey: 'drain' })
        .catch((error: unknown) => {
          // Stored: the sweep queues it.
          this.logger.warn({ err: error }, 'waking the gateway event drain failed');
        });
    }, DRAIN_WAKE_DELAY_MS);
    this.wakeTimer.unref();
  }

  /**
   * Applies every stored event that has not been tried yet, oldest first, until
   * none is left. An event that fails is handed to its own job, which retries it
   * with backoff (`attempts` > 0 keeps it out of later drains); one bad event
   * never holds up the rest. Returns how many events it applied or handed on.
   */
  async drain(): Promise<number> {
    let done = 0;
    for (let round = 0; ; round++) {
      if (round === DRAIN_ROUNDS) {
        // Under steady traffic there is always more: end this job (so a shutdown can
        // wait for it, and it never looks stuck) and queue the next one.
        this.wakeDrain();
        return done;
      }
      const batch = await this.em
        .fork()
        .find(
          GatewayEvent,
          { processedAt: null, attempts: 0 },
          { fields: ['id'], limit: DRAIN_BATCH, orderBy: { receivedAt: 'asc', id: 'asc' } },
        );
      if (batch.length === 0) return done;
      await inLanes(batch, DRAIN_LANES, async ({ id }) => {
        try {
          await this.process(id);
        } catch (error) {
          // process() recorded the failure (attempts + 1); its own job retries it
          // after the queue's retry delay, with backoff from there on.
          this.logger.warn(
            { err: error, eventId: id },
            'a gateway event failed; retried by its job',
          );
          await this.jobs.send(
            GATEWAY_EVENT_QUEUE,
            { eventId: id },
            // pg-boss schedules in real time (the database's clock), not the app's.
            { singletonKey: id, startAfter: new Date(Date.now() + RETRY_DELAY_SECONDS * 1000) },
          );
        }
      });
      done += batch.length;
    }
  }

  /** Queues stored events nobody has processed yet. */
  async sweep(): Promise<number> {
    const stale = await this.em.fork().find(
      GatewayEvent,
      {
        processedAt: null,
        receivedAt: { $lt: new Date(this.clock.now().getTime() - SWEEP_AFTER_MS) },
      },
      { fields: ['id'], limit: 500, orderBy: { receivedAt: 'asc' } },
    );
    for (const { id } of stale) {
      await this.jobs.send(GATEWAY_EVENT_QUEUE, { eventId: id }, { singletonKey: id });
    }
    return stale.length;
  }

  /** Applies one stored event, once. Errors are recorded and rethrown for the job's retry. */
  async process(eventId: string): Promise<void> {
    const em = this.em.fork();
    let newDefaultCardOf: string | null = null;
    try {
      await em.transactional(async (tx) => {
        const row = await tx.findOne(
          GatewayEvent,
          { id: eventId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (!row || row.processedAt) return;
        const event = this.parseStored(row);
        newDefaultCardOf = (await this.apply(tx, event.data, row.occurredAt)) ?? null;
        row.processedAt = this.clock.now();
        row.attempts += 1;
        row.lastError = null;
      });
    } catch (error) {
      // One statement: the failure and the attempt count land together.
      const message = error instanceof Error ? error.message : String(error);
      await em
        .getConnection()
        .execute(
          'update platform.gateway_event set attempts = attempts + 1, last_error = ? where id = ?',
          [message.slice(0, 1000), eventId],
        );
      throw error;
    }
    // A card collected outside the portal became the default: open renewals get their attempt.
    if (newDefaultCardOf) await this.recovery.collectOpenInvoices(newDefaultCardOf);
  }

  /** Stored payloads were verified on receipt; they are reduced again with the same pure transform. */
  private parseStored(row: GatewayEvent): ParsedGatewayEvent {
    return toGatewayEvent(row.payload);
  }

  /** Applies an event; returns a tenant whose default card it set (open invoices are then retried). */
  private async apply(
    tx: EntityManager,
    data: GatewayEventData,
    occurredAt: Date,
  ): Promise<string | void> {
    switch (data.kind) {
      case 'payment.succeeded': {
        const attempt = await this.attemptFor(tx, data.paymentId, data.metadata);
        if (!attempt) return this.orphan(data.kind, data.paymentId);
        // Money moved: that outranks an earlier failure of the same payment (a
        // 3-D Secure retry succeeds after a failed try), whatever the delivery order.
        const firstNews = attempt.status !== AttemptStatus.Succeeded;
        if (firstNews) {
          attempt.status = AttemptStatus.Succeeded;
          attempt.gatewayPaymentId = data.paymentId;
          attempt.completedAt ??= this.clock.now();
          // What failed on the way no longer describes the attempt (the events keep it).
          attempt.category = null;
          attempt.declineCode = null;
          attempt.retryable = null;
          attempt.message = null;
        }
        const invoice = await tx.findOneOrFail(
          Invoice,
          { id: attempt.invoice.id },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (invoice.status === InvoiceStatus.Open) {
          await this.payments.markPaid(tx, invoice, data.amount);
          this.entitlements.invalidate(invoice.tenantId);
        } else if (firstNews) {
          // A second payment for an invoice already settled (paid by another
          // attempt, or voided): the customer paid twice; staff must refund.
          this.audit.recordPlatform(
            {
              tenantId: invoice.tenantId,
              action: 'billing.payment.unexpected',
              data: {
                invoiceId: invoice.id,
                paymentId: data.paymentId,
                invoiceStatus: invoice.status,
                amount: data.amount,
              },
            },
            tx,
          );
          this.logger.error(
            { invoiceId: invoice.id, paymentId: data.paymentId, invoiceStatus: invoice.status },
            'a payment succeeded for an invoice that was already settled; refund it',
          );
        }
        return;
      }
      case 'payment.failed':
      case 'payment.requires_action': {
        const attempt = await this.attemptFor(tx, data.paymentId, data.metadata);
        if (!attempt) return this.orphan(data.kind, data.paymentId);
        if (!OPEN_ATTEMPT.includes(attempt.status)) return;
        attempt.gatewayPaymentId = data.paymentId;
        const invoice = await tx.findOneOrFail(
          Invoice,
          { id: attempt.invoice.id },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (data.kind === 'payment.requires_action') {
          if (attempt.status === AttemptStatus.RequiresAction) return; // the charge call said so already
          attempt.status = AttemptStatus.RequiresAction;
          attempt.category = PaymentErrorCategory.AuthenticationRequired;
          await this.dunning.onFailure(tx, invoice, {
            failureClass: FailureClass.NeedsAuthentication,
            category: PaymentErrorCategory.AuthenticationRequired,
          });
          return;
        }
        attempt.status = AttemptStatus.Failed;
        attempt.category = data.error?.category ?? attempt.category;
        attempt.declineCode = data.error?.declineCode ?? attempt.declineCode;
        attempt.message = data.error?.message ?? attempt.message;
        attempt.retryable = false;
        attempt.completedAt ??= this.clock.now();
        // An asynchronous failure (3-D Secure abandoned, a payment that was processing).
        await this.dunning.onFailure(tx, invoice, {
          failureClass: classifyFailure({
            category: attempt.category,
            declineCode: attempt.declineCode,
          }),
          category: attempt.category ?? PaymentErrorCategory.CardDeclined,
          declineCode: attempt.declineCode,
          message: attempt.message,
        });
        return;
      }
      case 'setup.succeeded': {
        if (!data.customerId || !data.paymentMethodId) return;
        const customer = await tx.findOne(
          BillingCustomer,
          { gatewayId: data.customerId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (!customer) return this.orphan(data.kind, data.setupIntentId);
        const card = await this.gateway.attachPaymentMethod(data.customerId, data.paymentMethodId);
        const method = await this.paymentMethods.store(tx, customer.tenantId, card);
        if (!customer.defaultPaymentMethodId) {
          customer.defaultPaymentMethodId = method.id;
          customer.updatedAt = this.clock.now();
          return customer.tenantId;
        }
        return;
      }
      case 'payment_method.detached': {
        const method = await tx.findOne(PaymentMethod, { gatewayId: data.paymentMethodId });
        if (!method || method.detachedAt) return;
        method.detachedAt = occurredAt;
        const customer = await tx.findOne(
          BillingCustomer,
          { tenantId: method.tenantId },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        if (customer?.defaultPaymentMethodId === method.id) {
          const next = await tx.findOne(
            PaymentMethod,
            { tenantId: method.tenantId, detachedAt: null, id: { $ne: method.id } },
            { orderBy: { createdAt: 'desc' } },
          );
          customer.defaultPaymentMethodId = next?.id ?? null;
          customer.updatedAt = this.clock.now();
        }
        return;
      }
      case 'charge.refunded': {
        const invoice = await this.invoiceForPayment(tx, data.paymentId);
        if (!invoice) return this.orphan(data.kind, data.paymentId);
        // Stripe sends the running total: keep the largest seen, whatever the delivery order.
        invoice.amountRefunded = Math.max(invoice.amountRefunded, data.amountRefunded);
        invoice.updatedAt = this.clock.now();
        return;
      }
      case 'dispute.created': {
        const invoice = await this.invoiceForPayment(tx, data.paymentId);
        if (!invoice) return this.orphan(data.kind, data.paymentId);
        if (invoice.disputedAt) return;
        invoice.disputedAt = occurredAt;
        invoice.updatedAt = this.clock.now();
        this.audit.recordPlatform(
          {
            tenantId: invoice.tenantId,
            action: 'billing.dispute.created',
            data: {
              invoiceId: invoice.id,
              paymentId: data.paymentId,
              amount: data.amount,
              reason: data.reason,
            },
          },
          tx,
        );
        this.logger.warn(
          { invoiceId: invoice.id, paymentId: data.paymentId, reason: data.reason },
          'payment disputed',
        );
        return;
      }
      case 'ignored':
        return;
    }
  }

  private async attemptFor(
    tx: EntityManager,
    paymentId: string,
    metadata: Record<string, string>,
  ): Promise<PaymentAttempt | null> {
    const byPayment = await tx.findOne(
      PaymentAttempt,
      { gatewayPaymentId: paymentId },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (byPayment) return byPayment;
    // The charge call's answer was lost (unknown outcome): our metadata names the attempt.
    return metadata.attempt_id && UUID.test(metadata.attempt_id)
      ? tx.findOne(
          PaymentAttempt,
          { id: metadata.attempt_id },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        )
      : null;
  }

  private async invoiceForPayment(tx: EntityManager, paymentId: string): Promise<Invoice | null> {
    const attempt = await tx.findOne(PaymentAttempt, { gatewayPaymentId: paymentId });
    return attempt
      ? tx.findOne(Invoice, { id: attempt.invoice.id }, { lockMode: LockMode.PESSIMISTIC_WRITE })
      : null;
  }

  /** An event about something that is not ours (another integration on the same account): acknowledged, ignored. */
  private orphan(kind: string, id: string): void {
    this.logger.log({ kind, id }, 'gateway event for an object Groundwork does not know; ignored');
  }
}
