import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger } from '@nestjs/common';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { BillingClock } from '../billing-clock';
import { EntitlementService } from '../catalog/entitlement.service';
import { BillingCustomer } from '../entities/billing-customer.entity';
import { Invoice, InvoiceStatus } from '../entities/invoice.entity';
import { AttemptStatus, AttemptTrigger, PaymentAttempt } from '../entities/payment-attempt.entity';
import { PaymentMethod } from '../entities/payment-method.entity';
import { Subscription, SubscriptionStatus } from '../entities/subscription.entity';
import { DunningService } from '../recovery/dunning.service';
import { RecoveryMetrics } from '../recovery/recovery-metrics';
import { classifyFailure, FailureClass } from '../recovery/recovery-policy';
import {
  ChargeResult,
  PaymentError,
  PaymentErrorCategory,
  PaymentGateway,
  PaymentLookup,
} from './payment-gateway';

export type CollectOutcome =
  | { status: 'paid'; invoiceId: string; attemptId: string }
  | {
      status: 'requires_action';
      invoiceId: string;
      attemptId: string;
      paymentId: string;
      clientSecret: string | null;
    }
  | { status: 'failed'; invoiceId: string; attemptId: string; error: PaymentError }
  /** The gateway may or may not have charged: left for reconciliation, never retried blindly. */
  | { status: 'unknown'; invoiceId: string; attemptId: string; error: PaymentError }
  | { status: 'nothing_due'; invoiceId: string }
  | { status: 'no_payment_method'; invoiceId: string }
  /** Another attempt on this invoice has not finished. */
  | { status: 'in_progress'; invoiceId: string }
  /** A scheduled retry whose slot is not due (or was taken by another run). */
  | { status: 'not_due'; invoiceId: string };

interface PreparedAttempt {
  attempt: PaymentAttempt;
  customerGatewayId: string;
  methodGatewayId: string;
  invoiceTenantId: string;
  invoiceNumber: string | null | undefined;
  /** Re-sending an earlier attempt whose outcome is not known. */
  reconciling: boolean;
}

const SETTLED = [AttemptStatus.Succeeded, AttemptStatus.Failed, AttemptStatus.RequiresAction];

/** The outcome an already settled attempt stands for. */
function settledOutcome(attempt: PaymentAttempt): CollectOutcome {
  const invoiceId = attempt.invoice.id;
  switch (attempt.status) {
    case AttemptStatus.Succeeded:
      return { status: 'paid', invoiceId, attemptId: attempt.id };
    case AttemptStatus.RequiresAction:
      return {
        status: 'requires_action',
        invoiceId,
        attemptId: attempt.id,
        paymentId: attempt.gatewayPaymentId ?? '',
        clientSecret: null,
      };
    default:
      return {
        status: 'failed',
        invoiceId,
        attemptId: attempt.id,
        error: new PaymentError({
          category: (attempt.category as PaymentErrorCategory) ?? PaymentErrorCategory.CardDeclined,
          declineCode: attempt.declineCode,
          message: attempt.message ?? 'The payment failed.',
        }),
      };
  }
}

/** A pending attempt older than this is presumed dead (its worker crashed) and left to reconciliation. */
const ATTEMPT_LEASE_MS = 5 * 60_000;
/** How long a re-sent attempt is safe: the gateway remembers idempotency keys a day (Stripe: 24 h). */
const IDEMPOTENCY_WINDOW_MS = 23 * 3600_000;
/** Immediate retries of a transient gateway failure, under the same idempotency key. */
const TRANSIENT_RETRY_DELAYS_MS = [250, 1_000];

/**
 * Charges invoices. Three steps, never holding a database transaction across
 * the network: record a pending attempt with an idempotency key derived from
 * the invoice and attempt number; call the gateway (transient failures retried
 * at once with backoff and jitter under the same key, so the customer is
 * charged at most once); record the outcome and move the invoice and
 * subscription on.
 */
