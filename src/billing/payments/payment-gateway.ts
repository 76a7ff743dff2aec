/**
 * The port between Groundwork's billing engine and whoever moves the money.
 * Groundwork owns subscriptions and invoices; the gateway stores payment
 * methods (card numbers never reach us) and charges them. Two adapters:
 * `stripe` (the official SDK) and `simulated` (offline, Stripe's documented
 * test cards), chosen by configuration.
 */

/** Why a payment did not go through, the same for every adapter. */
export enum PaymentErrorCategory {
  CardDeclined = 'card_declined',
  InsufficientFunds = 'insufficient_funds',
  ExpiredCard = 'expired_card',
  AuthenticationRequired = 'authentication_required',
  ProcessingError = 'processing_error',
  RateLimited = 'rate_limited',
  GatewayUnavailable = 'gateway_unavailable',
  InvalidRequest = 'invalid_request',
  Configuration = 'configuration',
}

/**
 * A failed gateway call, classified. `retryable` says whether the same call may
 * be repeated (under the same idempotency key) with a chance of success;
 * `outcomeUnknown` says the request may have reached the gateway and been
 * acted on, so the caller must look the payment up before anything else.
 */
export class PaymentError extends Error {
  readonly category: PaymentErrorCategory;
  readonly declineCode: string | null;
  readonly retryable: boolean;
  readonly outcomeUnknown: boolean;
  readonly gatewayRequestId: string | null;
  /** The payment the gateway created before failing it (a declined PaymentIntent), if any. */
  readonly paymentId: string | null;
  readonly httpStatus: number | null;

  constructor(options: {
    category: PaymentErrorCategory;
    message: string;
    declineCode?: string | null;
    retryable?: boolean;
    outcomeUnknown?: boolean;
    gatewayRequestId?: string | null;
    paymentId?: string | null;
    httpStatus?: number | null;
    cause?: unknown;
  }) {
    super(options.message, { cause: options.cause });
    this.name = 'PaymentError';
    this.category = options.category;
    this.declineCode = options.declineCode ?? null;
    this.retryable = options.retryable ?? false;
    this.outcomeUnknown = options.outcomeUnknown ?? false;
    this.gatewayRequestId = options.gatewayRequestId ?? null;
    this.paymentId = options.paymentId ?? null;
    this.httpStatus = options.httpStatus ?? null;
  }
}

export interface GatewayCustomer {
  id: string;
}

export interface CardDetails {
  /** The gateway's id (`pm_…`). */
  id: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
}

export interface SetupIntent {
  id: string;
  /** Handed to the browser (Stripe.js) to collect the card; never stored. */
  clientSecret: string;
  status:
    | 'requires_payment_method'
    | 'requires_confirmation'
    | 'requires_action'
    | 'succeeded'
    | 'canceled'
    | 'processing';
}

export type ChargeStatus = 'succeeded' | 'requires_action' | 'processing';

/** A charge the gateway accepted (a decline is a thrown PaymentError instead). */
export interface ChargeResult {
  /** `pi_…` */
  paymentId: string;
  status: ChargeStatus;
  amount: number;
  currency: string;
  /** For `requires_action`: what the browser confirms with. */
  clientSecret: string | null;
  gatewayRequestId: string | null;
}

export interface ChargeRequest {
  customerId: string;
  paymentMethodId: string;
  /** Minor units. */
  amount: number;
  currency: string;
  /** Derived from what the charge is for (`invoice:<id>:attempt:<n>`): a retry can never charge twice. */
  idempotencyKey: string;
  description: string;
  /** Ours, echoed back in webhooks (`invoice_id`, `tenant_id`). */
  metadata: Record<string, string>;
}

/** A payment as the gateway knows it, for reconciliation. */
export interface PaymentLookup {
  paymentId: string;
  status: ChargeStatus | 'failed' | 'canceled' | 'requires_payment_method';
  amount: number;
  currency: string;
  metadata: Record<string, string>;
  /** What the browser confirms the payment with (3-D Secure), when it still can be. */
  clientSecret: string | null;
  /** The last decline, when the payment failed. */
  error: { category: PaymentErrorCategory; declineCode: string | null; message: string } | null;
}

