import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect } from 'node:util';
import Stripe from 'stripe';
import {
  ChargeRequest,
  PaymentError,
  PaymentErrorCategory as C,
  WebhookSignatureError,
} from '../../src/billing/payments/payment-gateway';
import {
  STRIPE_API_VERSION,
  StripeGateway,
  StripeGatewayOptions,
  stripeGatewayOptions,
} from '../../src/billing/payments/stripe.gateway';
import { loadConfig } from '../../src/config/app-config';
import { ConfigError } from '../../src/config/config.error';
import { Secret } from '../../src/config/secret';
import { FakeStripeApi } from './stripe-api-server';

/**
 * The `stripe` adapter through the real SDK (23.1.0), against a local fake of
 * the Stripe API: every request is an HTTP request the SDK built, every
 * failure one the SDK raised. Each test makes its own customer.
 */
describe('StripeGateway', () => {
  const WEBHOOK_SECRET = 'whsec_GroundworkTestSigningSecret0123';
  let api: FakeStripeApi;

  beforeAll(async () => {
    api = await FakeStripeApi.start();
  });
  afterAll(() => api.stop());

  const gateway = (options: Partial<StripeGatewayOptions> = {}) =>
    new StripeGateway({
      secretKey: new Secret(api.secretKey),
      webhookSecret: new Secret(WEBHOOK_SECRET),
      apiUrl: api.url,
      timeoutMs: 5_000,
      ...options,
    });

  async function newCustomer(g = gateway()): Promise<string> {
    const tenantId = randomUUID();
    const { id } = await g.createCustomer({
      email: `billing@${tenantId}.example`,
      name: 'Acme Ltd',
      tenantId,
    });
    return id;
  }

  const chargeOf = (
    customerId: string,
    paymentMethodId: string,
    overrides: Partial<ChargeRequest> = {},
  ): ChargeRequest => ({
    customerId,
    paymentMethodId,
    amount: 4900,
    currency: 'eur',
    idempotencyKey: `invoice:${randomUUID()}:attempt:1`,
    description: 'Groundwork Pro, January',
    metadata: { invoice_id: 'inv_1', tenant_id: 'tenant_1' },
    ...overrides,
  });

  /** The PaymentError a call rejects with (anything else fails the test). */
  async function failureOf(call: Promise<unknown>): Promise<PaymentError> {
    const outcome = await call.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    );
    if (!('error' in outcome))
      throw new Error(`expected a PaymentError, got ${JSON.stringify(outcome.value)}`);
    if (!(outcome.error instanceof PaymentError)) throw outcome.error;
    return outcome.error;
  }

  /** A `Stripe-Signature` header as Stripe would send it. */
  const sign = (body: string, secret = WEBHOOK_SECRET, timestamp?: number) =>
    Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp });

  const intentsOf = (customerId: string) =>
    [...api.paymentIntents.values()].filter((pi) => pi.customer === customerId);
  const chargeRequestsWith = (key: string) =>
    api.requestsTo('POST /v1/payment_intents').filter((r) => r.idempotencyKey === key);

  describe('customers and cards', () => {
    it('creates one customer per tenant, tagged with the tenant id, on the pinned API version', async () => {
      const g = gateway();
      const tenantId = randomUUID();
      const input = { email: 'billing@acme.example', name: 'Acme Ltd', tenantId };

      const first = await g.createCustomer(input);
      const again = await g.createCustomer(input);

      expect(first.id).toMatch(/^cus_/);
      expect(again.id).toBe(first.id);
      expect(api.customers.get(first.id)).toMatchObject({
        email: 'billing@acme.example',
        name: 'Acme Ltd',
        metadata: { tenant_id: tenantId },
      });
      const requests = api.requests.filter((r) => r.idempotencyKey === `customer:${tenantId}`);
      expect(requests).toHaveLength(2);
      expect(requests.map((r) => r.stripeVersion)).toEqual([
        STRIPE_API_VERSION,
        STRIPE_API_VERSION,
      ]);
      expect(requests[0].params).toEqual({
        email: 'billing@acme.example',
        name: 'Acme Ltd',
        metadata: { tenant_id: tenantId },
      });
    });

    it('starts collecting a card for off-session use', async () => {
      const customerId = await newCustomer();

      const intent = await gateway().createSetupIntent(customerId);

      expect(intent.id).toMatch(/^seti_/);
      expect(intent.clientSecret.startsWith(`${intent.id}_secret_`)).toBe(true);
      expect(intent.status).toBe('requires_payment_method');
      const [request] = api.requestsTo('POST /v1/setup_intents').slice(-1);
      expect(request.params).toEqual({
        customer: customerId,
        usage: 'off_session',
        allowed_payment_method_types: { '0': 'card' },
      });
    });

    it('attaches a test card and reads its details; a card already attached is left alone', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);

      const visa = await g.attachPaymentMethod(customerId, 'pm_card_visa');

      expect(visa).toEqual({
        id: expect.stringMatching(/^pm_/),
        brand: 'visa',
        last4: '4242',
        expMonth: 12,
        expYear: expect.any(Number),
      });
      expect(visa.id).not.toBe('pm_card_visa');
      expect(api.paymentMethods.get(visa.id)?.customer).toBe(customerId);

      const attachesBefore = api.requests.filter((r) => r.path.endsWith('/attach')).length;
      expect(await g.attachPaymentMethod(customerId, visa.id)).toEqual(visa);
      expect(api.requests.filter((r) => r.path.endsWith('/attach'))).toHaveLength(attachesBefore);

      const mastercard = await g.attachPaymentMethod(customerId, 'pm_card_mastercard');
      expect(mastercard).toMatchObject({ brand: 'mastercard', last4: '4444' });
    });

    it('refuses a card attached to another customer', async () => {
      const g = gateway();
      const owner = await newCustomer(g);
      const other = await newCustomer(g);
      const card = await g.attachPaymentMethod(owner, 'pm_card_visa');

      const error = await failureOf(g.attachPaymentMethod(other, card.id));

      expect(error).toMatchObject({
        category: C.InvalidRequest,
        retryable: false,
        httpStatus: 400,
      });
      expect(api.paymentMethods.get(card.id)?.customer).toBe(owner);
    });

    it('a declining card fails its check when attached', async () => {
      const customerId = await newCustomer();

      const error = await failureOf(
        gateway().attachPaymentMethod(customerId, 'pm_card_chargeDeclined'),
      );

      expect(error).toMatchObject({
        category: C.CardDeclined,
        declineCode: 'generic_decline',
        httpStatus: 402,
        paymentId: null,
        retryable: false,
      });
    });

    it('detaches a card, which can then no longer be charged', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');

      await g.detachPaymentMethod(card.id);

      expect(api.paymentMethods.get(card.id)?.customer).toBeNull();
      expect(await failureOf(g.charge(chargeOf(customerId, card.id)))).toMatchObject({
        category: C.InvalidRequest,
        httpStatus: 400,
        outcomeUnknown: false,
      });
      expect(await failureOf(g.detachPaymentMethod(card.id))).toMatchObject({
        category: C.InvalidRequest,
      });
    });
  });

  describe('charges', () => {
    it('charges a saved card off-session', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const request = chargeOf(customerId, card.id);

      const result = await g.charge(request);

      const [sent] = chargeRequestsWith(request.idempotencyKey);
      expect(result).toEqual({
        paymentId: expect.stringMatching(/^pi_/),
        status: 'succeeded',
        amount: 4900,
        currency: 'eur',
        clientSecret: null,
        gatewayRequestId: sent.requestId,
      });
      expect(sent.params).toEqual({
        amount: '4900',
        currency: 'eur',
        customer: customerId,
        payment_method: card.id,
        allowed_payment_method_types: { '0': 'card' },
        confirm: 'true',
        off_session: 'true',
        description: 'Groundwork Pro, January',
        metadata: { invoice_id: 'inv_1', tenant_id: 'tenant_1' },
      });
      expect(api.paymentIntents.get(result.paymentId)).toMatchObject({
        status: 'succeeded',
        amount_received: 4900,
      });
    });

    it('a decline for insufficient funds: the declined PaymentIntent, its decline code and request id', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const request = chargeOf(customerId, 'pm_card_chargeDeclinedInsufficientFunds');

      const error = await failureOf(g.charge(request));

      const [sent] = chargeRequestsWith(request.idempotencyKey);
      expect(error).toMatchObject({
        category: C.InsufficientFunds,
        declineCode: 'insufficient_funds',
        paymentId: expect.stringMatching(/^pi_/),
        gatewayRequestId: sent.requestId,
        httpStatus: 402,
        retryable: false,
        outcomeUnknown: false,
      });
      expect(sent.requestId).toMatch(/^req_/);
      expect(api.paymentIntents.get(error.paymentId!)).toMatchObject({
        status: 'requires_payment_method',
        last_payment_error: { decline_code: 'insufficient_funds' },
      });

      // Reconciliation sees the same failure.
      expect(await g.retrievePayment(error.paymentId!)).toEqual({
        paymentId: error.paymentId,
        status: 'failed',
        amount: 4900,
        currency: 'eur',
        metadata: { invoice_id: 'inv_1', tenant_id: 'tenant_1' },
        clientSecret: expect.stringMatching(/_secret_/),
        error: {
          category: C.InsufficientFunds,
          declineCode: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
        },
      });
    });

    it.each([
      ['pm_card_chargeDeclinedExpiredCard', C.ExpiredCard, 'expired_card'],
      ['pm_card_chargeDeclinedStolenCard', C.CardDeclined, 'stolen_card'],
      ['pm_card_chargeDeclined', C.CardDeclined, 'generic_decline'],
    ])('%s is declined: %s (%s)', async (paymentMethodId, category, declineCode) => {
      const g = gateway();
      const customerId = await newCustomer(g);

      const error = await failureOf(g.charge(chargeOf(customerId, paymentMethodId)));

      expect(error).toMatchObject({
        category,
        declineCode,
        httpStatus: 402,
        retryable: false,
        outcomeUnknown: false,
        paymentId: expect.stringMatching(/^pi_/),
      });
    });

    it('a card that needs authentication is declined off-session with authentication_required (as Stripe documents)', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      // This card attaches fine: it is each payment that needs 3D Secure.
      const card = await g.attachPaymentMethod(customerId, 'pm_card_authenticationRequired');

      const error = await failureOf(g.charge(chargeOf(customerId, card.id)));

      expect(error).toMatchObject({
        category: C.AuthenticationRequired,
        declineCode: 'authentication_required',
        httpStatus: 402,
        retryable: false,
        paymentId: expect.stringMatching(/^pi_/),
      });
      // The PaymentIntent the customer is brought back on-session for.
      const lookup = await g.retrievePayment(error.paymentId!);
      expect(lookup.status).toBe('failed');
      expect(lookup.error?.category).toBe(C.AuthenticationRequired);
    });

    it('a PaymentIntent answered in requires_action carries its client secret', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      api.forceNextIntentStatus('requires_action');

      const result = await g.charge(chargeOf(customerId, card.id));

      expect(result.status).toBe('requires_action');
      expect(result.clientSecret).toBe(api.paymentIntents.get(result.paymentId)?.client_secret);
      expect((await g.retrievePayment(result.paymentId)).status).toBe('requires_action');
    });

    it('a PaymentIntent answered in processing is processing', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      api.forceNextIntentStatus('processing');

      const result = await g.charge(chargeOf(customerId, card.id));

      expect(result).toMatchObject({ status: 'processing', clientSecret: null });
    });
  });

  describe('idempotency', () => {
    it('the same key twice is one charge: the second call gets the same PaymentIntent', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const request = chargeOf(customerId, card.id);

      const first = await g.charge(request);
      const second = await g.charge(request);

      expect(second.paymentId).toBe(first.paymentId);
      expect(second.status).toBe('succeeded');
      expect(chargeRequestsWith(request.idempotencyKey)).toHaveLength(2);
      expect(intentsOf(customerId)).toHaveLength(1);
    });

    it('a decline replays as the same decline under the same key', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const request = chargeOf(customerId, 'pm_card_chargeDeclinedInsufficientFunds');

      const first = await failureOf(g.charge(request));
      const second = await failureOf(g.charge(request));

      expect(second.paymentId).toBe(first.paymentId);
      expect(second.category).toBe(C.InsufficientFunds);
      expect(intentsOf(customerId)).toHaveLength(1);
    });

    it('the same key with other parameters is refused, and not retryable', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const request = chargeOf(customerId, card.id);
      await g.charge(request);

      const error = await failureOf(g.charge({ ...request, amount: 5900 }));

      expect(error).toMatchObject({
        category: C.InvalidRequest,
        retryable: false,
        // The key's first request did execute: look before using a new key.
        outcomeUnknown: true,
        httpStatus: 400,
      });
      expect(intentsOf(customerId)).toHaveLength(1);
    });
  });

  describe('failures', () => {
    it('429: rate limited, retryable, nothing happened; the SDK did not retry on its own', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const request = chargeOf(customerId, card.id);
      api.failNext('POST /v1/payment_intents', { kind: 'rate_limit' });

      const error = await failureOf(g.charge(request));

      const sent = chargeRequestsWith(request.idempotencyKey);
      expect(error).toMatchObject({
        category: C.RateLimited,
        retryable: true,
        outcomeUnknown: false,
        httpStatus: 429,
        gatewayRequestId: sent[0].requestId,
      });
      expect(sent).toHaveLength(1);
      expect(intentsOf(customerId)).toHaveLength(0);

      // The billing engine's retry, same key.
      expect((await g.charge(request)).status).toBe('succeeded');
    });

    it('500: gateway unavailable, retryable, outcome unknown', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const request = chargeOf(customerId, card.id);
      api.failNext('POST /v1/payment_intents', { kind: 'server_error' });

      const error = await failureOf(g.charge(request));

      expect(error).toMatchObject({
        category: C.GatewayUnavailable,
        retryable: true,
        outcomeUnknown: true,
        httpStatus: 500,
        gatewayRequestId: expect.stringMatching(/^req_/),
      });
      expect(chargeRequestsWith(request.idempotencyKey)).toHaveLength(1);

      const retried = await g.charge(request);
      expect(retried.status).toBe('succeeded');
      expect(intentsOf(customerId)).toHaveLength(1);
    });

    it('500 with Stripe-Should-Retry: false is not retryable', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      api.failNext('POST /v1/payment_intents', { kind: 'server_error', shouldRetry: false });

      const error = await failureOf(g.charge(chargeOf(customerId, 'pm_card_visa')));

      expect(error).toMatchObject({ retryable: false, outcomeUnknown: true, httpStatus: 500 });
    });

    it('a dropped connection: outcome unknown (the SDK retried the closed connection once, same key)', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const request = chargeOf(customerId, card.id);
      // stripe-node retries a reset connection once even with maxNetworkRetries 0.
      api.failNext('POST /v1/payment_intents', { kind: 'drop' }, 2);

      const error = await failureOf(g.charge(request));

      expect(error).toMatchObject({
        category: C.GatewayUnavailable,
        retryable: true,
        outcomeUnknown: true,
        httpStatus: null,
        gatewayRequestId: null,
      });
      expect(chargeRequestsWith(request.idempotencyKey)).toHaveLength(2);
      expect(intentsOf(customerId)).toHaveLength(0);
    });

    it('a response lost after Stripe charged: the retry under the same key finds that charge', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const request = chargeOf(customerId, card.id);
      api.failNext('POST /v1/payment_intents', { kind: 'drop', afterProcessing: true }, 2);

      const error = await failureOf(g.charge(request));

      expect(error.outcomeUnknown).toBe(true);
      // It did go through, which is why "unknown" must be looked into.
      const [charged] = intentsOf(customerId);
      expect(charged).toMatchObject({ status: 'succeeded' });

      const retried = await g.charge(request);
      expect(retried.paymentId).toBe(charged.id);
      expect(intentsOf(customerId)).toHaveLength(1);
    });

    it('a connection dropped once is retried by the SDK under the same key: one charge', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const request = chargeOf(customerId, card.id);
      api.failNext('POST /v1/payment_intents', { kind: 'drop', afterProcessing: true }, 1);

      const result = await g.charge(request);

      expect(result.status).toBe('succeeded');
      expect(chargeRequestsWith(request.idempotencyKey)).toHaveLength(2);
      expect(intentsOf(customerId)).toHaveLength(1);
    });

    it('a timeout: outcome unknown; while Stripe still runs it the key is busy; then it replays', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const request = chargeOf(customerId, card.id);
      const impatient = gateway({ timeoutMs: 400 });
      api.failNext('POST /v1/payment_intents', { kind: 'delay', ms: 2_000 });

      const timedOut = await failureOf(impatient.charge(request));

      expect(timedOut).toMatchObject({
        category: C.GatewayUnavailable,
        retryable: true,
        outcomeUnknown: true,
        httpStatus: null,
      });
      expect(timedOut.message).toMatch(/timeout/i);
      expect(chargeRequestsWith(request.idempotencyKey)).toHaveLength(1);

      // Retried at once: the first request is still executing.
      const busy = await failureOf(impatient.charge(request));
      expect(busy).toMatchObject({
        category: C.GatewayUnavailable,
        retryable: true,
        outcomeUnknown: true,
        httpStatus: 409,
      });

      // Once it has finished, the same key returns what it did.
      while (intentsOf(customerId).length === 0) await sleep(50);
      const result = await impatient.charge(request);
      expect(result.status).toBe('succeeded');
      expect(result.paymentId).toBe(intentsOf(customerId)[0].id);
      expect(intentsOf(customerId)).toHaveLength(1);
    });

    it('a refused connection: nothing was sent, so the outcome is known', async () => {
      const closed = await FakeStripeApi.start();
      const url = closed.url;
      await closed.stop();

      const error = await failureOf(
        gateway({ apiUrl: url }).charge(chargeOf('cus_nobody', 'pm_card_visa')),
      );

      expect(error).toMatchObject({
        category: C.GatewayUnavailable,
        retryable: true,
        outcomeUnknown: false,
        httpStatus: null,
      });
      expect(error.message).toContain('ECONNREFUSED');
    });

    it('a wrong API key: configuration, not retryable, and no key in the error', async () => {
      const wrongKey = 'sk_test_WrongKey0123456789';

      const error = await failureOf(
        gateway({ secretKey: new Secret(wrongKey) }).createCustomer({
          email: 'a@b.example',
          name: 'A',
          tenantId: randomUUID(),
        }),
      );

      expect(error).toMatchObject({
        category: C.Configuration,
        retryable: false,
        outcomeUnknown: false,
        httpStatus: 401,
      });
      expect(error.message).not.toContain('sk_test_');
      expect(JSON.stringify(error)).not.toContain(wrongKey);
    });
  });

  describe('lookups and refunds', () => {
    it('looks up a payment', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const { paymentId } = await g.charge(chargeOf(customerId, card.id));

      expect(await g.retrievePayment(paymentId)).toEqual({
        paymentId,
        status: 'succeeded',
        amount: 4900,
        currency: 'eur',
        metadata: { invoice_id: 'inv_1', tenant_id: 'tenant_1' },
        clientSecret: expect.stringMatching(/_secret_/),
        error: null,
      });
    });

    it('an unknown payment is an invalid request (404)', async () => {
      expect(await failureOf(gateway().retrievePayment('pi_missing'))).toMatchObject({
        category: C.InvalidRequest,
        httpStatus: 404,
        retryable: false,
      });
    });

    it('refunds, in part then in full, each under its own idempotency key', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const { paymentId } = await g.charge(chargeOf(customerId, card.id));
      const partialKey = `refund:${paymentId}:1`;

      const partial = await g.refund({ paymentId, amount: 1000, idempotencyKey: partialKey });
      const replayed = await g.refund({ paymentId, amount: 1000, idempotencyKey: partialKey });
      const rest = await g.refund({ paymentId, idempotencyKey: `refund:${paymentId}:2` });

      expect(partial).toEqual({
        id: expect.stringMatching(/^re_/),
        amount: 1000,
        status: 'succeeded',
      });
      expect(replayed.id).toBe(partial.id);
      expect(rest).toMatchObject({ amount: 3900, status: 'succeeded' });
      expect(api.requestsTo('POST /v1/refunds').map((r) => r.idempotencyKey)).toEqual(
        expect.arrayContaining([partialKey, `refund:${paymentId}:2`]),
      );
      expect([...api.refunds.values()].filter((r) => r.payment_intent === paymentId)).toHaveLength(
        2,
      );

      expect(
        await failureOf(
          g.refund({ paymentId, amount: 1, idempotencyKey: `refund:${paymentId}:3` }),
        ),
      ).toMatchObject({ category: C.InvalidRequest, httpStatus: 400 });
    });
  });

  describe('finding the payment made for an attempt', () => {
    const searchesFor = (attemptId: string) =>
      api
        .requestsTo('GET /v1/payment_intents/search')
        .filter((r) => r.params.query === `metadata['attempt_id']:'${attemptId}'`);

    /** A charge for a fresh attempt: its request, tagged as billing tags it. */
    const attemptOf = (customerId: string, paymentMethodId: string) => {
      const attemptId = randomUUID();
      const request = chargeOf(customerId, paymentMethodId, {
        metadata: { invoice_id: 'inv_1', tenant_id: 'tenant_1', attempt_id: attemptId },
      });
      return { attemptId, request, idempotencyKey: request.idempotencyKey };
    };

    it('finds the payment by its attempt_id metadata, as retrievePayment reports it', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const { attemptId, request, idempotencyKey } = attemptOf(customerId, card.id);
      const { paymentId } = await g.charge(request);

      const found = await g.findPaymentForAttempt({ attemptId, idempotencyKey });

      expect(found).toEqual({
        paymentId,
        status: 'succeeded',
        amount: 4900,
        currency: 'eur',
        metadata: request.metadata,
        clientSecret: expect.stringMatching(/_secret_/),
        error: null,
      });
      expect(found).toEqual(await g.retrievePayment(paymentId));
      const [search] = searchesFor(attemptId);
      expect(search).toMatchObject({
        method: 'GET',
        idempotencyKey: null,
        stripeVersion: STRIPE_API_VERSION,
        params: { query: `metadata['attempt_id']:'${attemptId}'`, limit: '100' },
        status: 200,
      });
    });

    it('null when Stripe has no payment for the attempt', async () => {
      const attemptId = randomUUID();

      const found = await gateway().findPaymentForAttempt({
        attemptId,
        idempotencyKey: `invoice:${randomUUID()}:attempt:1`,
      });

      expect(found).toBeNull();
      expect(searchesFor(attemptId)).toHaveLength(1);
    });

    it('finds a declined payment, with its decline', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const { attemptId, request, idempotencyKey } = attemptOf(
        customerId,
        'pm_card_chargeDeclinedInsufficientFunds',
      );
      const declined = await failureOf(g.charge(request));

      expect(await g.findPaymentForAttempt({ attemptId, idempotencyKey })).toEqual({
        paymentId: declined.paymentId,
        status: 'failed',
        amount: 4900,
        currency: 'eur',
        metadata: request.metadata,
        clientSecret: expect.stringMatching(/_secret_/),
        error: {
          category: C.InsufficientFunds,
          declineCode: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
        },
      });
    });

    it('of several payments for one attempt, the newest', async () => {
      const g = gateway();
      const customerId = await newCustomer(g);
      const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
      const { attemptId, request, idempotencyKey } = attemptOf(customerId, card.id);
      // The same attempt charged again once its key had expired (after 24 h).
      const first = await g.charge(request);
      const second = await g.charge({ ...request, idempotencyKey: `${idempotencyKey}:later` });
      api.paymentIntents.get(first.paymentId)!.created = 1_767_225_600;
      api.paymentIntents.get(second.paymentId)!.created = 1_767_225_600 + 86_400;

      const found = await g.findPaymentForAttempt({ attemptId, idempotencyKey });

      expect(found?.paymentId).toBe(second.paymentId);
    });

    it.each([
      [{ kind: 'rate_limit' } as const, C.RateLimited, 429],
      [{ kind: 'server_error' } as const, C.GatewayUnavailable, 500],
    ])(
      'a failed search (%j) is a PaymentError like any other call; the next one finds it',
      async (fault, category, httpStatus) => {
        const g = gateway();
        const customerId = await newCustomer(g);
        const card = await g.attachPaymentMethod(customerId, 'pm_card_visa');
        const { attemptId, request, idempotencyKey } = attemptOf(customerId, card.id);
        const { paymentId } = await g.charge(request);
        api.failNext('GET /v1/payment_intents/search', fault);

        const error = await failureOf(g.findPaymentForAttempt({ attemptId, idempotencyKey }));

        expect(error).toMatchObject({
          category,
          httpStatus,
          retryable: true,
          gatewayRequestId: expect.stringMatching(/^req_/),
        });
        expect(searchesFor(attemptId)).toHaveLength(1);
        const found = await g.findPaymentForAttempt({ attemptId, idempotencyKey });
        expect(found?.paymentId).toBe(paymentId);
      },
    );

    it.each([
      ['a quote that would widen the query', "x' OR metadata['tenant_id']:'tenant_1"],
      ['an empty id', ''],
      ['a UUID with something after it', `${randomUUID()}'`],
    ])('refuses %s without asking Stripe', async (_name, attemptId) => {
      const before = api.requestsTo('GET /v1/payment_intents/search').length;

      const error = await failureOf(
        gateway().findPaymentForAttempt({ attemptId, idempotencyKey: 'invoice:x:attempt:1' }),
      );

      expect(error).toMatchObject({
        category: C.InvalidRequest,
        retryable: false,
        outcomeUnknown: false,
      });
      expect(api.requestsTo('GET /v1/payment_intents/search')).toHaveLength(before);
    });

    it('the fake refuses any other search query, as a 400 invalid_request_error', async () => {
      const response = await fetch(
        `${api.url}/v1/payment_intents/search?${new URLSearchParams({ query: 'amount:4900' }).toString()}`,
        { headers: { authorization: `Bearer ${api.secretKey}` } },
      );

      expect(response.status).toBe(400);
      expect(await response.json()).toMatchObject({
        error: { type: 'invalid_request_error', param: 'query' },
      });
    });
  });

  describe('webhooks', () => {
    const payload = JSON.stringify({
      id: 'evt_1QwebhookTest',
      object: 'event',
      api_version: STRIPE_API_VERSION,
      created: 1_767_225_600,
      type: 'payment_intent.succeeded',
      livemode: false,
      pending_webhooks: 1,
      request: { id: 'req_1', idempotency_key: 'invoice:inv_1:attempt:1' },
      data: {
        object: {
          id: 'pi_webhook',
          object: 'payment_intent',
          amount: 4900,
          currency: 'eur',
          status: 'succeeded',
          metadata: { invoice_id: 'inv_1' },
          last_payment_error: null,
        },
      },
    });

    it('verifies and reduces a signed event', () => {
      const parsed = gateway().parseWebhook(Buffer.from(payload), sign(payload));

      expect(parsed).toMatchObject({
        id: 'evt_1QwebhookTest',
        type: 'payment_intent.succeeded',
        occurredAt: new Date('2026-01-01T00:00:00Z'),
        data: {
          kind: 'payment.succeeded',
          paymentId: 'pi_webhook',
          amount: 4900,
          currency: 'eur',
          metadata: { invoice_id: 'inv_1' },
          error: null,
        },
      });
      expect(parsed.raw).toMatchObject({ id: 'evt_1QwebhookTest' });
    });

    it.each([
      ['a tampered body', () => [payload.replace('4900', '9900'), sign(payload)]],
      ['another secret', () => [payload, sign(payload, 'whsec_SomeoneElsesSecret012345')]],
      [
        'a stale timestamp',
        () => [payload, sign(payload, WEBHOOK_SECRET, Math.floor(Date.now() / 1000) - 3600)],
      ],
      ['a garbled header', () => [payload, 'not-a-signature']],
    ])('refuses %s', (_name, make) => {
      const [body, header] = make();
      const attempt = () => gateway().parseWebhook(Buffer.from(body), header);
      expect(attempt).toThrow(WebhookSignatureError);
      expect(attempt).not.toThrow(WEBHOOK_SECRET);
    });

    it('refuses a request without a signature header', () => {
      expect(() => gateway().parseWebhook(Buffer.from(payload), undefined)).toThrow(
        WebhookSignatureError,
      );
    });
  });

  describe('configuration', () => {
    const configWith = (env: Record<string, string>) =>
      loadConfig({
        NODE_ENV: 'test',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'groundwork-stripe-')),
        ...env,
      });

    it('builds the adapter from STRIPE_SECRET_KEY, STRIPE_API_URL and STRIPE_WEBHOOK_SECRET', async () => {
      const options = stripeGatewayOptions(
        configWith({
          STRIPE_SECRET_KEY: api.secretKey,
          STRIPE_API_URL: api.url,
          STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        }),
      );

      expect(options.apiUrl).toBe(api.url);
      const g = new StripeGateway(options);
      expect(g.name).toBe('stripe');
      expect((await newCustomer(g)).startsWith('cus_')).toBe(true);
      expect(() => g.parseWebhook(Buffer.from('{}'), sign('{}'))).not.toThrow();
    });

    it('a logged gateway shows neither the API key nor the webhook secret', async () => {
      const g = gateway();
      await newCustomer(g);

      const printed = inspect(g, { depth: 20, showHidden: true }) + JSON.stringify(g);

      expect(printed).not.toContain(api.secretKey);
      expect(printed).not.toContain(WEBHOOK_SECRET);
    });

    it('refuses to build without a secret key', () => {
      expect(() => stripeGatewayOptions(configWith({}))).toThrow(ConfigError);
    });
  });
});
