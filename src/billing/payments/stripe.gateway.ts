import Stripe from 'stripe';
import type { AppConfig } from '../../config/app-config';
import { ConfigError } from '../../config/config.error';
import type { Secret } from '../../config/secret';
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
import { declinedIntentError, declineOfIntent, toPaymentError } from './stripe-errors';
import { toGatewayEvent } from './stripe-events';

/**
 * The Stripe API version this adapter and its types are written against. Pinned
 * so an account-level upgrade in the Dashboard cannot change what we parse.
 */
export const STRIPE_API_VERSION = '2026-10-28.endive';

export interface StripeGatewayOptions {
  secretKey: Secret;
  /** Verifies `Stripe-Signature` on webhooks (`whsec_…`). */
  webhookSecret: Secret;
  /** Another API base (a local fake, stripe-mock); unset: api.stripe.com. Its path is ignored. */
  apiUrl?: string;
  /**
   * Retries inside the SDK. 0 by default: the billing engine retries with
   * backoff under the same idempotency key, and must see every failure. (Even
   * at 0, stripe-node retries a reset connection once; it sends the same key.)
   */
  maxNetworkRetries?: number;
  /** Per request, in milliseconds. */
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 20_000;

/** The adapter's options from the typed configuration. */
export function stripeGatewayOptions(config: AppConfig): StripeGatewayOptions {
  const { stripe, webhookSecret } = config.billing;
  if (!stripe.secretKey) {
    throw new ConfigError(['STRIPE_SECRET_KEY: is required when BILLING_GATEWAY is stripe']);
  }
  return { secretKey: stripe.secretKey, webhookSecret, apiUrl: stripe.apiUrl };
}

/** The SDK's host/port/protocol for an API base URL. */
function endpointOf(apiUrl: string): Pick<Stripe.StripeConfig, 'host' | 'port' | 'protocol'> {
  const url = new URL(apiUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return {
    protocol,
    // URL keeps the brackets of an IPv6 literal; http.request wants them gone.
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port || (protocol === 'http' ? 80 : 443),
  };
}

/** An expandable field's id. */
/**
 * An id Stripe answered with, checked: a response of another shape (a proxy's
 * page, another object) must not be stored as if it named a Stripe object.
 */
function checkedId(value: unknown, what: string): string {
  if (typeof value === 'string' && value !== '') return value;
  throw new PaymentError({
    category: PaymentErrorCategory.ProcessingError,
    message: `Stripe answered without a ${what} id`,
    outcomeUnknown: true,
  });
}

function idOf(value: string | { id: string } | null | undefined): string | null {
  return typeof value === 'string' ? value : (value?.id ?? null);
}

/** The PaymentGateway port over Stripe's official SDK. */
export class StripeGateway extends PaymentGateway {
  readonly name = 'stripe';
  // A true private field: the SDK client keeps the API key on itself, in view
  // of util.inspect, so it must not be reachable from a logged gateway.
  readonly #stripe: Stripe;
  readonly #webhookSecret: Secret;

  constructor(options: StripeGatewayOptions) {
    super();
    this.#webhookSecret = options.webhookSecret;
    this.#stripe = new Stripe(options.secretKey.reveal(), {
      apiVersion: STRIPE_API_VERSION,
      maxNetworkRetries: options.maxNetworkRetries ?? 0,
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      appInfo: { name: 'Groundwork' },
      ...(options.apiUrl ? endpointOf(options.apiUrl) : {}),
    });
  }