@Injectable()
export class PaymentService {
  private readonly logger = new Logger('Payments');

  constructor(
    private readonly em: EntityManager,
    private readonly gateway: PaymentGateway,
    private readonly clock: Clock,
    private readonly billingClock: BillingClock,
    private readonly dunning: DunningService,
    private readonly metrics: RecoveryMetrics,
    private readonly entitlements: EntitlementService,
  ) {}

  /**
   * One attempt at an open invoice. `scheduled`: a recovery retry, made only
   * if the invoice's next attempt is due by the tenant's billing time; the
   * slot is taken in the same transaction as the attempt is written, so a
   * retry job run twice makes one attempt.
   */
  async collect(
    invoiceId: string,
    trigger: AttemptTrigger,
    options: { paymentMethodId?: string; scheduled?: boolean } = {},
  ): Promise<CollectOutcome> {
    const prepared = await this.prepare(invoiceId, trigger, options);
    if ('status' in prepared) return prepared;
    const outcome = await this.send(invoiceId, prepared);
    if (prepared.reconciling && outcome.status === 'failed') {
      // The earlier attempt is settled now (it failed): this request's own attempt goes ahead.
      return this.collect(invoiceId, trigger, options);
    }
    return outcome;
  }

  /**
   * Sends one attempt's charge. Re-sending an attempt whose outcome is unknown
   * uses its own idempotency key and parameters, so the gateway answers with
   * what it did the first time instead of charging again.
   */
  private async send(invoiceId: string, prepared: PreparedAttempt): Promise<CollectOutcome> {
    const { attempt, customerGatewayId, methodGatewayId, invoiceTenantId } = prepared;

    let result: ChargeResult | undefined;
    let failure: PaymentError | undefined;
    // Whether a request under this key may have charged: an earlier round's answer was
    // lost, or this is a re-send of an attempt whose first answer was.
    let mayHaveCharged = prepared.reconciling;
    for (let round = 0; ; round++) {
      try {
        result = await this.gateway.charge({
          customerId: customerGatewayId,
          paymentMethodId: methodGatewayId,
          amount: attempt.amount,
          currency: attempt.currency,
          idempotencyKey: attempt.idempotencyKey,
          description: `Groundwork invoice ${prepared.invoiceNumber ?? invoiceId}`,
          metadata: { invoice_id: invoiceId, tenant_id: invoiceTenantId, attempt_id: attempt.id },
        });
        failure = undefined;
        break;
      } catch (error) {
        failure =
          error instanceof PaymentError
            ? error
            : new PaymentError({
                category: PaymentErrorCategory.GatewayUnavailable,
                message: error instanceof Error ? error.message : String(error),
                outcomeUnknown: true,
                retryable: true,
                cause: error,
              });
        if (failure.outcomeUnknown) mayHaveCharged = true;
        const delay = TRANSIENT_RETRY_DELAYS_MS[round];
        if (!failure.retryable || delay === undefined) break;
        await sleep(delay + Math.floor(Math.random() * delay));
      }
    }
    if (failure && failure.retryable && !failure.outcomeUnknown && mayHaveCharged) {
      // A 429 or a refused connection says only that this request was not processed,
      // not what an earlier one under the same key did: the outcome stays unknown
      // (settled by the reconciler), never a failure that a new attempt would follow.
      failure = new PaymentError({
        category: failure.category,
        message: failure.message,
        declineCode: failure.declineCode,
        retryable: true,
        outcomeUnknown: true,
        gatewayRequestId: failure.gatewayRequestId,
        httpStatus: failure.httpStatus,
        cause: failure,
      });
    }
    const outcome = await this.record(attempt.id, result, failure);
    if (outcome.status === 'requires_action' && !outcome.clientSecret) {
      // Stripe declines an off-session charge that needs 3-D Secure (402
      // authentication_required); the customer confirms that same payment in
      // the browser, with its client secret.
      try {
        outcome.clientSecret = (await this.gateway.retrievePayment(outcome.paymentId)).clientSecret;
      } catch (error) {
        this.logger.warn(
          { err: error, paymentId: outcome.paymentId },
          'could not fetch the client secret',
        );
      }
    }
    return outcome;
  }

