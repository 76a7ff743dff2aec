import { randomBytes } from 'node:crypto';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A small fake of the Stripe API (v1), enough for the `stripe` gateway adapter
 * to be tested through the real SDK: customers, setup intents, payment methods
 * (Stripe's documented test ids), payment intents (and their search by
 * `attempt_id` metadata) and refunds, in memory.
 *
 * It speaks like Stripe: form-encoded bodies, Stripe-shaped JSON errors, a
 * `request-id` header on every response, and v1 idempotency (a key replays
 * the first result; the same key with other parameters is an
 * `idempotency_error`; a key whose first request is still running is a 409).
 * It records every request, and a test can inject faults into the next
 * requests to a route.
 */

type Obj = Record<string, unknown>;
/** A form body decoded into Stripe's nesting: `metadata[tenant_id]` → `{ metadata: { tenant_id } }`. */
export interface Params {
  [key: string]: string | Params;
}

export type Fault =
  /** 429, as Stripe answers when rate limiting; nothing is executed. */
  | { kind: 'rate_limit' }
  /** 500, nothing executed; `shouldRetry` sets `Stripe-Should-Retry`. */
  | { kind: 'server_error'; shouldRetry?: boolean }
  /**
   * Reads the request, then destroys the socket without answering. With
   * `afterProcessing` the request is executed (and its idempotent result
   * stored) first: the response is what gets lost.
   */
  | { kind: 'drop'; afterProcessing?: boolean }
  /**
   * Holds the request `ms` before executing and answering, as a slow Stripe
   * would; a client with a shorter timeout gives up while it still runs.
   */
  | { kind: 'delay'; ms: number };

export interface ReceivedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  stripeVersion: string | null;
  params: Params;
  /** The fault injected into this request, if one was. */
  fault: Fault['kind'] | null;
  /** The status answered; null when the connection was dropped. */
  status: number | null;
  /** The `request-id` answered. */
  requestId: string | null;
}

interface StoredResult {
  signature: string;
  status: number;
  body: Obj;
  requestId: string;
}

interface CardTemplate {
  brand: string;
  last4: string;
  /** Declines every charge (and the card check when attaching). */
  decline?: { code: string; declineCode?: string; message: string; param?: string };
  /** Needs 3D Secure on every payment: declined off-session, `requires_action` on-session. */
  requiresAuthentication?: boolean;
  /** Passes the check when attached; only charges decline (4000000000000341). */
  declineAfterAttach?: boolean;
}

/** Stripe's documented test payment methods (https://docs.stripe.com/testing). */
const TEST_CARDS: Record<string, CardTemplate> = {
  pm_card_visa: { brand: 'visa', last4: '4242' },
  pm_card_mastercard: { brand: 'mastercard', last4: '4444' },
  pm_card_chargeDeclined: {
    brand: 'visa',
    last4: '0002',
    decline: {
      code: 'card_declined',
      declineCode: 'generic_decline',
      message: 'Your card was declined.',
    },
  },
  pm_card_chargeDeclinedInsufficientFunds: {
    brand: 'visa',
    last4: '9995',
    decline: {
      code: 'card_declined',
      declineCode: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    },
  },
  pm_card_chargeDeclinedExpiredCard: {
    brand: 'visa',
    last4: '0069',
    decline: { code: 'expired_card', message: 'Your card has expired.', param: 'exp_month' },
  },
  pm_card_chargeDeclinedStolenCard: {
    brand: 'visa',
    last4: '9979',
    decline: {
      code: 'card_declined',
      declineCode: 'stolen_card',
      message: 'Your card was declined.',
    },
  },
  pm_card_authenticationRequired: { brand: 'visa', last4: '3184', requiresAuthentication: true },
  pm_card_chargeCustomerFail: {
    brand: 'visa',
    last4: '0341',
    declineAfterAttach: true,
    decline: {
      code: 'card_declined',
      declineCode: 'generic_decline',
      message: 'Your card was declined.',
    },
  },
};

const DEFAULT_API_KEY = 'sk_test_FakeGroundwork0123456789';
const EXP_YEAR = new Date().getUTCFullYear() + 3;

/** A Stripe error response, thrown inside a route and answered as is. */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly error: Obj,
  ) {
    super(String(error.message));
  }
}

const invalid = (message: string, extra: Obj = {}) =>
  new ApiError(400, { type: 'invalid_request_error', message, ...extra });
