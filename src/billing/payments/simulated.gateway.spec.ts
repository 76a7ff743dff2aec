import { randomUUID } from 'node:crypto';
import Stripe from 'stripe';
import { categoryOfDecline } from './decline-codes';
import {
  ChargeRequest,
  PaymentError,
  PaymentErrorCategory as C,
  WebhookSignatureError,
} from './payment-gateway';
import {
  mulberry32,
  SIMULATED_FAULTS,
  SimulatedFault,
  SimulatedGateway,
  TEST_CARDS,
} from './simulated.gateway';

const SECRET = 'whsec_simulated_gateway_spec';

let gateway: SimulatedGateway;
let keys = 0;

beforeEach(() => {
  gateway = new SimulatedGateway(SECRET);
});

async function customer(): Promise<string> {
  // The simulated adapter ignores the port's customer details.
  const { id } = await gateway.createCustomer();
  return id;
}

/** A customer with `card` attached, and a charge request for it under a fresh key. */
async function customerWith(card: string, amount = 4_900): Promise<ChargeRequest> {
  const customerId = await customer();
  const method = await gateway.attachPaymentMethod(customerId, card);
  return {
    customerId,
    paymentMethodId: method.id,
    amount,
    currency: 'usd',
    idempotencyKey: `invoice:inv_${++keys}:attempt:1`,
    description: 'Groundwork Pro, January',
    metadata: { invoice_id: `inv_${keys}`, tenant_id: 'tenant_acme' },
  };
}

async function paymentErrorOf(promise: Promise<unknown>): Promise<PaymentError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(PaymentError);
  return error as PaymentError;
}

/** How many payments the gateway holds: "was the card charged twice?" (its state is private by design). */
const paymentsMade = () => (gateway as unknown as { payments: Map<string, unknown> }).payments.size;

const SUCCEEDING = ['pm_card_visa', 'pm_card_visa_debit', 'pm_card_mastercard', 'pm_card_amex'];

/** Each declining card, the category billing sees and the code it records. */
const DECLINES: [string, C, string][] = [
  ['pm_card_chargeDeclined', C.CardDeclined, 'generic_decline'],
  ['pm_card_chargeDeclinedInsufficientFunds', C.InsufficientFunds, 'insufficient_funds'],
  ['pm_card_chargeDeclinedLostCard', C.CardDeclined, 'lost_card'],
  ['pm_card_chargeDeclinedStolenCard', C.CardDeclined, 'stolen_card'],
  ['pm_card_chargeDeclinedFraudulent', C.CardDeclined, 'fraudulent'],
  ['pm_card_chargeDeclinedExpiredCard', C.ExpiredCard, 'expired_card'],
  ['pm_card_chargeDeclinedIncorrectCvc', C.CardDeclined, 'incorrect_cvc'],
  ['pm_card_chargeDeclinedProcessingError', C.ProcessingError, 'processing_error'],
  ['pm_card_chargeCustomerFail', C.CardDeclined, 'generic_decline'],
];