  private async prepare(
    invoiceId: string,
    trigger: AttemptTrigger,
    options: { paymentMethodId?: string; scheduled?: boolean },
  ): Promise<CollectOutcome | PreparedAttempt> {
    return this.em.fork().transactional(async (em) => {
      const invoice = await em.findOneOrFail(
        Invoice,
        { id: invoiceId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (invoice.status !== InvoiceStatus.Open || invoice.amountDue <= 0) {
        return { status: 'nothing_due' as const, invoiceId };
      }
      if (options.scheduled) {
        const billingNow = await this.billingClock.nowFor(em, invoice.tenantId);
        if (!invoice.nextAttemptAt || invoice.nextAttemptAt > billingNow) {
          return { status: 'not_due' as const, invoiceId };
        }
      }
      const now = this.clock.now();
      const running = await em.count(PaymentAttempt, {
        invoice,
        status: AttemptStatus.Pending,
        createdAt: { $gt: new Date(now.getTime() - ATTEMPT_LEASE_MS) },
      });
      if (running > 0) return { status: 'in_progress' as const, invoiceId };
      const customer = await em.findOneOrFail(BillingCustomer, { tenantId: invoice.tenantId });
      // An attempt that may have charged (its answer was lost, or its worker died)
      // is settled before anything new is tried: never a second charge blind.
      const unsettled = await em.findOne(
        PaymentAttempt,
        {
          invoice,
          $or: [
            { status: AttemptStatus.Unknown },
            {
              status: AttemptStatus.Pending,
              createdAt: { $lte: new Date(now.getTime() - ATTEMPT_LEASE_MS) },
            },
          ],
        },
        { orderBy: { attemptNumber: 'asc' } },
      );
      if (unsettled) {
        const used = unsettled.paymentMethodId
          ? await em.findOne(PaymentMethod, { id: unsettled.paymentMethodId })
          : null;
        // Stripe keeps an idempotency key 24 hours: past that a re-send could charge anew.
        const keyAlive = now.getTime() - unsettled.createdAt.getTime() < IDEMPOTENCY_WINDOW_MS;
        if (!used || !keyAlive) {
          return {
            status: 'unknown' as const,
            invoiceId,
            attemptId: unsettled.id,
            error: new PaymentError({
              category: PaymentErrorCategory.GatewayUnavailable,
              message: 'An earlier attempt has an unknown outcome; it must be reconciled first.',
              outcomeUnknown: true,
            }),
          };
        }
        return {
          attempt: unsettled,
          customerGatewayId: customer.gatewayId,
          methodGatewayId: used.gatewayId,
          invoiceTenantId: invoice.tenantId,
          invoiceNumber: invoice.number,
          reconciling: true,
        };
      }
      const methodId = options.paymentMethodId ?? customer.defaultPaymentMethodId;
      const method = methodId
        ? await em.findOne(PaymentMethod, {
            id: methodId,
            tenantId: invoice.tenantId,
            detachedAt: null,
          })
        : null;
      if (!method) {
        // A planned retry with no card to use spends its slot; a new card brings the next attempt.
        if (options.scheduled) invoice.nextAttemptAt = null;
        return { status: 'no_payment_method' as const, invoiceId };
      }
      invoice.attemptCount += 1;
      // This attempt takes the planned slot; its outcome plans the next one.
      invoice.nextAttemptAt = null;
      invoice.updatedAt = now;
      const attempt = em.create(PaymentAttempt, {
        tenantId: invoice.tenantId,
        invoice,
        attemptNumber: invoice.attemptCount,
        trigger,
        amount: invoice.amountDue,
        currency: invoice.currency,
        idempotencyKey: `invoice:${invoice.id}:attempt:${invoice.attemptCount}`,
        paymentMethodId: method.id,
        status: AttemptStatus.Pending,
        createdAt: now,
      });
      return {
        attempt,
        customerGatewayId: customer.gatewayId,
        methodGatewayId: method.gatewayId,
        invoiceTenantId: invoice.tenantId,
        invoiceNumber: invoice.number,
        reconciling: false,
      };
    });
  }

  private async record(
    attemptId: string,
    result: ChargeResult | undefined,
    failure: PaymentError | undefined,
  ): Promise<CollectOutcome> {
    let attempt!: PaymentAttempt;
    let tenantId!: string;
    const outcome = await this.em.fork().transactional(async (em) => {
      attempt = await em.findOneOrFail(
        PaymentAttempt,
        { id: attemptId },
        { populate: ['invoice'] },
      );
      const invoice = await em.findOneOrFail(
        Invoice,
        { id: attempt.invoice.id },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      tenantId = invoice.tenantId;
      if (SETTLED.includes(attempt.status)) {
        // Settled meanwhile (a webhook, or a concurrent reconciliation): that answer stands.
        return settledOutcome(attempt);
      }
      return this.apply(em, attempt, invoice, result, failure);
    });
    this.metrics.attempt(attempt.status, attempt.category);
    this.logAttempt(attempt, outcome);
    if (outcome.status === 'paid') this.entitlements.invalidate(tenantId);
    return outcome;
  }

  /**
   * Writes what the gateway answered onto the attempt, and moves the invoice
   * (locked by the caller), its subscription and its recovery campaign on.
   */
  private async apply(
    em: EntityManager,
    attempt: PaymentAttempt,
    invoice: Invoice,
    result: ChargeResult | undefined,
    failure: PaymentError | undefined,
  ): Promise<CollectOutcome> {
    const now = this.clock.now();
    const attemptId = attempt.id;
    attempt.completedAt = now;
    if (result) {
      attempt.gatewayPaymentId = result.paymentId;
      attempt.gatewayRequestId = result.gatewayRequestId ?? attempt.gatewayRequestId;
      if (result.status === 'succeeded') {
        attempt.status = AttemptStatus.Succeeded;
        attempt.category = null;
        attempt.declineCode = null;
        attempt.retryable = null;
        attempt.message = null;
        // A renewal is charged the moment its period starts (a test clock may have jumped past it).
        await this.markPaid(
          em,
          invoice,
          attempt.amount,
          attempt.trigger === AttemptTrigger.Renewal ? invoice.createdAt : undefined,
        );
        return { status: 'paid' as const, invoiceId: invoice.id, attemptId };
      }
      if (result.status === 'requires_action') {
        attempt.status = AttemptStatus.RequiresAction;
        attempt.category = PaymentErrorCategory.AuthenticationRequired;
        await this.dunning.onFailure(em, invoice, {
          failureClass: FailureClass.NeedsAuthentication,
          category: PaymentErrorCategory.AuthenticationRequired,
        });
        return {
          status: 'requires_action' as const,
          invoiceId: invoice.id,
          attemptId,
          paymentId: result.paymentId,
          clientSecret: result.clientSecret,
        };
      }
      // `processing`: the money is on its way; the webhook (or the reconciler) settles it.
      attempt.status = AttemptStatus.Unknown;
      return {
        status: 'unknown' as const,
        invoiceId: invoice.id,
        attemptId,
        error: new PaymentError({
          category: PaymentErrorCategory.ProcessingError,
          message: 'The payment is processing; its webhook will settle it.',
        }),
      };
    }
    const error = failure!;
    attempt.category = error.category;
    attempt.declineCode = error.declineCode;
    attempt.retryable = error.retryable;
    attempt.message = error.message.slice(0, 500);
    attempt.gatewayPaymentId = error.paymentId ?? attempt.gatewayPaymentId;
    attempt.gatewayRequestId = error.gatewayRequestId ?? attempt.gatewayRequestId;
    if (error.outcomeUnknown) {
      attempt.status = AttemptStatus.Unknown;
      return { status: 'unknown' as const, invoiceId: invoice.id, attemptId, error };
    }
    const failureClass = classifyFailure(error);
    if (error.category === PaymentErrorCategory.AuthenticationRequired && error.paymentId) {
      attempt.status = AttemptStatus.RequiresAction;
      await this.dunning.onFailure(em, invoice, {
        failureClass,
        category: error.category,
        declineCode: error.declineCode,
        message: error.message,
      });
      return {
        status: 'requires_action' as const,
        invoiceId: invoice.id,
        attemptId,
        paymentId: error.paymentId,
        clientSecret: null,
      };
    }
    attempt.status = AttemptStatus.Failed;
    await this.dunning.onFailure(em, invoice, {
      failureClass,
      category: error.category,
      declineCode: error.declineCode,
      // The issuer's words reach the customer; our own failures do not.
      message: failureClass === FailureClass.Transient ? null : error.message,
    });
    return { status: 'failed' as const, invoiceId: invoice.id, attemptId, error };
  }

  /**
   * Settles an attempt whose outcome was lost (a dropped connection, a 5xx, a
   * worker that died mid-call): the gateway is asked what became of it — by
   * payment id when we have one, by re-sending under the same idempotency key
   * while the gateway still remembers it (which answers with the first result
   * and can never charge twice), and past that window by searching for the
   * payment tagged with the attempt. Returns the attempt's outcome, or null
   * when it is still not settled (the payment is processing) or not ours to settle.
   */
  async settle(attemptId: string): Promise<CollectOutcome | null> {
    const em = this.em.fork();
    const attempt = await em.findOne(PaymentAttempt, { id: attemptId }, { populate: ['invoice'] });
    if (!attempt) return null;
    const now = this.clock.now();
    const stale =
      attempt.status === AttemptStatus.Pending &&
      attempt.createdAt.getTime() <= now.getTime() - ATTEMPT_LEASE_MS;
    if (attempt.status !== AttemptStatus.Unknown && !stale) return null;

    const keyAlive = now.getTime() - attempt.createdAt.getTime() < IDEMPOTENCY_WINDOW_MS;
    if (!attempt.gatewayPaymentId && keyAlive) {
      // The same request again: the gateway replays what it did, or does it now, once.
      const prepared = await this.prepareResend(em, attempt);
      return prepared ? this.send(attempt.invoice.id, prepared) : null;
    }
    let lookup: PaymentLookup | null;
    try {
      lookup = attempt.gatewayPaymentId
        ? await this.gateway.retrievePayment(attempt.gatewayPaymentId)
        : await this.gateway.findPaymentForAttempt({
            attemptId: attempt.id,
            idempotencyKey: attempt.idempotencyKey,
          });
    } catch (error) {
      this.logger.warn({ err: error, attemptId }, 'reconciliation lookup failed; will try again');
      return null;
    }
    if (lookup?.status === 'processing') return null;
    if (lookup && lookup.amount !== attempt.amount) {
      this.logger.error(
        { attemptId, paymentId: lookup.paymentId, expected: attempt.amount, found: lookup.amount },
        'the gateway payment for this attempt has another amount; left for staff',
      );
      return null;
    }
    const { result, failure } = lookupToOutcome(lookup);
    return this.record(attempt.id, result, failure);
  }

  /** The request an unsettled attempt made, ready to be sent again under its own key. */
  private async prepareResend(
    em: EntityManager,
    attempt: PaymentAttempt,
  ): Promise<PreparedAttempt | null> {
    const [invoice, customer, method] = await Promise.all([
      em.findOneOrFail(Invoice, { id: attempt.invoice.id }),
      em.findOne(BillingCustomer, { tenantId: attempt.tenantId }),
      attempt.paymentMethodId ? em.findOne(PaymentMethod, { id: attempt.paymentMethodId }) : null,
    ]);
    if (!customer || !method) return null;
    return {
      attempt,
      customerGatewayId: customer.gatewayId,
      methodGatewayId: method.gatewayId,
      invoiceTenantId: invoice.tenantId,
      invoiceNumber: invoice.number,
      reconciling: true,
    };
  }

  /**
   * The invoice is paid (by a charge, a webhook, or credit): settle it, end its
   * recovery campaign, and bring its subscription back. Idempotent; a paid
   * invoice stays paid. The caller holds the invoice's row lock.
   */
  async markPaid(em: EntityManager, invoice: Invoice, amount: number, at?: Date): Promise<boolean> {
    if (invoice.status === InvoiceStatus.Paid) return false;
    const billingNow = await this.billingClock.nowFor(em, invoice.tenantId);
    const now = at ?? billingNow;
    invoice.status = InvoiceStatus.Paid;
    invoice.amountPaid = amount;
    invoice.paidAt = now;
    invoice.nextAttemptAt = null;
    invoice.updatedAt = this.clock.now();
    await this.dunning.onPaid(em, invoice, billingNow);
    if (invoice.subscription) {
      const subscription = await em.findOneOrFail(
        Subscription,
        { id: invoice.subscription.id },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (subscription.status === SubscriptionStatus.Incomplete) {
        subscription.status = SubscriptionStatus.Active;
        subscription.updatedAt = this.clock.now();
      } else {
        // Active again, unless another invoice of the subscription is still being recovered.
        await this.dunning.settleSubscription(em, subscription);
      }
    }
    return true;
  }

  /** One structured line per attempt: what on-call greps for. */
  private logAttempt(attempt: PaymentAttempt, outcome: CollectOutcome): void {
    const line = {
      event: 'payment_attempt',
      tenantId: attempt.tenantId,
      invoiceId: attempt.invoice.id,
      attemptId: attempt.id,
      attempt: attempt.attemptNumber,
      trigger: attempt.trigger,
      amount: attempt.amount,
      currency: attempt.currency,
      outcome: attempt.status,
      category: attempt.category ?? null,
      declineCode: attempt.declineCode ?? null,
      retryable: attempt.retryable ?? null,
      gatewayPaymentId: attempt.gatewayPaymentId ?? null,
      gatewayRequestId: attempt.gatewayRequestId ?? null,
      idempotencyKey: attempt.idempotencyKey,
    };
    if (outcome.status === 'paid') this.logger.log(line, 'payment attempt succeeded');
    else this.logger.warn(line, `payment attempt ${outcome.status}`);
  }
}

/** What a gateway lookup says an attempt did, in the terms `record` takes. */
export function lookupToOutcome(lookup: PaymentLookup | null): {
  result?: ChargeResult;
  failure?: PaymentError;
} {
  if (!lookup) {
    // Past the idempotency window the search is authoritative: the request never reached the gateway.
    return {
      failure: new PaymentError({
        category: PaymentErrorCategory.GatewayUnavailable,
        message: 'The gateway has no payment for this attempt; it never reached it.',
        retryable: true,
      }),
    };
  }
  if (lookup.status === 'succeeded' || lookup.status === 'requires_action') {
    return {
      result: {
        paymentId: lookup.paymentId,
        status: lookup.status,
        amount: lookup.amount,
        currency: lookup.currency,
        clientSecret: lookup.status === 'requires_action' ? lookup.clientSecret : null,
        gatewayRequestId: null,
      },
    };
  }
  return {
    failure: new PaymentError({
      category: lookup.error?.category ?? PaymentErrorCategory.CardDeclined,
      declineCode: lookup.error?.declineCode ?? null,
      message: lookup.error?.message ?? `The payment ended ${lookup.status}.`,
      paymentId: lookup.paymentId,
    }),
  };
}
