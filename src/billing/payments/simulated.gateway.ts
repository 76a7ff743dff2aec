import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import { categoryOfDecline } from './decline-codes';
import {
  assertAttemptId,
  CardDetails,
  ChargeRequest,
  ChargeResult,
  GatewayCustomer,
  ParsedGatewayEvent,
  PaymentError,
  PaymentErrorCategory,
  PaymentGateway,
  PaymentLookup,
  RefundResult,
  SetupIntent,
  WebhookSignatureError,
} from './payment-gateway';
import { toGatewayEvent } from './stripe-events';

/** How a card behaves when charged: Stripe's documented test payment methods. */
interface TestCard {
  brand: string;
  last4: string;
  /** Declines with this card-error code and decline code. */
  decline?: { code: string; declineCode: string | null; message: string };
  /** Needs the customer to authenticate (3-D Secure) before it is charged. */
  authenticate?: boolean;
}

const DECLINED = (declineCode: string, message: string, code = 'card_declined') => ({
  code,
  declineCode,
  message,
});

/** https://docs.stripe.com/testing#cards: the `pm_card_*` shortcuts and what they do. */
export const TEST_CARDS: Record<string, TestCard> = {
  pm_card_visa: { brand: 'visa', last4: '4242' },
  pm_card_visa_debit: { brand: 'visa', last4: '5556' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444' },
  pm_card_amex: { brand: 'amex', last4: '8431' },
  pm_card_chargeDeclined: {
    brand: 'visa',
    last4: '0002',
    decline: DECLINED('generic_decline', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    decline: DECLINED('insufficient_funds', 'Your card has insufficient funds.'),
  },
  pm_card_chargeDeclinedLostCard: {
    brand: 'visa',
    last4: '9987',
    decline: DECLINED('lost_card', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedStolenCard: {
    brand: 'visa',
    last4: '9979',
    decline: DECLINED('stolen_card', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedFraudulent: {
    brand: 'visa',
    last4: '0019',
    decline: DECLINED('fraudulent', 'Your card was declined.'),
  },
  pm_card_chargeDeclinedExpiredCard: {
    brand: 'visa',
    last4: '0069',
    decline: { code: 'expired_card', declineCode: null, message: 'Your card has expired.' },
  },
  pm_card_chargeDeclinedIncorrectCvc: {
    brand: 'visa',
    last4: '0127',
    decline: {
      code: 'incorrect_cvc',
      declineCode: null,
      message: "Your card's security code is incorrect.",
    },
  },
  pm_card_chargeDeclinedProcessingError: {
    brand: 'visa',
    last4: '0119',
    decline: {
      code: 'processing_error',
      declineCode: null,
      message: 'An error occurred while processing your card. Try again in a little bit.',
    },
  },
  pm_card_authenticationRequired: { brand: 'visa', last4: '3184', authenticate: true },
  /** Saves fine, declines every charge: a card that later fails renewals. */
  pm_card_chargeCustomerFail: {
    brand: 'visa',
    last4: '0341',
    decline: DECLINED('generic_decline', 'Your card was declined.'),
  },
};

/** A failure the next gateway calls will meet (tests and demos inject them). */
export type SimulatedFault =
  /** 429: retry later. */
  | 'rate_limited'
  /** 5xx: the gateway failed; it may have acted. */
  | 'unavailable'
  /** The connection dropped after the request was sent; the charge went through. */
  | 'timeout_after_charge'
  /** The connection dropped after the request was sent; nothing happened. */
  | 'timeout_before_charge'
  /** Nothing listening: the request was never sent. */
  | 'refused';

/** Every fault kind, in a fixed order (a fault rate draws from these by default). */
export const SIMULATED_FAULTS: readonly SimulatedFault[] = [
  'rate_limited',
  'unavailable',
  'timeout_after_charge',
  'timeout_before_charge',
  'refused',
];

/** Random faults: each gateway call fails with probability `rate`, with a fault drawn from `faults`. */
export interface SimulatedFaultRate {
  /** 0..1. */
  rate: number;
  /** Default: all five kinds, equally likely. */
  faults?: readonly SimulatedFault[];
  /** Seeds the generator, so a run can be repeated exactly. Default: 1. */
  seed?: number;
}

/**
 * mulberry32 (Tommy Ettinger's 32-bit generator): uniform floats in [0, 1)
 * from a 32-bit seed. Not for anything secret; it is here so a chaos test
 * fails the same calls every time it runs with the same seed.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const noFaults = (): Record<SimulatedFault, number> => ({
  rate_limited: 0,
  unavailable: 0,
  timeout_after_charge: 0,
  timeout_before_charge: 0,
  refused: 0,
});

interface SimulatedPaymentMethod {
  id: string;
  card: TestCard;
  customerId: string | null;
}

interface SimulatedPayment {
  id: string;
  status: PaymentLookup['status'];
  amount: number;
  currency: string;
  metadata: Record<string, string>;
  clientSecret: string;
  paymentMethodId: string;
  error: PaymentLookup['error'];
  refunded: number;
}

const rid = (prefix: string) => `${prefix}_sim_${randomBytes(9).toString('base64url')}`;
const expiry = () => ({ expMonth: 12, expYear: new Date().getUTCFullYear() + 3 });

/**
 * The offline gateway: no network, Stripe's test cards and their outcomes, and
 * fault injection. State lives in this process (a demo or test convenience;
 * production uses Stripe). Webhooks use Stripe's signature scheme with the
 * configured secret, so the webhook endpoint works the same with either adapter.
 */
export class SimulatedGateway extends PaymentGateway {
  readonly name = 'simulated';
  private readonly stripe = new Stripe('sk_test_simulated_gateway_offline');
  private readonly customers = new Set<string>();
  private readonly methods = new Map<string, SimulatedPaymentMethod>();
  private readonly payments = new Map<string, SimulatedPayment>();
  /** Idempotency key → payment id, as Stripe keeps them (24 h there; the process lifetime here). */
  private readonly byKey = new Map<string, string>();
  private readonly faults: SimulatedFault[] = [];
  private faultRate: {
    rate: number;
    faults: readonly SimulatedFault[];
    next: () => number;
  } | null = null;
  private readonly faultCounts = noFaults();
  private readonly refundsByKey = new Map<string, RefundResult>();
  /** Every charge request received, for assertions (how many times was the card charged?). */
  readonly chargeLog: ChargeRequest[] = [];

  constructor(private readonly webhookSecret: string) {
    super();
  }

  /** The next `count` calls fail with `fault` (before any fault rate is consulted). */
  injectFault(fault: SimulatedFault, count = 1): void {
    for (let i = 0; i < count; i++) this.faults.push(fault);
  }

  /**
   * From now on each call (charges and the others) fails on its own with
   * probability `rate`, with a fault drawn uniformly from `faults`; null turns
   * it off. Every call draws one number from a generator seeded with `seed`,
   * whether or not an injected fault takes its place, so call n meets the same
   * fate on every run with the same seed.
   */
  setFaultRate(options: SimulatedFaultRate | null): void {
    if (!options) {
      this.faultRate = null;
      return;
    }
    const { rate, faults = SIMULATED_FAULTS, seed = 1 } = options;
    if (!Number.isFinite(rate) || rate < 0 || rate > 1) {
      throw new RangeError(`A fault rate is between 0 and 1, not ${rate}`);
    }
    if (faults.length === 0 || faults.some((f) => !SIMULATED_FAULTS.includes(f))) {
      throw new RangeError(`Faults to draw from: some of ${SIMULATED_FAULTS.join(', ')}`);
    }
    if (!Number.isSafeInteger(seed)) throw new RangeError(`A seed is an integer, not ${seed}`);
    this.faultRate = { rate, faults: [...faults], next: mulberry32(seed) };
  }

  /** Forgets injected faults and turns any fault rate off. */
  clearFaults(): void {
    this.faults.length = 0;
    this.faultRate = null;
  }

  /** How many calls failed with each fault, injected or drawn, since this gateway was made. */
  get faultsInjected(): Readonly<Record<SimulatedFault, number>> {
    return { ...this.faultCounts };
  }

  /**
   * The succeeded payments held for each `metadata.invoice_id`: the witness
   * that no invoice was paid twice (every value 1), however calls failed.
   */
  succeededPaymentsByInvoice(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const payment of this.payments.values()) {
      const invoiceId = payment.metadata.invoice_id;
      if (payment.status !== 'succeeded' || invoiceId === undefined) continue;
      counts.set(invoiceId, (counts.get(invoiceId) ?? 0) + 1);
    }
    return counts;
  }

  createCustomer(): Promise<GatewayCustomer> {
    return this.call(() => {
      const id = rid('cus');
      this.customers.add(id);
      return { id };
    });
  }

  createSetupIntent(customerId: string): Promise<SetupIntent> {
    return this.call(() => {
      this.assertCustomer(customerId);
      const id = rid('seti');
      return {
        id,
        clientSecret: `${id}_secret_${randomBytes(12).toString('base64url')}`,
        status: 'requires_payment_method' as const,
      };
    });
  }

  /**
   * Accepts a test shortcut (`pm_card_visa`: a new payment method is made from
   * it, as Stripe does) or a payment method made earlier.
   */
  attachPaymentMethod(customerId: string, paymentMethodId: string): Promise<CardDetails> {
    return this.call(() => {
      this.assertCustomer(customerId);
      let method = this.methods.get(paymentMethodId);
      if (!method) {
        const card = TEST_CARDS[paymentMethodId];
        if (!card) {
          throw new PaymentError({
            category: PaymentErrorCategory.InvalidRequest,
            message: `No such PaymentMethod: '${paymentMethodId}'. The simulated gateway knows Stripe's test cards: ${Object.keys(TEST_CARDS).join(', ')}.`,
            httpStatus: 400,
          });
        }
        method = { id: rid('pm'), card, customerId: null };
        this.methods.set(method.id, method);
      }
      if (method.customerId && method.customerId !== customerId) {
        throw new PaymentError({
          category: PaymentErrorCategory.InvalidRequest,
          message: 'The payment method belongs to another customer.',
          httpStatus: 400,
        });
      }
      method.customerId = customerId;
      return { id: method.id, brand: method.card.brand, last4: method.card.last4, ...expiry() };
    });
  }

  detachPaymentMethod(paymentMethodId: string): Promise<void> {
    return this.call(() => {
      const method = this.methods.get(paymentMethodId);
      if (method) method.customerId = null;
    });
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    this.chargeLog.push(request);
    const fault = this.nextFault();
    if (fault === 'timeout_after_charge') {
      // The gateway acted (charged or declined); only its answer was lost.
      try {
        this.chargeNow(request);
      } catch {
        // The decline is recorded on the payment; the caller sees the lost connection.
      }
      throw this.faultError(fault);
    }
    if (fault) throw this.faultError(fault);
    return Promise.resolve(this.chargeNow(request));
  }

  retrievePayment(paymentId: string): Promise<PaymentLookup> {
    return this.call(() => {
      const payment = this.payments.get(paymentId);
      if (!payment) {
        throw new PaymentError({
          category: PaymentErrorCategory.InvalidRequest,
          message: `No such payment_intent: '${paymentId}'`,
          httpStatus: 404,
        });
      }
      return lookupOf(payment);
    });
  }

  /**
   * The payment made under the attempt's idempotency key, else the newest
   * carrying its `attempt_id`. Unlike Stripe's search, there is no indexing
   * lag: a payment is found as soon as it is made.
   */
  async findPaymentForAttempt(input: {
    attemptId: string;
    idempotencyKey: string;
  }): Promise<PaymentLookup | null> {
    // Refused before it is sent, as the Stripe adapter does: no fault applies.
    assertAttemptId(input.attemptId);
    return await this.call(() => {
      const keyed = this.byKey.get(input.idempotencyKey);
      let payment = keyed === undefined ? undefined : this.payments.get(keyed);
      if (!payment) {
        for (const candidate of this.payments.values()) {
          // Insertion order: the last match is the newest.
          if (candidate.metadata.attempt_id === input.attemptId) payment = candidate;
        }
      }
      return payment ? lookupOf(payment) : null;
    });
  }

  /** The payment made under an idempotency key, if any (reconciling an unknown outcome). */
  paymentForKey(idempotencyKey: string): string | undefined {
    return this.byKey.get(idempotencyKey);
  }

  refund(input: {
    paymentId: string;
    amount?: number;
    idempotencyKey: string;
  }): Promise<RefundResult> {
    return this.call(() => {
      const replayed = this.refundsByKey.get(input.idempotencyKey);
      if (replayed) return replayed;
      const payment = this.payments.get(input.paymentId);
      if (!payment || payment.status !== 'succeeded') {
        throw new PaymentError({
          category: PaymentErrorCategory.InvalidRequest,
          message: 'Only a succeeded payment can be refunded.',
          httpStatus: 400,
        });
      }
      const amount = input.amount ?? payment.amount - payment.refunded;
      if (amount <= 0 || payment.refunded + amount > payment.amount) {
        throw new PaymentError({
          category: PaymentErrorCategory.InvalidRequest,
          message: 'The refund exceeds what is left of the payment.',
          httpStatus: 400,
        });
      }
      payment.refunded += amount;
      const refund = { id: rid('re'), amount, status: 'succeeded' as const };
      this.refundsByKey.set(input.idempotencyKey, refund);
      return refund;
    });
  }

  /**
   * The customer completes 3-D Secure (or fails it) for a payment that needed
   * it; returns the webhook event Stripe would send, signed, for the caller to
   * deliver to `POST /webhooks/stripe`.
   */
  completeAuthentication(
    paymentId: string,
    succeed: boolean,
  ): { payload: string; signature: string } {
    const payment = this.payments.get(paymentId);
    if (!payment) throw new Error(`No simulated payment ${paymentId}`);
    if (payment.status === 'requires_action') {
      payment.status = succeed ? 'succeeded' : 'requires_payment_method';
      payment.error = succeed
        ? null
        : {
            category: PaymentErrorCategory.AuthenticationRequired,
            declineCode: 'authentication_required',
            message: 'The customer did not complete authentication.',
          };
    }
    return this.signedEvent(
      payment.status === 'succeeded' ? 'payment_intent.succeeded' : 'payment_intent.payment_failed',
      this.intentObject(payment),
    );
  }

  /** A signed Stripe-shaped event, as the webhook endpoint receives it. */
  signedEvent(
    type: string,
    object: Record<string, unknown>,
  ): { payload: string; signature: string } {
    const payload = JSON.stringify({
      id: rid('evt'),
      object: 'event',
      type,
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      data: { object },
    });
    const signature = this.stripe.webhooks.generateTestHeaderString({
      payload,
      secret: this.webhookSecret,
    });
    return { payload, signature };
  }

  intentObject(payment: SimulatedPayment): Record<string, unknown> {
    return {
      id: payment.id,
      object: 'payment_intent',
      amount: payment.amount,
      currency: payment.currency,
      status: payment.status,
      metadata: payment.metadata,
      payment_method: payment.paymentMethodId,
      last_payment_error: payment.error
        ? {
            type: 'card_error',
            code: payment.error.declineCode,
            decline_code: payment.error.declineCode,
            message: payment.error.message,
          }
        : null,
    };
  }

  payment(paymentId: string): SimulatedPayment | undefined {
    return this.payments.get(paymentId);
  }

  parseWebhook(rawBody: Buffer, signature: string | undefined): ParsedGatewayEvent {
    let event: Stripe.Event;
    try {
      event = this.stripe.webhooks.constructEvent(rawBody, signature ?? '', this.webhookSecret);
    } catch (error) {
      throw new WebhookSignatureError('The webhook signature does not verify.', error);
    }
    return toGatewayEvent(event);
  }

  private chargeNow(request: ChargeRequest): ChargeResult {
    const replayed = this.byKey.get(request.idempotencyKey);
    if (replayed) return this.resultOf(this.payments.get(replayed)!);
    const method = this.methods.get(request.paymentMethodId);
    if (!method || method.customerId !== request.customerId) {
      throw new PaymentError({
        category: PaymentErrorCategory.InvalidRequest,
        message: `No such PaymentMethod for this customer: '${request.paymentMethodId}'`,
        httpStatus: 400,
      });
    }
    const id = rid('pi');
    const payment: SimulatedPayment = {
      id,
      status: 'succeeded',
      amount: request.amount,
      currency: request.currency,
      metadata: { ...request.metadata },
      clientSecret: `${id}_secret_${randomBytes(12).toString('base64url')}`,
      paymentMethodId: method.id,
      error: null,
      refunded: 0,
    };
    const { decline, authenticate } = method.card;
    if (decline) {
      payment.status = 'requires_payment_method';
      payment.error = {
        category: categoryOfDecline(decline.code, decline.declineCode),
        declineCode: decline.declineCode ?? decline.code,
        message: decline.message,
      };
    } else if (authenticate) {
      payment.status = 'requires_action';
    }
    this.payments.set(id, payment);
    this.byKey.set(request.idempotencyKey, id);
    return this.resultOf(payment);
  }

  /** Replays a stored payment as the charge call answered it the first time. */
  private resultOf(payment: SimulatedPayment): ChargeResult {
    if (payment.error && payment.status === 'requires_payment_method') {
      throw new PaymentError({
        category: payment.error.category,
        message: payment.error.message,
        declineCode: payment.error.declineCode,
        paymentId: payment.id,
        gatewayRequestId: rid('req'),
        httpStatus: 402,
      });
    }
    return {
      paymentId: payment.id,
      status: payment.status === 'requires_action' ? 'requires_action' : 'succeeded',
      amount: payment.amount,
      currency: payment.currency,
      clientSecret: payment.status === 'requires_action' ? payment.clientSecret : null,
      gatewayRequestId: rid('req'),
    };
  }

  private assertCustomer(customerId: string): void {
    if (!this.customers.has(customerId)) {
      throw new PaymentError({
        category: PaymentErrorCategory.InvalidRequest,
        message: `No such customer: '${customerId}'`,
        httpStatus: 400,
      });
    }
  }

  /**
   * The fault this call meets, if any: an injected one first, else one drawn
   * at the fault rate. The generator advances on every call while a rate is set.
   */
  private nextFault(): SimulatedFault | undefined {
    let fault = this.faults.shift();
    if (this.faultRate) {
      const { rate, faults, next } = this.faultRate;
      const draw = next();
      // One draw decides both: below `rate` it fails, and draw / rate is
      // again uniform in [0, 1), which picks the kind.
      if (fault === undefined && draw < rate) {
        fault = faults[Math.min(faults.length - 1, Math.floor((draw / rate) * faults.length))];
      }
    }
    if (fault !== undefined) this.faultCounts[fault] += 1;
    return fault;
  }

  /** Runs a non-charge call through the fault queue and the fault rate. */
  private call<T>(fn: () => T): Promise<T> {
    const fault = this.nextFault();
    if (fault) return Promise.reject(this.faultError(fault));
    try {
      return Promise.resolve(fn());
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  }

  private faultError(fault: SimulatedFault): PaymentError {
    switch (fault) {
      case 'rate_limited':
        return new PaymentError({
          category: PaymentErrorCategory.RateLimited,
          message: 'Too many requests hit the API too quickly (simulated).',
          retryable: true,
          httpStatus: 429,
          gatewayRequestId: rid('req'),
        });
      case 'unavailable':
        return new PaymentError({
          category: PaymentErrorCategory.GatewayUnavailable,
          message: 'The gateway answered 500 (simulated).',
          retryable: true,
          outcomeUnknown: true,
          httpStatus: 500,
          gatewayRequestId: rid('req'),
        });
      case 'timeout_after_charge':
      case 'timeout_before_charge':
        return new PaymentError({
          category: PaymentErrorCategory.GatewayUnavailable,
          message: 'The connection to the gateway dropped after the request was sent (simulated).',
          retryable: true,
          outcomeUnknown: true,
        });
      case 'refused':
        return new PaymentError({
          category: PaymentErrorCategory.GatewayUnavailable,
          message: 'The gateway refused the connection (simulated).',
          retryable: true,
        });
    }
  }
}

/** A stored payment as reconciliation sees it. */
function lookupOf(payment: SimulatedPayment): PaymentLookup {
  const { id, status, amount, currency, metadata, error, clientSecret } = payment;
  return {
    paymentId: id,
    status,
    amount,
    currency,
    metadata: { ...metadata },
    clientSecret: status === 'succeeded' ? null : clientSecret,
    error,
  };
}