const missing = (kind: string, id: string, param?: string) =>
  // A missing object named in the path is a 404; one named in a parameter is a 400.
  new ApiError(param ? 400 : 404, {
    type: 'invalid_request_error',
    code: 'resource_missing',
    message: `No such ${kind}: '${id}'`,
    ...(param ? { param } : {}),
  });

const randomId = (prefix: string) =>
  `${prefix}_${randomBytes(12).toString('base64url').replace(/[-_]/g, 'x')}`;
const now = () => Math.floor(Date.now() / 1000);

/** Decodes a form body the way Stripe reads it (brackets nest; array indices are keys). */
export function parseForm(body: string): Params {
  const root: Params = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const [head, ...rest] = key.split('[');
    const parts = [head, ...rest.map((part) => part.replace(/\]$/, ''))];
    let node = root;
    parts.forEach((part, index) => {
      if (index === parts.length - 1) {
        node[part] = value;
      } else {
        const next = node[part];
        node = typeof next === 'object' ? next : (node[part] = {});
      }
    });
  }
  return root;
}

const text = (value: string | Params | undefined): string | undefined =>
  typeof value === 'string' ? value : undefined;
const nested = (value: string | Params | undefined): Record<string, string> => {
  const out: Record<string, string> = {};
  if (typeof value === 'object')
    for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
};

export class FakeStripeApi {
  readonly requests: ReceivedRequest[] = [];
  readonly customers = new Map<string, Obj>();
  readonly setupIntents = new Map<string, Obj>();
  readonly paymentMethods = new Map<string, Obj>();
  readonly paymentIntents = new Map<string, Obj>();
  readonly charges = new Map<string, Obj>();
  readonly refunds = new Map<string, Obj>();
  port = 0;

  private readonly apiKey: string;
  /** Which test card each stored payment method was made from (how it charges). */
  private readonly cardOf = new Map<string, CardTemplate>();
  private readonly detached = new Set<string>();
  private readonly stored = new Map<string, StoredResult>();
  private readonly running = new Set<string>();
  private readonly faults: { route: string; fault: Fault; remaining: number }[] = [];
  private forcedIntentStatus?: 'requires_action' | 'processing';
  private readonly sockets = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private server?: Server;

  private constructor(options: { apiKey?: string }) {
    this.apiKey = options.apiKey ?? DEFAULT_API_KEY;
  }

  /** Starts on 127.0.0.1, on a free port. */
  static async start(options: { apiKey?: string } = {}): Promise<FakeStripeApi> {
    const api = new FakeStripeApi(options);
    await api.listen();
    return api;
  }

  /** The secret key it accepts. */
  get secretKey(): string {
    return this.apiKey;
  }

  /** What to give the adapter as `apiUrl`. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /**
   * Injects `fault` into the next `times` requests to `route`: a path
   * (`/v1/payment_intents`, any method) or a method and path (`POST /v1/refunds`).
   */
  failNext(route: string, fault: Fault, times = 1): void {
    this.faults.push({ route, fault, remaining: times });
  }

  /**
   * The next confirmed PaymentIntent ends in this status instead of the
   * card's own outcome (the 3D Secure and asynchronous outcomes Stripe can
   * return, which the documented off-session test cards never produce).
   */
  forceNextIntentStatus(status: 'requires_action' | 'processing'): void {
    this.forcedIntentStatus = status;
  }

  /** The requests received on a route (same form as `failNext`). */
  requestsTo(route: string): ReceivedRequest[] {
    return this.requests.filter((r) => matches(route, r.method, r.path));
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }

  private async listen(): Promise<void> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch((error: unknown) => {
        if (!res.headersSent && !res.destroyed) {
          this.send(res, null, 500, { type: 'api_error', message: String(error) });
        }
      });
    });
    // Never close an idle keep-alive connection under the SDK during a test:
    // it would surface as a reset the SDK retries on its own.
    server.keepAliveTimeout = 120_000;
    server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as AddressInfo).port;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  private takeFault(method: string, path: string): Fault | undefined {
    const entry = this.faults.find((f) => f.remaining > 0 && matches(f.route, method, path));
    if (!entry) return undefined;
    entry.remaining -= 1;
    return entry.fault;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', 'http://fake-stripe');
    const path = url.pathname;
    const key = header(req, 'idempotency-key');
    const record: ReceivedRequest = {
      method,
      path,
      idempotencyKey: key,
      stripeVersion: header(req, 'stripe-version'),
      params: parseForm(method === 'GET' ? url.search.slice(1) : body),
      fault: null,
      status: null,
      requestId: null,
    };
    this.requests.push(record);
    const fault = this.takeFault(method, path);
    record.fault = fault?.kind ?? null;

    if (fault?.kind === 'drop' && !fault.afterProcessing) {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'rate_limit') {
      this.send(res, record, 429, {
        type: 'invalid_request_error',
        code: 'rate_limit',
        message: 'Too many requests hit the API too quickly.',
      });
      return;
    }
    if (fault?.kind === 'server_error') {
      const advice: Record<string, string> =
        fault.shouldRetry === undefined ? {} : { 'stripe-should-retry': String(fault.shouldRetry) };
      this.send(
        res,
        record,
        500,
        { type: 'api_error', message: "Something went wrong on Stripe's end." },
        advice,
      );
      return;
    }
    if (header(req, 'authorization') !== `Bearer ${this.apiKey}`) {
      // Stripe masks the key it was given; so does this.
      this.send(res, record, 401, {
        type: 'invalid_request_error',
        message: 'Invalid API Key provided: sk_test_********************oops',
      });
      return;
    }

    const signature = `${method} ${path} ${[...new URLSearchParams(body)]
      .map((p) => p.join('='))
      .sort()
      .join('&')}`;
    if (key && method === 'POST') {
      const previous = this.stored.get(key);
      if (previous) {
        if (previous.signature !== signature) {
          this.send(res, record, 400, {
            type: 'idempotency_error',
            message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
          });
        } else {
          this.send(res, record, previous.status, previous.body, {
            'idempotent-replayed': 'true',
            'original-request': previous.requestId,
          });
        }
        return;
      }
      if (this.running.has(key)) {
        this.send(res, record, 409, {
          type: 'invalid_request_error',
          code: 'idempotency_key_in_use',
          message:
            'There is currently another in-progress request using this idempotency key. Try again later.',
        });
        return;
      }
    }

    if (key) this.running.add(key);
    try {
      if (fault?.kind === 'delay') await this.sleep(fault.ms);
      const { status, body: answer } = this.execute(method, path, record.params);
      const requestId = randomId('req');
      // Stripe stores a result once the endpoint has started executing; a
      // request refused by validation stores nothing and may be retried.
      if (key && method === 'POST' && status !== 400) {
        this.stored.set(key, { signature, status, body: answer, requestId });
      }
      this.send(res, record, status, answer, {}, requestId);
    } finally {
      if (key) this.running.delete(key);
    }
  }

  /** Runs a route; an ApiError becomes its Stripe error body. */
  private execute(method: string, path: string, params: Params): { status: number; body: Obj } {
    try {
      return { status: 200, body: this.route(method, path, params) };
    } catch (error) {
      if (error instanceof ApiError) return { status: error.status, body: { error: error.error } };
      throw error;
    }
  }

  private route(method: string, path: string, params: Params): Obj {
    const [, version, resource, id, action] = path.split('/');
    if (version !== 'v1') throw unrecognised(method, path);
    const route = `${method} ${resource}${id ? '/:id' : ''}${action ? `/${action}` : ''}`;
    switch (route) {
      case 'POST customers':
        return this.createCustomer(params);
      case 'GET customers/:id':
        return this.customers.get(id) ?? throwing(missing('customer', id));
      case 'POST setup_intents':
        return this.createSetupIntent(params);
      case 'GET setup_intents/:id':
        return this.setupIntents.get(id) ?? throwing(missing('setupintent', id));
      case 'GET payment_methods/:id':
        return this.paymentMethod(id);
      case 'POST payment_methods/:id/attach':
        return this.attach(id, params);
      case 'POST payment_methods/:id/detach':
        return this.detach(id);
      case 'POST payment_intents':
        return this.createPaymentIntent(params);
      case 'GET payment_intents/:id':
        if (id === 'search' && !action) return this.searchPaymentIntents(params);
        return this.paymentIntents.get(id) ?? throwing(missing('payment_intent', id));
      case 'POST refunds':
        return this.createRefund(params);
      default:
        throw unrecognised(method, path);
    }
  }

  private createCustomer(params: Params): Obj {
    const customer = {
      id: randomId('cus'),
      object: 'customer',
      created: now(),
      email: text(params.email) ?? null,
      name: text(params.name) ?? null,
      description: null,
      metadata: nested(params.metadata),
      invoice_settings: { default_payment_method: null },
      livemode: false,
    };
    this.customers.set(customer.id, customer);
    return customer;
  }

  private createSetupIntent(params: Params): Obj {
    const customer = text(params.customer);
    if (customer && !this.customers.has(customer)) throw missing('customer', customer, 'customer');
    const types = Object.values(nested(params.allowed_payment_method_types));
    const id = randomId('seti');
    const intent = {
      id,
      object: 'setup_intent',
      client_secret: `${id}_secret_${randomBytes(12).toString('hex')}`,
      created: now(),
      customer: customer ?? null,
      usage: text(params.usage) ?? 'off_session',
      status: 'requires_payment_method',
      payment_method: null,
      allowed_payment_method_types: types.length ? types : null,
      payment_method_types: types.length ? types : ['card'],
      last_setup_error: null,
      next_action: null,
      livemode: false,
      metadata: nested(params.metadata),
    };
    this.setupIntents.set(id, intent);
    return intent;
  }

  /** A stored payment method, or a fresh unattached one for a test id. */
  private paymentMethod(id: string, param?: string): Obj {
    const stored = this.paymentMethods.get(id);
    if (stored) return stored;
    const card = TEST_CARDS[id];
    if (!card) throw missing('PaymentMethod', id, param);
    return this.paymentMethodObject(id, card, null);
  }

  private paymentMethodObject(id: string, card: CardTemplate, customer: string | null): Obj {
    this.cardOf.set(id, card);
    return {
      id,
      object: 'payment_method',
      type: 'card',
      created: now(),
      customer,
      livemode: false,
      metadata: {},
      billing_details: { address: null, email: null, name: null, phone: null },
      card: {
        brand: card.brand,
        display_brand: card.brand,
        last4: card.last4,
        exp_month: 12,
        exp_year: EXP_YEAR,
        country: 'US',
        funding: 'credit',
      },
    };
  }

  private attach(id: string, params: Params): Obj {
    const customer = text(params.customer);
    if (!customer)
      throw invalid('Missing required param: customer.', {
        code: 'parameter_missing',
        param: 'customer',
      });
    if (!this.customers.has(customer)) throw missing('customer', customer, 'customer');
    const stored = this.paymentMethods.get(id);
    if (stored) {
      if (stored.customer && stored.customer !== customer) {
        throw invalid('The payment method you provided has already been attached to a customer.');
      }
      stored.customer = customer;
      return stored;
    }
    const card = TEST_CARDS[id];
    if (!card) throw missing('PaymentMethod', id);
    // Attaching checks the card with its issuer: the declining test cards fail here
    // (Stripe's "decline after attaching" card, 4000000000000341, is the exception).
    if (card.decline && !card.declineAfterAttach) throw cardError(card.decline, {});
    // A test id is a token: each attach makes a new payment method.
    const method = this.paymentMethodObject(randomId('pm'), card, customer);
    this.paymentMethods.set(method.id as string, method);
    return method;
  }

  private detach(id: string): Obj {
    const stored = this.paymentMethods.get(id);
    if (!stored?.customer) {
      if (!stored && !TEST_CARDS[id]) throw missing('PaymentMethod', id);
      throw invalid(
        'The payment method you provided is not attached to a customer so detachment is impossible.',
      );
    }
    stored.customer = null;
    this.detached.add(id);
    return stored;
  }

  private createPaymentIntent(params: Params): Obj {
    const amount = Number(text(params.amount));
    if (!text(params.amount)) {
      throw invalid('Missing required param: amount.', {
        code: 'parameter_missing',
        param: 'amount',
      });
    }
    if (!Number.isInteger(amount) || amount < 1) {
      throw invalid('Invalid integer: amount', {
        code: 'parameter_invalid_integer',
        param: 'amount',
      });
    }
    const currency = text(params.currency);
    if (!currency) {
      throw invalid('Missing required param: currency.', {
        code: 'parameter_missing',
        param: 'currency',
      });
    }
    const customer = text(params.customer) ?? null;
    if (customer && !this.customers.has(customer)) throw missing('customer', customer, 'customer');
    const methodId = text(params.payment_method);
    const method = methodId ? this.paymentMethod(methodId, 'payment_method') : undefined;
    if (method && this.paymentMethods.has(methodId!)) {
      if (this.detached.has(methodId!)) {
        throw invalid(
          'The provided PaymentMethod was previously used with a PaymentIntent without Customer attachment, shared with a connected account without Customer attachment, or was detached from a Customer. It may not be used again.',
        );
      }
      if (method.customer !== customer) {
        throw invalid(`The provided PaymentMethod belongs to another Customer than '${customer}'.`);
      }
    }
    const types = Object.values(nested(params.allowed_payment_method_types));
    const id = randomId('pi');
    const intent: Obj = {
      id,
      object: 'payment_intent',
      amount,
      amount_received: 0,
      currency: currency.toLowerCase(),
      customer,
      payment_method: methodId ?? null,
      description: text(params.description) ?? null,
      metadata: nested(params.metadata),
      status: methodId ? 'requires_confirmation' : 'requires_payment_method',
      client_secret: `${id}_secret_${randomBytes(12).toString('hex')}`,
      capture_method: 'automatic',
      confirmation_method: 'automatic',
      created: now(),
      livemode: false,
      last_payment_error: null,
      latest_charge: null,
      next_action: null,
      allowed_payment_method_types: types.length ? types : null,
      payment_method_types: types.length ? types : ['card'],
      setup_future_usage: null,
      canceled_at: null,
    };
    this.paymentIntents.set(id, intent);
    if (text(params.confirm) === 'true') {
      if (!method) {
        throw invalid('You cannot confirm this PaymentIntent because it has no payment method.', {
          code: 'payment_intent_unexpected_state',
        });
      }
      this.confirm(intent, method, text(params.off_session) === 'true');
    }
    return intent;
  }

  private confirm(intent: Obj, method: Obj, offSession: boolean): void {
    const card = this.cardOf.get(method.id as string)!;
    const forced = this.forcedIntentStatus;
    this.forcedIntentStatus = undefined;
    if (forced === 'requires_action' || (!forced && card.requiresAuthentication && !offSession)) {
      intent.status = 'requires_action';
      intent.next_action = { type: 'use_stripe_sdk', use_stripe_sdk: {} };
      return;
    }
    if (forced === 'processing') {
      intent.status = 'processing';
      return;
    }
    const decline =
      card.decline ??
      (card.requiresAuthentication
        ? {
            // Off-session, nobody is there to authenticate: Stripe declines
            // with a 402 and leaves the PaymentIntent requiring a payment method.
            code: 'authentication_required',
            declineCode: 'authentication_required',
            message: 'Your card was declined. This transaction requires authentication.',
          }
        : undefined);
    const charge = this.createCharge(intent, decline ? 'failed' : 'succeeded');
    intent.latest_charge = charge.id;
    if (!decline) {
      intent.status = 'succeeded';
      intent.amount_received = intent.amount;
      return;
    }
    const error = cardErrorBody(decline, { charge: charge.id, payment_method: method });
    intent.status = 'requires_payment_method';
    intent.payment_method = null;
    intent.last_payment_error = error;
    throw new ApiError(402, { ...error, payment_intent: intent });
  }

  /**
   * `GET /v1/payment_intents/search` for the one query the adapter sends,
   * `metadata['attempt_id']:'…'` (Stripe's quoting: `\'` and `\\` inside the
   * value); any other query is refused. Newest first, one page, and no
   * indexing lag (Stripe's is up to a minute).
   */
  private searchPaymentIntents(params: Params): Obj {
    const query = text(params.query);
    if (query === undefined) {
      throw invalid('Missing required param: query.', {
        code: 'parameter_missing',
        param: 'query',
      });
    }
    const match = /^metadata\['attempt_id'\]:'((?:[^'\\]|\\.)*)'$/.exec(query);
    if (!match) {
      throw invalid(
        `This fake understands only metadata['attempt_id']:'…' searches, not: ${query}`,
        { param: 'query' },
      );
    }
    const attemptId = match[1].replace(/\\(.)/g, '$1');
    const limit = text(params.limit) === undefined ? 10 : Number(text(params.limit));
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) {
      throw invalid('Invalid integer: limit', {
        code: 'parameter_invalid_integer',
        param: 'limit',
      });
    }
    const found = [...this.paymentIntents.values()]
      .filter((intent) => (intent.metadata as Record<string, string>).attempt_id === attemptId)
      .reverse()
      .sort((a, b) => (b.created as number) - (a.created as number));
    return {
      object: 'search_result',
      data: found.slice(0, limit),
      has_more: found.length > limit,
      next_page: null,
      url: '/v1/payment_intents/search',
    };
  }

  private createCharge(intent: Obj, status: 'succeeded' | 'failed'): Obj {
    const charge = {
      id: randomId('ch'),
      object: 'charge',
      amount: intent.amount,
      amount_captured: status === 'succeeded' ? intent.amount : 0,
      amount_refunded: 0,
      currency: intent.currency,
      customer: intent.customer,
      payment_intent: intent.id,
      paid: status === 'succeeded',
      captured: status === 'succeeded',
      refunded: false,
      status,
      created: now(),
      livemode: false,
      metadata: intent.metadata,
    };
    this.charges.set(charge.id, charge);
    return charge;
  }

  private createRefund(params: Params): Obj {
    const intentId = text(params.payment_intent);
    if (!intentId) {
      throw invalid('Missing required param: payment_intent.', {
        code: 'parameter_missing',
        param: 'payment_intent',
      });
    }
    const intent = this.paymentIntents.get(intentId);
    if (!intent) throw missing('payment_intent', intentId, 'payment_intent');
    const charge = intent.latest_charge
      ? this.charges.get(intent.latest_charge as string)
      : undefined;
    if (intent.status !== 'succeeded' || !charge) {
      throw invalid(
        `This PaymentIntent (${intentId}) does not have a successful charge to refund.`,
        {
          code: 'charge_not_refundable',
        },
      );
    }
    const remaining = (charge.amount as number) - (charge.amount_refunded as number);
    const amount = text(params.amount) === undefined ? remaining : Number(text(params.amount));
    if (!Number.isInteger(amount) || amount < 1) {
      throw invalid('Invalid integer: amount', {
        code: 'parameter_invalid_integer',
        param: 'amount',
      });
    }
    if (amount > remaining) {
      throw invalid(
        `Refund amount (${amount}) is greater than unrefunded amount on charge (${remaining})`,
        { code: 'amount_too_large', param: 'amount' },
      );
    }
    charge.amount_refunded = (charge.amount_refunded as number) + amount;
    charge.refunded = charge.amount_refunded === charge.amount;
    const refund = {
      id: randomId('re'),
      object: 'refund',
      amount,
      charge: charge.id,
      payment_intent: intentId,
      currency: intent.currency,
      status: 'succeeded',
      reason: text(params.reason) ?? null,
      created: now(),
      metadata: nested(params.metadata),
    };
    this.refunds.set(refund.id, refund);
    return refund;
  }

  private send(
    res: ServerResponse,
    record: ReceivedRequest | null,
    status: number,
    payload: Obj,
    headers: Record<string, string> = {},
    requestId = randomId('req'),
  ): void {
    const body = status >= 400 && !('error' in payload) ? { error: payload } : payload;
    if (record?.fault === 'drop') {
      // Executed (or replayed), but the answer is lost with the connection.
      res.socket?.destroy();
      return;
    }
    if (record) {
      record.status = status;
      record.requestId = requestId;
    }
    // A client that timed out has gone; there is no one to answer.
    if (res.destroyed || res.socket?.destroyed) return;
    res.writeHead(status, {
      'content-type': 'application/json',
      'request-id': requestId,
      'stripe-version': record?.stripeVersion ?? '2026-10-28.endive',
      ...(record?.idempotencyKey ? { 'idempotency-key': record.idempotencyKey } : {}),
      ...headers,
    });
    res.end(JSON.stringify(body));
  }
}

function matches(route: string, method: string, path: string): boolean {
  const [first, second] = route.split(' ');
  return second === undefined ? first === path : first === method && second === path;
}

function header(req: IncomingMessage, name: string): string | null {
  const value = req.headers[name];
  return typeof value === 'string' ? value : null;
}

function unrecognised(method: string, path: string): ApiError {
  return new ApiError(404, {
    type: 'invalid_request_error',
    message: `Unrecognized request URL (${method}: ${path}).`,
  });
}

function throwing(error: ApiError): never {
  throw error;
}

function cardErrorBody(decline: NonNullable<CardTemplate['decline']>, extra: Obj): Obj {
  return {
    type: 'card_error',
    code: decline.code,
    ...(decline.declineCode ? { decline_code: decline.declineCode } : {}),
    ...(decline.param ? { param: decline.param } : {}),
    message: decline.message,
    doc_url: `https://docs.stripe.com/error-codes/${decline.code.replace(/_/g, '-')}`,
    ...extra,
  };
}

function cardError(decline: NonNullable<CardTemplate['decline']>, extra: Obj): ApiError {
  return new ApiError(402, cardErrorBody(decline, extra));
}