  async createCustomer(input: {
    email: string;
    name: string;
    tenantId: string;
  }): Promise<GatewayCustomer> {
    const customer = await this.call(() =>
      this.#stripe.customers.create(
        { email: input.email, name: input.name, metadata: { tenant_id: input.tenantId } },
        // One Stripe customer per tenant, even when onboarding is retried.
        { idempotencyKey: `customer:${input.tenantId}` },
      ),
    );
    return { id: checkedId(customer.id, 'customer') };
  }

  async createSetupIntent(customerId: string): Promise<SetupIntent> {
    const intent = await this.call(() =>
      this.#stripe.setupIntents.create({
        customer: customerId,
        usage: 'off_session',
        allowed_payment_method_types: ['card'],
      }),
    );
    return {
      id: intent.id,
      clientSecret: intent.client_secret ?? '',
      status: intent.status as SetupIntent['status'],
    };
  }

  async attachPaymentMethod(customerId: string, paymentMethodId: string): Promise<CardDetails> {
    let method = await this.call(() => this.#stripe.paymentMethods.retrieve(paymentMethodId));
    if (idOf(method.customer) !== customerId) {
      // Attached elsewhere: Stripe refuses (400), which is what we want.
      method = await this.call(() =>
        this.#stripe.paymentMethods.attach(paymentMethodId, { customer: customerId }),
      );
    }
    const card = method.card;
    if (!card) {
      throw new PaymentError({
        category: PaymentErrorCategory.InvalidRequest,
        message: `Payment method ${method.id} is a ${method.type}, not a card`,
      });
    }
    return {
      id: method.id,
      brand: card.brand,
      last4: card.last4,
      expMonth: card.exp_month,
      expYear: card.exp_year,
    };
  }

  async detachPaymentMethod(paymentMethodId: string): Promise<void> {
    await this.call(() => this.#stripe.paymentMethods.detach(paymentMethodId));
  }

  async charge(request: ChargeRequest): Promise<ChargeResult> {
    const intent = await this.call(() =>
      this.#stripe.paymentIntents.create(
        {
          amount: request.amount,
          currency: request.currency,
          customer: request.customerId,
          payment_method: request.paymentMethodId,
          // Cards only: with automatic payment methods, a server-side confirm
          // without a return_url fails as soon as a redirect method is enabled.
          // (`payment_method_types` is gone from this API version's params.)
          allowed_payment_method_types: ['card'],
          confirm: true,
          off_session: true,
          description: request.description,
          metadata: request.metadata,
        },
        { idempotencyKey: request.idempotencyKey },
      ),
    );
    const requestId = intent.lastResponse?.requestId ?? null;
    const result = {
      paymentId: checkedId(intent.id, 'payment'),
      amount: intent.amount,
      currency: intent.currency,
      clientSecret: null,
      gatewayRequestId: requestId,
    };
    switch (intent.status) {
      case 'succeeded':
        return { ...result, status: 'succeeded' };
      case 'processing':
        return { ...result, status: 'processing' };
      case 'requires_action':
        // The customer must come back on-session (Stripe.js) to authenticate.
        return { ...result, status: 'requires_action', clientSecret: intent.client_secret };
      case 'requires_payment_method':
        // Confirmed and failed: a decline, reported like the 402 it usually is.
        throw declinedIntentError(intent, requestId, intent.lastResponse?.statusCode ?? null);
      default:
        // requires_confirmation / requires_capture / canceled: not what an
        // automatic-capture, confirm-now intent can return; never call it paid.
        throw new PaymentError({
          category: PaymentErrorCategory.ProcessingError,
          message: `Stripe left payment ${intent.id} in unexpected status ${intent.status}`,
          paymentId: intent.id,
          gatewayRequestId: requestId,
        });
    }
  }

  async retrievePayment(paymentId: string): Promise<PaymentLookup> {
    const intent = await this.call(() => this.#stripe.paymentIntents.retrieve(paymentId));
    return lookupOf(intent);
  }

  /**
   * Searches PaymentIntents by the `attempt_id` metadata every charge carries.
   * The idempotency key is not used: Stripe offers no lookup by key, and
   * replaying the charge under it would charge again once the key has expired.
   *
   * Stripe's search index lags writes: under a minute normally, up to an
   * hour during an outage (https://docs.stripe.com/search#data-freshness). A
   * null for a recent attempt does not mean it was never charged.
   */
  async findPaymentForAttempt(input: {
    attemptId: string;
    idempotencyKey: string;
  }): Promise<PaymentLookup | null> {
    // A UUID needs no escaping in the query; anything else is refused.
    assertAttemptId(input.attemptId);
    const found = await this.call(() =>
      this.#stripe.paymentIntents.search({
        query: `metadata['attempt_id']:'${input.attemptId}'`,
        limit: 100,
      }),
    );
    // Search results carry no guaranteed order; the newest by creation wins,
    // the first listed on a tie (Stripe lists newest first).
    let newest: Stripe.PaymentIntent | null = null;
    for (const intent of found.data) {
      if (!newest || intent.created > newest.created) newest = intent;
    }
    return newest ? lookupOf(newest) : null;
  }

  async refund(input: {
    paymentId: string;
    amount?: number;
    idempotencyKey: string;
  }): Promise<RefundResult> {
    const refund = await this.call(() =>
      this.#stripe.refunds.create(
        { payment_intent: input.paymentId, amount: input.amount },
        { idempotencyKey: input.idempotencyKey },
      ),
    );
    return { id: refund.id, amount: refund.amount, status: refundStatusOf(refund.status) };
  }

  parseWebhook(rawBody: Buffer, signature: string | undefined): ParsedGatewayEvent {
    if (!signature) throw new WebhookSignatureError('Missing Stripe-Signature header');
    let event: Stripe.Event;
    try {
      event = this.#stripe.webhooks.constructEvent(
        rawBody,
        signature,
        this.#webhookSecret.reveal(),
      );
    } catch (error) {
      // A bad signature, a stale timestamp, or a signed body that is not an
      // event: either way it is refused, and the message carries no secret.
      const reason =
        error instanceof Stripe.errors.StripeSignatureVerificationError
          ? 'signature does not verify'
          : 'payload is not a Stripe event';
      throw new WebhookSignatureError(`Stripe webhook refused: ${reason}`, error);
    }
    return toGatewayEvent(event);
  }

  /** Runs one SDK call, turning whatever it throws into a PaymentError. */
  private async call<T>(request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw toPaymentError(error);
    }
  }
}

/** A PaymentIntent as reconciliation sees it. */
function lookupOf(intent: Stripe.PaymentIntent): PaymentLookup {
  const error = declineOfIntent(intent);
  return {
    paymentId: checkedId(intent.id, 'payment'),
    status: lookupStatusOf(intent.status, error !== null),
    amount: intent.amount,
    currency: intent.currency,
    metadata: { ...intent.metadata },
    clientSecret: intent.client_secret ?? null,
    error,
  };
}

function lookupStatusOf(
  status: Stripe.PaymentIntent.Status,
  failed: boolean,
): PaymentLookup['status'] {
  switch (status) {
    case 'succeeded':
      return 'succeeded';
    case 'processing':
      return 'processing';
    case 'requires_action':
      return 'requires_action';
    case 'canceled':
      return 'canceled';
    case 'requires_capture':
      // Authorised, not yet captured: money is on its way, as with processing.
      return 'processing';
    case 'requires_payment_method':
      // After a failed attempt Stripe goes back to waiting for a payment method.
      return failed ? 'failed' : 'requires_payment_method';
    default:
      // requires_confirmation: nothing was attempted.
      return 'requires_payment_method';
  }
}

function refundStatusOf(status: string | null): RefundResult['status'] {
  switch (status) {
    case 'succeeded':
      return 'succeeded';
    case 'failed':
    case 'canceled':
      return 'failed';
    default:
      // pending, requires_action (some non-card methods), or not yet known.
      return 'pending';
  }
}