export interface RefundResult {
  id: string;
  amount: number;
  status: 'succeeded' | 'pending' | 'failed';
}

/** A verified webhook event, reduced to what billing acts on. */
export type GatewayEventData =
  | {
      kind: 'payment.succeeded' | 'payment.failed' | 'payment.requires_action';
      paymentId: string;
      amount: number;
      currency: string;
      metadata: Record<string, string>;
      error: { category: PaymentErrorCategory; declineCode: string | null; message: string } | null;
    }
  | {
      kind: 'setup.succeeded';
      setupIntentId: string;
      customerId: string | null;
      paymentMethodId: string | null;
    }
  | { kind: 'payment_method.detached'; paymentMethodId: string }
  | { kind: 'charge.refunded'; paymentId: string; amountRefunded: number }
  | { kind: 'dispute.created'; paymentId: string; amount: number; reason: string }
  | { kind: 'ignored' };

export interface ParsedGatewayEvent {
  /** `evt_…` */
  id: string;
  /** The gateway's own type name (`payment_intent.succeeded`). */
  type: string;
  occurredAt: Date;
  data: GatewayEventData;
  /** The verified event as received, kept for support and replay. */
  raw: Record<string, unknown>;
}

export abstract class PaymentGateway {
  /** `stripe` or `simulated`. */
  abstract readonly name: string;

  abstract createCustomer(input: {
    email: string;
    name: string;
    /** Our tenant id, kept as metadata; also the idempotency key's subject. */
    tenantId: string;
  }): Promise<GatewayCustomer>;

  /** Starts collecting a card for later off-session use. */
  abstract createSetupIntent(customerId: string): Promise<SetupIntent>;

  /** Card details of a payment method, attaching it to the customer if it is not yet. */
  abstract attachPaymentMethod(customerId: string, paymentMethodId: string): Promise<CardDetails>;

  abstract detachPaymentMethod(paymentMethodId: string): Promise<void>;

  /** Charges a saved payment method off-session. Declines and failures throw PaymentError. */
  abstract charge(request: ChargeRequest): Promise<ChargeResult>;

  /** The current state of a payment, for reconciliation after an unknown outcome or SCA. */
  abstract retrievePayment(paymentId: string): Promise<PaymentLookup>;

  /**
   * The payment the gateway made for one of our charge attempts (found by the
   * `attempt_id` every charge carries in its metadata), or null when it has
   * none. For settling an attempt whose outcome was lost when we hold no
   * payment id and the idempotency key can no longer be replayed (Stripe keeps
   * keys 24 h). When several payments match, the newest.
   *
   * A null is "none found yet", not "never charged": a gateway may index
   * payments for search after a delay (Stripe: about a minute, longer during
   * an outage), so a caller must not settle a recent attempt as unpaid on a
   * null.
   *
   * `attemptId` must be a UUID (a PaymentError of category invalid_request
   * otherwise: it is written into a search query).
   */
  abstract findPaymentForAttempt(input: {
    attemptId: string;
    idempotencyKey: string;
  }): Promise<PaymentLookup | null>;

  abstract refund(input: {
    paymentId: string;
    amount?: number;
    idempotencyKey: string;
  }): Promise<RefundResult>;

  /**
   * Verifies a webhook's signature over its raw body and reduces the event;
   * throws WebhookSignatureError when it does not verify.
   */
  abstract parseWebhook(rawBody: Buffer, signature: string | undefined): ParsedGatewayEvent;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * Refuses an attempt id that is not a UUID before it reaches a gateway: the id
 * is written into a search query, and a UUID needs no quoting there.
 */
export function assertAttemptId(attemptId: string): void {
  if (!UUID.test(attemptId)) {
    throw new PaymentError({
      category: PaymentErrorCategory.InvalidRequest,
      message: `A payment attempt id is a UUID; refusing to look up ${JSON.stringify(attemptId.slice(0, 64))}`,
    });
  }
}

export class WebhookSignatureError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause });
    this.name = 'WebhookSignatureError';
  }
}