describe('SimulatedGateway', () => {
  describe('test cards', () => {
    it('are all covered by these tests', () => {
      expect(
        [...SUCCEEDING, ...DECLINES.map(([card]) => card), 'pm_card_authenticationRequired'].sort(),
      ).toEqual(Object.keys(TEST_CARDS).sort());
    });

    it.each(SUCCEEDING)('%s attaches with its brand and last 4, and is charged', async (card) => {
      const customerId = await customer();
      const method = await gateway.attachPaymentMethod(customerId, card);
      expect(method).toEqual({
        id: expect.stringMatching(/^pm_sim_/),
        brand: TEST_CARDS[card].brand,
        last4: TEST_CARDS[card].last4,
        expMonth: 12,
        expYear: new Date().getUTCFullYear() + 3,
      });
      const request: ChargeRequest = {
        customerId,
        paymentMethodId: method.id,
        amount: 4_900,
        currency: 'eur',
        idempotencyKey: 'invoice:inv_1:attempt:1',
        description: 'Pro',
        metadata: { invoice_id: 'inv_1' },
      };
      const result = await gateway.charge(request);
      expect(result).toEqual({
        paymentId: expect.stringMatching(/^pi_sim_/),
        status: 'succeeded',
        amount: 4_900,
        currency: 'eur',
        clientSecret: null,
        gatewayRequestId: expect.stringMatching(/^req_sim_/),
      });
      await expect(gateway.retrievePayment(result.paymentId)).resolves.toEqual({
        paymentId: result.paymentId,
        status: 'succeeded',
        amount: 4_900,
        currency: 'eur',
        metadata: { invoice_id: 'inv_1' },
        clientSecret: null,
        error: null,
      });
      expect(gateway.paymentForKey('invoice:inv_1:attempt:1')).toBe(result.paymentId);
    });

    it.each(DECLINES)(
      '%s declines as %s (%s), naming the failed payment',
      async (card, category, declineCode) => {
        const request = await customerWith(card);
        const error = await paymentErrorOf(gateway.charge(request));
        const { decline } = TEST_CARDS[card];
        expect(category).toBe(categoryOfDecline(decline!.code, decline!.declineCode));
        expect(error).toMatchObject({
          name: 'PaymentError',
          category,
          declineCode,
          message: decline!.message,
          paymentId: expect.stringMatching(/^pi_sim_/),
          gatewayRequestId: expect.stringMatching(/^req_sim_/),
          httpStatus: 402,
          retryable: false,
          outcomeUnknown: false,
        });
        await expect(gateway.retrievePayment(error.paymentId!)).resolves.toEqual({
          paymentId: error.paymentId,
          status: 'requires_payment_method',
          amount: request.amount,
          currency: 'usd',
          metadata: request.metadata,
          // A declined payment may be retried with another card in the browser.
          clientSecret: expect.stringMatching(/_secret_/),
          error: { category, declineCode, message: decline!.message },
        });
      },
    );

    describe('pm_card_authenticationRequired', () => {
      it('asks for authentication, then succeeds with a signed payment.succeeded event', async () => {
        const request = await customerWith('pm_card_authenticationRequired');
        const result = await gateway.charge(request);
        expect(result.status).toBe('requires_action');
        expect(result.clientSecret).toMatch(new RegExp(`^${result.paymentId}_secret_.+`));
        await expect(gateway.retrievePayment(result.paymentId)).resolves.toMatchObject({
          status: 'requires_action',
          error: null,
        });

        const { payload, signature } = gateway.completeAuthentication(result.paymentId, true);
        const event = gateway.parseWebhook(Buffer.from(payload), signature);
        expect(event.id).toMatch(/^evt_sim_/);
        expect(event.type).toBe('payment_intent.succeeded');
        expect(event.data).toEqual({
          kind: 'payment.succeeded',
          paymentId: result.paymentId,
          amount: request.amount,
          currency: 'usd',
          metadata: request.metadata,
          error: null,
        });
        await expect(gateway.retrievePayment(result.paymentId)).resolves.toMatchObject({
          status: 'succeeded',
        });
        // A retry under the same key now sees the authenticated payment.
        await expect(gateway.charge(request)).resolves.toMatchObject({
          paymentId: result.paymentId,
          status: 'succeeded',
          clientSecret: null,
        });
        expect(paymentsMade()).toBe(1);
      });

      it('fails with a signed payment.failed event when authentication fails', async () => {
        const request = await customerWith('pm_card_authenticationRequired');
        const { paymentId } = await gateway.charge(request);
        const { payload, signature } = gateway.completeAuthentication(paymentId, false);
        const event = gateway.parseWebhook(Buffer.from(payload), signature);
        expect(event.type).toBe('payment_intent.payment_failed');
        expect(event.data).toEqual({
          kind: 'payment.failed',
          paymentId,
          amount: request.amount,
          currency: 'usd',
          metadata: request.metadata,
          error: {
            category: C.AuthenticationRequired,
            declineCode: 'authentication_required',
            message: 'The customer did not complete authentication.',
          },
        });
        await expect(gateway.retrievePayment(paymentId)).resolves.toMatchObject({
          status: 'requires_payment_method',
          error: { category: C.AuthenticationRequired },
        });
        const replay = await paymentErrorOf(gateway.charge(request));
        expect(replay).toMatchObject({ category: C.AuthenticationRequired, paymentId });
      });

      it('does not change a payment once authentication is settled', async () => {
        const request = await customerWith('pm_card_authenticationRequired');
        const { paymentId } = await gateway.charge(request);
        gateway.completeAuthentication(paymentId, true);
        const again = gateway.completeAuthentication(paymentId, false);
        expect(gateway.parseWebhook(Buffer.from(again.payload), again.signature).data.kind).toBe(
          'payment.succeeded',
        );
      });

      it('refuses an unknown payment', () => {
        expect(() => gateway.completeAuthentication('pi_unknown', true)).toThrow(/pi_unknown/);
      });
    });
  });

  describe('customers, setup intents and payment methods', () => {
    it('makes a setup intent whose client secret names it', async () => {
      const intent = await gateway.createSetupIntent(await customer());
      expect(intent.id).toMatch(/^seti_sim_/);
      expect(intent.clientSecret).toMatch(new RegExp(`^${intent.id}_secret_.+`));
      expect(intent.status).toBe('requires_payment_method');
    });

    it('refuses an unknown customer', async () => {
      for (const call of [
        gateway.createSetupIntent('cus_unknown'),
        gateway.attachPaymentMethod('cus_unknown', 'pm_card_visa'),
      ]) {
        const error = await paymentErrorOf(call);
        expect(error).toMatchObject({ category: C.InvalidRequest, httpStatus: 400 });
        expect(error.message).toContain('cus_unknown');
      }
    });

    it('makes a fresh payment method from a test shortcut each time, so two customers may use pm_card_visa', async () => {
      const alice = await customer();
      const bob = await customer();
      const first = await gateway.attachPaymentMethod(alice, 'pm_card_visa');
      const second = await gateway.attachPaymentMethod(alice, 'pm_card_visa');
      const bobs = await gateway.attachPaymentMethod(bob, 'pm_card_visa');
      const ids = [first.id, second.id, bobs.id];
      expect(new Set(ids).size).toBe(3);
      for (const id of ids) expect(id).toMatch(/^pm_sim_/);
      expect(alice).not.toBe(bob);
    });

    it('re-attaches a payment method to its own customer', async () => {
      const alice = await customer();
      const method = await gateway.attachPaymentMethod(alice, 'pm_card_mastercard');
      await expect(gateway.attachPaymentMethod(alice, method.id)).resolves.toMatchObject({
        id: method.id,
        brand: 'mastercard',
        last4: '4444',
      });
    });

    it("refuses another customer's payment method, to attach and to charge", async () => {
      const alice = await customerWith('pm_card_visa');
      const bob = await customer();
      const attach = await paymentErrorOf(gateway.attachPaymentMethod(bob, alice.paymentMethodId));
      expect(attach).toMatchObject({ category: C.InvalidRequest, httpStatus: 400 });
      expect(attach.message).toMatch(/another customer/);

      const charge = await paymentErrorOf(gateway.charge({ ...alice, customerId: bob }));
      expect(charge).toMatchObject({
        category: C.InvalidRequest,
        httpStatus: 400,
        paymentId: null,
      });
      expect(charge.message).toContain(alice.paymentMethodId);
      expect(gateway.paymentForKey(alice.idempotencyKey)).toBeUndefined();
      expect(paymentsMade()).toBe(0);
    });

    it('lets a detached payment method go to another customer, and no longer charges it', async () => {
      const alice = await customerWith('pm_card_visa');
      await gateway.detachPaymentMethod(alice.paymentMethodId);
      const refused = await paymentErrorOf(gateway.charge(alice));
      expect(refused.category).toBe(C.InvalidRequest);
      const bob = await customer();
      await expect(gateway.attachPaymentMethod(bob, alice.paymentMethodId)).resolves.toMatchObject({
        id: alice.paymentMethodId,
      });
    });

    it('refuses an unknown payment method, listing the test cards it knows', async () => {
      const error = await paymentErrorOf(
        gateway.attachPaymentMethod(await customer(), 'pm_card_bogus'),
      );
      expect(error).toMatchObject({
        category: C.InvalidRequest,
        httpStatus: 400,
        retryable: false,
      });
      expect(error.message).toContain("No such PaymentMethod: 'pm_card_bogus'");
      for (const card of Object.keys(TEST_CARDS)) expect(error.message).toContain(card);
    });

    it('refuses to charge a payment method never attached', async () => {
      const customerId = await customer();
      const error = await paymentErrorOf(
        gateway.charge({
          customerId,
          paymentMethodId: 'pm_card_visa',
          amount: 100,
          currency: 'usd',
          idempotencyKey: 'k',
          description: 'x',
          metadata: {},
        }),
      );
      expect(error.category).toBe(C.InvalidRequest);
    });

    it('refuses to look up an unknown payment', async () => {
      const error = await paymentErrorOf(gateway.retrievePayment('pi_unknown'));
      expect(error).toMatchObject({ category: C.InvalidRequest, httpStatus: 404 });
    });
  });

  describe('idempotency', () => {
    it('returns the same payment for the same key, charging once', async () => {
      const request = await customerWith('pm_card_visa');
      const first = await gateway.charge(request);
      const second = await gateway.charge(request);
      expect(second).toMatchObject({
        paymentId: first.paymentId,
        status: 'succeeded',
        amount: 4_900,
      });
      expect(gateway.chargeLog).toHaveLength(2);
      expect(paymentsMade()).toBe(1);
      expect(gateway.paymentForKey(request.idempotencyKey)).toBe(first.paymentId);
    });

    it('charges again under a new key', async () => {
      const request = await customerWith('pm_card_visa');
      const first = await gateway.charge(request);
      const second = await gateway.charge({ ...request, idempotencyKey: 'invoice:x:attempt:2' });
      expect(second.paymentId).not.toBe(first.paymentId);
      expect(paymentsMade()).toBe(2);
    });

    it('replays a decline as the same error, without a second attempt', async () => {
      const request = await customerWith('pm_card_chargeDeclinedInsufficientFunds');
      const first = await paymentErrorOf(gateway.charge(request));
      const second = await paymentErrorOf(gateway.charge(request));
      for (const field of [
        'category',
        'declineCode',
        'message',
        'paymentId',
        'httpStatus',
      ] as const) {
        expect(second[field]).toEqual(first[field]);
      }
      expect(paymentsMade()).toBe(1);
    });
  });

  describe('faults', () => {
    it.each<[SimulatedFault, C, boolean, boolean, number | null, boolean]>([
      // fault, category, retryable, outcomeUnknown, httpStatus, charged
      ['rate_limited', C.RateLimited, true, false, 429, false],
      ['unavailable', C.GatewayUnavailable, true, true, 500, false],
      ['timeout_after_charge', C.GatewayUnavailable, true, true, null, true],
      ['timeout_before_charge', C.GatewayUnavailable, true, true, null, false],
      ['refused', C.GatewayUnavailable, true, false, null, false],
    ])(
      '%s: %s, retryable %s, outcome unknown %s, HTTP %s; a retry under the same key charges once',
      async (fault, category, retryable, outcomeUnknown, httpStatus, charged) => {
        const request = await customerWith('pm_card_visa');
        gateway.injectFault(fault);
        const error = await paymentErrorOf(gateway.charge(request));
        expect(error).toMatchObject({
          category,
          retryable,
          outcomeUnknown,
          httpStatus,
          paymentId: null,
          declineCode: null,
        });
        expect(error.message).toMatch(/simulated/);
        const made = gateway.paymentForKey(request.idempotencyKey);
        expect(made !== undefined).toBe(charged);

        const retry = await gateway.charge(request);
        expect(retry.status).toBe('succeeded');
        if (made) expect(retry.paymentId).toBe(made);
        expect(paymentsMade()).toBe(1);
        expect(gateway.chargeLog).toHaveLength(2);
      },
    );

    it('timeout_after_charge: the payment can be looked up by its key before retrying', async () => {
      const request = await customerWith('pm_card_visa');
      gateway.injectFault('timeout_after_charge');
      await paymentErrorOf(gateway.charge(request));
      const paymentId = gateway.paymentForKey(request.idempotencyKey)!;
      await expect(gateway.retrievePayment(paymentId)).resolves.toMatchObject({
        status: 'succeeded',
        amount: request.amount,
        metadata: request.metadata,
      });
    });

    it('fails the next `count` calls, of any kind, then recovers', async () => {
      gateway.injectFault('rate_limited', 2);
      expect((await paymentErrorOf(gateway.createCustomer())).category).toBe(C.RateLimited);
      expect((await paymentErrorOf(gateway.createSetupIntent('cus_any'))).category).toBe(
        C.RateLimited,
      );
      await expect(customer()).resolves.toMatch(/^cus_sim_/);
    });

    it('can be cleared', async () => {
      gateway.injectFault('unavailable', 5);
      gateway.clearFaults();
      const request = await customerWith('pm_card_visa');
      await expect(gateway.charge(request)).resolves.toMatchObject({ status: 'succeeded' });
    });

    // The charge ran and its answer was lost: the caller must see the timeout
    // (outcomeUnknown) whatever the card did.
    it('timeout_after_charge on a declining card still hides the outcome', async () => {
      const request = await customerWith('pm_card_chargeDeclined');
      gateway.injectFault('timeout_after_charge');
      const error = await paymentErrorOf(gateway.charge(request));
      expect(error).toMatchObject({ category: C.GatewayUnavailable, outcomeUnknown: true });
      // The attempt happened: the retry replays the decline.
      const retry = await paymentErrorOf(gateway.charge(request));
      expect(retry.category).toBe(C.CardDeclined);
    });
  });

  describe('findPaymentForAttempt', () => {
    /** A charge request for a fresh attempt, tagged as billing tags it. */
    async function attemptWith(card: string): Promise<ChargeRequest & { attemptId: string }> {
      const request = await customerWith(card);
      const attemptId = randomUUID();
      return { ...request, attemptId, metadata: { ...request.metadata, attempt_id: attemptId } };
    }

    it('finds the payment made under the attempt, as retrievePayment reports it', async () => {
      const request = await attemptWith('pm_card_visa');
      const { paymentId } = await gateway.charge(request);
      const found = await gateway.findPaymentForAttempt(request);
      expect(found).toEqual({
        paymentId,
        status: 'succeeded',
        amount: 4_900,
        currency: 'usd',
        metadata: request.metadata,
        clientSecret: null,
        error: null,
      });
      expect(found).toEqual(await gateway.retrievePayment(paymentId));
    });

    it('finds it by its attempt_id when the key is not known (expired there)', async () => {
      const request = await attemptWith('pm_card_visa');
      const { paymentId } = await gateway.charge(request);
      const found = await gateway.findPaymentForAttempt({
        attemptId: request.attemptId,
        idempotencyKey: 'invoice:elsewhere:attempt:9',
      });
      expect(found?.paymentId).toBe(paymentId);
    });

    it('of two payments carrying the attempt_id, the newest', async () => {
      const request = await attemptWith('pm_card_visa');
      await gateway.charge(request);
      const later = await gateway.charge({ ...request, idempotencyKey: 'later' });
      const found = await gateway.findPaymentForAttempt({
        attemptId: request.attemptId,
        idempotencyKey: 'never-used',
      });
      expect(found?.paymentId).toBe(later.paymentId);
    });

    it('null when the gateway has no payment for the attempt', async () => {
      await gateway.charge(await attemptWith('pm_card_visa'));
      await expect(
        gateway.findPaymentForAttempt({ attemptId: randomUUID(), idempotencyKey: 'unknown' }),
      ).resolves.toBeNull();
    });

    it('finds a declined payment, with its decline', async () => {
      const request = await attemptWith('pm_card_chargeDeclinedInsufficientFunds');
      const declined = await paymentErrorOf(gateway.charge(request));
      await expect(gateway.findPaymentForAttempt(request)).resolves.toEqual({
        paymentId: declined.paymentId,
        status: 'requires_payment_method',
        amount: 4_900,
        currency: 'usd',
        metadata: request.metadata,
        clientSecret: expect.stringMatching(/_secret_/),
        error: {
          category: C.InsufficientFunds,
          declineCode: 'insufficient_funds',
          message: 'Your card has insufficient funds.',
        },
      });
    });

    it('finds the charge a timeout_after_charge hid', async () => {
      const request = await attemptWith('pm_card_visa');
      gateway.injectFault('timeout_after_charge');
      await paymentErrorOf(gateway.charge(request));
      await expect(gateway.findPaymentForAttempt(request)).resolves.toMatchObject({
        paymentId: gateway.paymentForKey(request.idempotencyKey),
        status: 'succeeded',
      });
    });

    it('meets injected faults like any other call, then answers', async () => {
      const request = await attemptWith('pm_card_visa');
      const { paymentId } = await gateway.charge(request);
      gateway.injectFault('unavailable');
      const error = await paymentErrorOf(gateway.findPaymentForAttempt(request));
      expect(error).toMatchObject({
        category: C.GatewayUnavailable,
        retryable: true,
        httpStatus: 500,
      });
      expect(gateway.faultsInjected.unavailable).toBe(1);
      await expect(gateway.findPaymentForAttempt(request)).resolves.toMatchObject({ paymentId });
    });

    it.each([["x' OR metadata['tenant_id']:'t"], [''], [`${randomUUID()} `]])(
      'refuses the attempt id %j before any fault applies',
      async (attemptId) => {
        gateway.injectFault('rate_limited');
        const error = await paymentErrorOf(
          gateway.findPaymentForAttempt({ attemptId, idempotencyKey: 'k' }),
        );
        expect(error).toMatchObject({ category: C.InvalidRequest, retryable: false });
        // The injected fault is still there for the next call.
        expect((await paymentErrorOf(gateway.createCustomer())).category).toBe(C.RateLimited);
      },
    );
  });

  describe('fault rate', () => {
    /** What each of `calls` customer creations met: a fault kind, or 'ok'. */
    async function outcomes(g: SimulatedGateway, calls: number): Promise<string[]> {
      const seen: string[] = [];
      for (let i = 0; i < calls; i++) {
        const outcome = await g.createCustomer().then(
          () => 'ok',
          (error: unknown) => (error as PaymentError).category,
        );
        seen.push(outcome);
      }
      return seen;
    }

    const total = (counts: Readonly<Record<SimulatedFault, number>>) =>
      Object.values(counts).reduce((sum, n) => sum + n, 0);

    it('mulberry32 is reproducible, and spreads over [0, 1)', () => {
      const a = mulberry32(42);
      const b = mulberry32(42);
      const draws = Array.from({ length: 10_000 }, () => a());
      expect(Array.from({ length: 10_000 }, () => b())).toEqual(draws);
      expect(Math.min(...draws)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...draws)).toBeLessThan(1);
      const mean = draws.reduce((sum, x) => sum + x, 0) / draws.length;
      expect(mean).toBeCloseTo(0.5, 1);
      expect(mulberry32(43)()).not.toBe(mulberry32(42)());
    });

    it('rate 0 never faults', async () => {
      gateway.setFaultRate({ rate: 0, seed: 7 });
      expect(new Set(await outcomes(gateway, 200))).toEqual(new Set(['ok']));
      const request = await customerWith('pm_card_visa');
      await expect(gateway.charge(request)).resolves.toMatchObject({ status: 'succeeded' });
      expect(total(gateway.faultsInjected)).toBe(0);
    });

    it('rate 1 faults every call, charges included, with every kind by default', async () => {
      const request = await customerWith('pm_card_visa');
      gateway.setFaultRate({ rate: 1, seed: 7 });
      const seen = await outcomes(gateway, 300);
      expect(seen).not.toContain('ok');
      for (let i = 0; i < 20; i++) await paymentErrorOf(gateway.charge(request));
      const counts = gateway.faultsInjected;
      expect(total(counts)).toBe(320);
      for (const fault of SIMULATED_FAULTS) expect(counts[fault]).toBeGreaterThan(0);
    });

    it('draws only from the faults given', async () => {
      gateway.setFaultRate({ rate: 1, faults: ['rate_limited', 'refused'], seed: 3 });
      await outcomes(gateway, 100);
      const counts = gateway.faultsInjected;
      expect(counts.rate_limited + counts.refused).toBe(100);
      expect(counts.rate_limited).toBeGreaterThan(0);
      expect(counts.refused).toBeGreaterThan(0);
    });

    it('fails about `rate` of the calls', async () => {
      gateway.setFaultRate({ rate: 0.3, seed: 11 });
      const failed = (await outcomes(gateway, 2_000)).filter((o) => o !== 'ok').length;
      expect(failed / 2_000).toBeGreaterThan(0.25);
      expect(failed / 2_000).toBeLessThan(0.35);
    });

    it('the same seed fails the same calls with the same faults; another seed does not', async () => {
      const run = async (seed: number) => {
        const g = new SimulatedGateway(SECRET);
        g.setFaultRate({ rate: 0.5, seed });
        return { seen: await outcomes(g, 100), counts: g.faultsInjected };
      };
      const first = await run(2026);
      const again = await run(2026);
      expect(again).toEqual(first);
      expect(first.seen).toContain('ok');
      expect(first.seen.some((o) => o !== 'ok')).toBe(true);
      expect((await run(2027)).seen).not.toEqual(first.seen);
    });

    it('injected faults come first, and do not shift the seeded sequence', async () => {
      const plain = new SimulatedGateway(SECRET);
      plain.setFaultRate({ rate: 0.5, faults: ['rate_limited'], seed: 5 });
      const expected = await outcomes(plain, 30);

      gateway.setFaultRate({ rate: 0.5, faults: ['rate_limited'], seed: 5 });
      gateway.injectFault('refused', 3);
      const seen = await outcomes(gateway, 30);

      expect(seen.slice(0, 3)).toEqual(Array(3).fill(C.GatewayUnavailable));
      expect(seen.slice(3)).toEqual(expected.slice(3));
      expect(gateway.faultsInjected.refused).toBe(3);
    });

    it('null turns it off; so does clearFaults', async () => {
      gateway.setFaultRate({ rate: 1 });
      gateway.setFaultRate(null);
      expect(new Set(await outcomes(gateway, 20))).toEqual(new Set(['ok']));
      gateway.setFaultRate({ rate: 1 });
      gateway.clearFaults();
      expect(new Set(await outcomes(gateway, 20))).toEqual(new Set(['ok']));
    });

    it.each([
      [{ rate: -0.1 }],
      [{ rate: 1.5 }],
      [{ rate: Number.NaN }],
      [{ rate: 0.5, faults: [] }],
      [{ rate: 0.5, faults: ['meteor' as SimulatedFault] }],
      [{ rate: 0.5, seed: 1.5 }],
    ])('refuses %j', (options) => {
      expect(() => gateway.setFaultRate(options)).toThrow(RangeError);
    });

    it('timeout_after_charge under a rate: retried under the same key, charged exactly once', async () => {
      const request = await customerWith('pm_card_visa');
      // Seed 2 times out the first four charges.
      gateway.setFaultRate({ rate: 0.8, faults: ['timeout_after_charge'], seed: 2 });
      let result;
      for (let tries = 0; !result && tries < 100; tries++) {
        result = await gateway.charge(request).catch((error: unknown) => {
          expect(error).toMatchObject({ outcomeUnknown: true, retryable: true });
          return undefined;
        });
      }
      expect(result?.status).toBe('succeeded');
      expect(gateway.faultsInjected.timeout_after_charge).toBe(4);
      expect(gateway.chargeLog.length).toBe(gateway.faultsInjected.timeout_after_charge + 1);
      expect(result?.paymentId).toBe(gateway.paymentForKey(request.idempotencyKey));
      expect(paymentsMade()).toBe(1);
      expect(gateway.succeededPaymentsByInvoice()).toEqual(
        new Map([[request.metadata.invoice_id, 1]]),
      );
    });

    it('every fault kind at a rate, many invoices each retried under its key: each paid once', async () => {
      const requests = [];
      for (let i = 0; i < 25; i++) requests.push(await customerWith('pm_card_visa'));
      gateway.setFaultRate({ rate: 0.6, seed: 1234 });
      for (const request of requests) {
        let paid = false;
        for (let tries = 0; !paid && tries < 100; tries++) {
          paid = await gateway.charge(request).then(
            () => true,
            () => false,
          );
        }
        expect(paid).toBe(true);
      }
      const counts = gateway.faultsInjected;
      for (const fault of SIMULATED_FAULTS) expect(counts[fault]).toBeGreaterThan(0);
      const byInvoice = gateway.succeededPaymentsByInvoice();
      expect(byInvoice.size).toBe(25);
      expect(new Set(byInvoice.values())).toEqual(new Set([1]));
      expect(paymentsMade()).toBe(25);
    });

    it('succeededPaymentsByInvoice counts distinct succeeded payments, not declines or pending ones', async () => {
      const visa = await customerWith('pm_card_visa');
      await gateway.charge(visa);
      await gateway.charge({ ...visa, idempotencyKey: 'a second charge for the same invoice' });
      await paymentErrorOf(gateway.charge(await customerWith('pm_card_chargeDeclined')));
      await gateway.charge(await customerWith('pm_card_authenticationRequired'));
      await gateway.charge({ ...(await customerWith('pm_card_visa')), metadata: {} });
      expect(gateway.succeededPaymentsByInvoice()).toEqual(
        new Map([[visa.metadata.invoice_id, 2]]),
      );
    });
  });

  describe('refunds', () => {
    async function paid(amount = 4_900): Promise<string> {
      return (await gateway.charge(await customerWith('pm_card_visa', amount))).paymentId;
    }

    it('refunds in full by default', async () => {
      const paymentId = await paid();
      await expect(gateway.refund({ paymentId, idempotencyKey: 'refund:1' })).resolves.toEqual({
        id: expect.stringMatching(/^re_sim_/),
        amount: 4_900,
        status: 'succeeded',
      });
      const again = await paymentErrorOf(gateway.refund({ paymentId, idempotencyKey: 'refund:2' }));
      expect(again.category).toBe(C.InvalidRequest);
    });

    it('refunds in parts, then the rest', async () => {
      const paymentId = await paid();
      await expect(
        gateway.refund({ paymentId, amount: 1_000, idempotencyKey: 'r1' }),
      ).resolves.toMatchObject({
        amount: 1_000,
      });
      await expect(
        gateway.refund({ paymentId, amount: 900, idempotencyKey: 'r2' }),
      ).resolves.toMatchObject({
        amount: 900,
      });
      await expect(gateway.refund({ paymentId, idempotencyKey: 'r3' })).resolves.toMatchObject({
        amount: 3_000,
      });
      const more = await paymentErrorOf(
        gateway.refund({ paymentId, amount: 1, idempotencyKey: 'r4' }),
      );
      expect(more.category).toBe(C.InvalidRequest);
    });

    it('refuses to refund more than is left', async () => {
      const paymentId = await paid();
      const over = await paymentErrorOf(
        gateway.refund({ paymentId, amount: 4_901, idempotencyKey: 'r1' }),
      );
      expect(over).toMatchObject({ category: C.InvalidRequest, httpStatus: 400 });
      expect(over.message).toMatch(/exceeds/);
      await gateway.refund({ paymentId, amount: 4_000, idempotencyKey: 'r2' });
      await paymentErrorOf(gateway.refund({ paymentId, amount: 901, idempotencyKey: 'r3' }));
      await expect(
        gateway.refund({ paymentId, amount: 900, idempotencyKey: 'r4' }),
      ).resolves.toMatchObject({
        amount: 900,
      });
    });

    it.each([0, -100])('refuses a refund of %i', async (amount) => {
      const paymentId = await paid();
      const error = await paymentErrorOf(
        gateway.refund({ paymentId, amount, idempotencyKey: 'r' }),
      );
      expect(error.category).toBe(C.InvalidRequest);
    });

    it('refuses to refund a payment that did not succeed, or does not exist', async () => {
      const declined = await paymentErrorOf(
        gateway.charge(await customerWith('pm_card_chargeDeclined')),
      );
      const pending = await gateway.charge(await customerWith('pm_card_authenticationRequired'));
      for (const paymentId of [declined.paymentId!, pending.paymentId, 'pi_unknown']) {
        const error = await paymentErrorOf(
          gateway.refund({ paymentId, idempotencyKey: `r:${paymentId}` }),
        );
        expect(error.message).toBe('Only a succeeded payment can be refunded.');
      }
    });

    // A refund retried under the same key (a job run twice) is made once, as on Stripe.
    it('returns the same refund for the same idempotency key', async () => {
      const paymentId = await paid();
      const first = await gateway.refund({
        paymentId,
        amount: 1_000,
        idempotencyKey: 'refund:inv_1',
      });
      const second = await gateway.refund({
        paymentId,
        amount: 1_000,
        idempotencyKey: 'refund:inv_1',
      });
      expect(second.id).toBe(first.id);
      // Only 1000 of 4900 is refunded: 3900 remain.
      await expect(
        gateway.refund({ paymentId, idempotencyKey: 'refund:rest' }),
      ).resolves.toMatchObject({
        amount: 3_900,
      });
    });
  });

  describe('parseWebhook', () => {
    const signed = () =>
      gateway.signedEvent('charge.refunded', {
        id: 'ch_1',
        object: 'charge',
        payment_intent: 'pi_1',
        amount_refunded: 1_000,
      });

    it('accepts an event signed with the webhook secret', () => {
      const { payload, signature } = signed();
      const event = gateway.parseWebhook(Buffer.from(payload), signature);
      expect(event.data).toEqual({
        kind: 'charge.refunded',
        paymentId: 'pi_1',
        amountRefunded: 1_000,
      });
      expect(event.raw).toEqual(JSON.parse(payload));
    });

    it('refuses an event signed with another secret', () => {
      const { payload, signature } = new SimulatedGateway('whsec_someone_else').signedEvent(
        'charge.refunded',
        {
          id: 'ch_1',
        },
      );
      expect(() => gateway.parseWebhook(Buffer.from(payload), signature)).toThrow(
        WebhookSignatureError,
      );
    });

    it('refuses a tampered body', () => {
      const { payload, signature } = signed();
      const tampered = payload.replace('"amount_refunded":1000', '"amount_refunded":100000');
      expect(tampered).not.toBe(payload);
      expect(() => gateway.parseWebhook(Buffer.from(tampered), signature)).toThrow(
        WebhookSignatureError,
      );
    });

    it.each([
      ['a missing signature', undefined],
      ['an empty signature', ''],
      ['a malformed signature', 'not-a-signature'],
      [
        'a signature with the wrong digest',
        `t=${Math.floor(Date.now() / 1000)},v1=${'0'.repeat(64)}`,
      ],
    ])('refuses %s', (_, signature) => {
      const { payload } = signed();
      let thrown: unknown;
      try {
        gateway.parseWebhook(Buffer.from(payload), signature);
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(WebhookSignatureError);
      expect((thrown as WebhookSignatureError).message).toBe(
        'The webhook signature does not verify.',
      );
      expect((thrown as WebhookSignatureError).cause).toBeDefined();
    });

    it('refuses a replayed event whose signature is older than the tolerance', () => {
      const { payload } = signed();
      const signature = new Stripe('sk_test_spec').webhooks.generateTestHeaderString({
        payload,
        secret: SECRET,
        timestamp: Math.floor(Date.now() / 1000) - 3_600,
      });
      expect(() => gateway.parseWebhook(Buffer.from(payload), signature)).toThrow(
        WebhookSignatureError,
      );
    });
  });
});
