import { randomBytes, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import Stripe from 'stripe';
import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { BillingCustomer } from '../../src/billing/entities/billing-customer.entity';
import { GatewayEvent } from '../../src/billing/entities/gateway-event.entity';
import { Invoice, InvoiceStatus } from '../../src/billing/entities/invoice.entity';
import { PaymentAttempt } from '../../src/billing/entities/payment-attempt.entity';
import { PaymentMethod } from '../../src/billing/entities/payment-method.entity';
import { Subscription } from '../../src/billing/entities/subscription.entity';
import { PaymentGateway } from '../../src/billing/payments/payment-gateway';
import { SimulatedGateway } from '../../src/billing/payments/simulated.gateway';
import {
  BillingRunService,
  INCOMPLETE_TTL_MS,
} from '../../src/billing/subscriptions/billing-run.service';
import {
  GATEWAY_EVENT_DRAIN_QUEUE,
  GATEWAY_EVENT_QUEUE,
  GatewayEventService,
} from '../../src/billing/webhooks/gateway-event.service';
import { PlatformAuditEvent } from '../../src/tenancy/audit/platform-audit-event.entity';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { expectProblem, PROBLEM_MEDIA_TYPE } from '../support/http-helpers';
import { eventually } from '../support/polling';
import { bootTestApp, TestApp } from '../support/test-app';

/** Seeded prices (migrations/platform/…_catalog_seed.ts). */
const STARTER_USD_MONTH = '0193a000-0000-7000-8001-000000000021';
const PRO_USD_MONTH = '0193a000-0000-7000-8001-000000000031';
/** Pro, one seat, one month (USD cents). */
const PRO_MONTH_AMOUNT = 2900;

interface Delivery {
  id: string;
  payload: string;
  signature: string;
}

/** Background work (pg-boss jobs) is awaited by polling. */
const waitFor = <T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 15_000,
) => eventually(what, probe, timeoutMs);

/**
 * `POST /webhooks/stripe`: verification over the raw bytes, storage once by
 * event id, processing by the pg-boss job, and what each handled event type
 * does to the billing records (including repeated and out-of-order delivery).
 */
describe('POST /webhooks/stripe', () => {
  let t: TestApp;
  let gw: SimulatedGateway;
  let events: GatewayEventService;
  let staff: Actor;

  beforeAll(async () => {
    t = await bootTestApp();
    const gateway = t.app.get(PaymentGateway);
    if (!(gateway instanceof SimulatedGateway)) throw new Error('expected the simulated gateway');
    gw = gateway;
    events = t.app.get(GatewayEventService);
    staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
  });
  afterEach(() => gw.clearFaults());
  afterAll(() => t.close());

  const api = () => request(t.server);
  const secret = () => t.config.billing.webhookSecret.reveal();

  /** A Stripe event, signed as Stripe signs it; `created` fixes its occurrence time (seconds). */
  function signed(
    type: string,
    object: Record<string, unknown>,
    options: { id?: string; created?: number; secret?: string } = {},
  ): Delivery {
    const id = options.id ?? `evt_test_${randomBytes(10).toString('hex')}`;
    const payload = JSON.stringify({
      id,
      object: 'event',
      api_version: '2025-01-27.acacia',
      created: options.created ?? Math.floor(Date.now() / 1000),
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
      type,
      data: { object },
    });
    const signature = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: options.secret ?? secret(),
    });
    return { id, payload, signature };
  }

  const deliver = (d: Pick<Delivery, 'payload' | 'signature'>) =>
    api()
      .post('/webhooks/stripe')
      .set('Content-Type', 'application/json')
      .set('Stripe-Signature', d.signature)
      .send(d.payload);

  /** Delivered as new and applied at once (the job may run it too: processing is once). */
  async function deliverAndProcess(d: Delivery): Promise<void> {
    const res = await deliver(d).expect(200);
    expect(res.body).toEqual({ id: d.id, duplicate: false });
    await events.process(d.id);
  }

  const stored = (id: string) => t.em().findOne(GatewayEvent, { id });
  const storedCount = (id?: string) => t.em().count(GatewayEvent, id ? { id } : {});
  /** The invoice's own columns (no relations), for comparisons. */
  const invoice = async (id: string) => {
    const row = await t.em().findOneOrFail(Invoice, { id });
    const { lines: _lines, subscription: _subscription, ...columns } = row;
    return columns;
  };
  const attemptsOf = (invoiceId: string) =>
    t.em().find(PaymentAttempt, { invoice: invoiceId }, { orderBy: { attemptNumber: 'asc' } });
  const subscriptionOf = (id: string) => t.em().findOneOrFail(Subscription, { id });
  const processed = (id: string) =>
    waitFor(`event ${id} to be processed by the job`, async () => {
      const row = await stored(id);
      return row?.processedAt ? row : null;
    });

  async function addCard(org: Org, paymentMethodId: string, makeDefault = false) {
    const res = await api()
      .post('/v1/billing/payment-methods')
      .set(org.headers)
      .send({ paymentMethodId, makeDefault })
      .expect(201);
    return t.em().findOneOrFail(PaymentMethod, { id: res.body.id as string });
  }

  const cardsOf = (org: Org) =>
    api()
      .get('/v1/billing/payment-methods')
      .set(org.headers)
      .expect(200)
      .then(
        (res) => res.body as { id: string; brand: string; last4: string; isDefault: boolean }[],
      );

  /** An organisation subscribed with a card that needs 3-D Secure: incomplete, its first invoice open. */
  async function scaSubscription(org?: Org) {
    const owner = org ?? (await createOrg(t.app));
    await addCard(owner, 'pm_card_authenticationRequired');
    const res = await api()
      .post('/v1/billing/subscription')
      .set(owner.headers)
      .send({ priceId: PRO_USD_MONTH, quantity: 1 })
      .expect(201);
    expect(res.body.subscription.status).toBe('incomplete');
    expect(res.body.payment.status).toBe('requires_action');
    return {
      org: owner,
      subscriptionId: res.body.subscription.id as string,
      invoiceId: res.body.invoice.id as string,
      paymentId: res.body.payment.paymentId as string,
    };
  }

  /** An organisation subscribed and paid (visa): its first invoice paid by payment `paymentId`. */
  async function paidSubscription() {
    const org = await createOrg(t.app);
    await addCard(org, 'pm_card_visa');
    const res = await api()
      .post('/v1/billing/subscription')
      .set(org.headers)
      .send({ priceId: STARTER_USD_MONTH, quantity: 1 })
      .expect(201);
    expect(res.body.invoice.status).toBe('paid');
    const invoiceId = res.body.invoice.id as string;
    const [attempt] = await attemptsOf(invoiceId);
    return { org, invoiceId, paymentId: attempt.gatewayPaymentId!, total: res.body.invoice.total };
  }

  /** The simulated payment as a Stripe PaymentIntent, with some fields replaced. */
  function intent(
    paymentId: string,
    overrides: Partial<NonNullable<ReturnType<SimulatedGateway['payment']>>> = {},
  ): Record<string, unknown> {
    const payment = gw.payment(paymentId);
    if (!payment) throw new Error(`The simulated gateway has no payment ${paymentId}`);
    return gw.intentObject({ ...payment, ...overrides });
  }

  const succeededIntent = (paymentId: string) =>
    intent(paymentId, { status: 'succeeded', error: null });
  const failedIntent = (paymentId: string) => ({
    ...intent(paymentId, { status: 'requires_payment_method' }),
    last_payment_error: {
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    },
  });
  const charge = (paymentId: string, amountRefunded: number, amount = 1200) => ({
    id: `ch_test_${paymentId}`,
    object: 'charge',
    amount,
    amount_refunded: amountRefunded,
    refunded: amountRefunded >= amount,
    currency: 'usd',
    payment_intent: paymentId,
  });
  const dispute = (paymentId: string, amount = 1200) => ({
    id: `dp_test_${paymentId}`,
    object: 'dispute',
    amount,
    currency: 'usd',
    charge: `ch_test_${paymentId}`,
    payment_intent: paymentId,
    reason: 'fraudulent',
    status: 'needs_response',
  });

  describe('verification', () => {
    let valid: Delivery;
    beforeAll(() => {
      valid = signed('customer.updated', { id: 'cus_verification', object: 'customer' });
    });

    async function expectRejected(res: request.Response, eventId = valid.id): Promise<void> {
      expectProblem(res, 400, 'webhook_signature_invalid');
      expect(await storedCount(eventId)).toBe(0);
    }

    it('refuses a delivery without a Stripe-Signature header, storing nothing', async () => {
      const before = await storedCount();
      const res = await api()
        .post('/webhooks/stripe')
        .set('Content-Type', 'application/json')
        .send(valid.payload);
      await expectRejected(res);
      expect(await storedCount()).toBe(before);
    });

    it('refuses an invalid or malformed signature', async () => {
      const now = Math.floor(Date.now() / 1000);
      for (const signature of [
        `t=${now},v1=${'0'.repeat(64)}`,
        'not a signature',
        `t=${now}`,
        '',
      ]) {
        await expectRejected(await deliver({ payload: valid.payload, signature }));
      }
    });

    it('refuses a body changed after signing (a value, or only its whitespace)', async () => {
      const tampered = valid.payload.replace('"livemode":false', '"livemode":true ');
      expect(tampered).not.toBe(valid.payload);
      await expectRejected(await deliver({ payload: tampered, signature: valid.signature }));
      // The same JSON re-serialised with other spacing is other bytes: refused.
      const pretty = JSON.stringify(JSON.parse(valid.payload), null, 2);
      await expectRejected(await deliver({ payload: pretty, signature: valid.signature }));
    });

    it('refuses a body signed with another secret', async () => {
      const other = signed(
        'customer.updated',
        { id: 'cus_x', object: 'customer' },
        { secret: 'whsec_someoneElsesSigningSecret000000' },
      );
      await expectRejected(await deliver(other), other.id);
    });

    it('refuses a replayed signature older than the tolerance (5 minutes)', async () => {
      const old = signed('customer.updated', { id: 'cus_x', object: 'customer' });
      const timestamp = Math.floor(Date.now() / 1000) - 3600;
      const signature = Stripe.webhooks.generateTestHeaderString({
        payload: old.payload,
        secret: secret(),
        timestamp,
      });
      await expectRejected(await deliver({ payload: old.payload, signature }), old.id);
    });

    it('answers a non-JSON content type with a 4xx problem, never a 500', async () => {
      for (const [type, body] of [
        ['text/plain', valid.payload],
        ['application/x-www-form-urlencoded', 'a=1&b=2'],
        ['application/octet-stream', valid.payload],
        ['multipart/form-data; boundary=x', '--x--'],
      ]) {
        const res = await api()
          .post('/webhooks/stripe')
          .set('Content-Type', type)
          .set('Stripe-Signature', valid.signature)
          .send(body);
        // The API parses JSON only: 415 before the controller, not a 500 from it.
        expect({ type, status: res.status }).toEqual({ type, status: 415 });
        expect(res.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
      }
      expect(await storedCount(valid.id)).toBe(0);
    });

    it('answers an empty JSON body with a 400 problem', async () => {
      const res = await api()
        .post('/webhooks/stripe')
        .set('Content-Type', 'application/json')
        .set('Stripe-Signature', valid.signature)
        .send('');
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
    });

    it('accepts the same bytes with a charset parameter on the content type', async () => {
      const d = signed('customer.updated', { id: 'cus_charset', object: 'customer' });
      const res = await api()
        .post('/webhooks/stripe')
        .set('Content-Type', 'application/json; charset=utf-8')
        .set('Stripe-Signature', d.signature)
        .send(d.payload)
        .expect(200);
      expect(res.body).toEqual({ id: d.id, duplicate: false });
    });

    it('is served without the /v1 prefix', async () => {
      const res = await api()
        .post('/v1/webhooks/stripe')
        .set('Content-Type', 'application/json')
        .set('Stripe-Signature', valid.signature)
        .send(valid.payload);
      expect(res.status).toBe(404);
      expect(await storedCount(valid.id)).toBe(0);
    });
  });

  describe('receipt and processing', () => {
    it('payment_intent.succeeded: acknowledged, stored once, applied by the job (invoice paid, subscription active); a redelivery changes nothing', async () => {
      const { org, subscriptionId, invoiceId, paymentId } = await scaSubscription();
      expect((await invoice(invoiceId)).status).toBe('open');
      const [pending] = await attemptsOf(invoiceId);
      expect(pending).toMatchObject({ status: 'requires_action', gatewayPaymentId: paymentId });

      // Built by the gateway itself, from the simulated payment.
      const event = gw.signedEvent('payment_intent.succeeded', succeededIntent(paymentId));
      const id = (JSON.parse(event.payload) as { id: string }).id;
      const res = await deliver(event).expect(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.body).toEqual({ id, duplicate: false });
      expect(await storedCount(id)).toBe(1);

      // No direct call: the pg-boss job applies it.
      const row = await processed(id);
      expect(row).toMatchObject({
        type: 'payment_intent.succeeded',
        attempts: 1,
        lastError: null,
      });
      expect(row.payload).toEqual(JSON.parse(event.payload));
      expect(row.occurredAt).toEqual(
        new Date((JSON.parse(event.payload) as { created: number }).created * 1000),
      );

      const paid = await invoice(invoiceId);
      expect(paid).toMatchObject({ status: 'paid', amountPaid: PRO_MONTH_AMOUNT });
      expect(paid.paidAt).toBeInstanceOf(Date);
      expect((await subscriptionOf(subscriptionId)).status).toBe('active');
      const [attempt] = await attemptsOf(invoiceId);
      expect(attempt).toMatchObject({ status: 'succeeded', gatewayPaymentId: paymentId });
      const overview = await api().get('/v1/billing/subscription').set(org.headers).expect(200);
      expect(overview.body.subscription.status).toBe('active');
      expect(overview.body.entitlements.planCode).toBe('pro');

      // The same event again (Stripe retries until it sees a 2xx).
      const again = await deliver(event).expect(200);
      expect(again.body).toEqual({ id, duplicate: true });
      await events.process(id);
      expect(await storedCount(id)).toBe(1);
      const after = await stored(id);
      expect(after).toMatchObject({ attempts: 1, processedAt: row.processedAt });
      expect(await invoice(invoiceId)).toEqual(paid);
      expect(await attemptsOf(invoiceId)).toEqual([attempt]);
    });

    it('wakes one drain for a burst of new events, no job per event, and nothing for a duplicate', async () => {
      const jobs = (name: string) =>
        t
          .em()
          .getConnection()
          .execute<{ n: string }[]>('select count(*) as n from pgboss.job where name = ?', [name])
          .then(([row]) => Number(row.n));
      const drainsBefore = await jobs(GATEWAY_EVENT_DRAIN_QUEUE);
      const burst = Array.from({ length: 20 }, (_, i) =>
        signed('customer.updated', { id: `cus_drain_${i}`, object: 'customer' }),
      );
      await Promise.all(burst.map((d) => deliver(d).expect(200)));
      for (const d of burst) await processed(d.id);
      const drains = (await jobs(GATEWAY_EVENT_DRAIN_QUEUE)) - drainsBefore;
      expect(drains).toBeGreaterThanOrEqual(1);
      expect(drains).toBeLessThanOrEqual(5);
      const perEvent = await t
        .em()
        .getConnection()
        .execute<{ n: string }[]>(
          `select count(*) as n from pgboss.job where name = ? and singleton_key in (${burst.map(() => '?').join(', ')})`,
          [GATEWAY_EVENT_QUEUE, ...burst.map((d) => d.id)],
        );
      expect(Number(perEvent[0].n)).toBe(0);

      // A duplicate is acknowledged and wakes nothing.
      const settled = await jobs(GATEWAY_EVENT_DRAIN_QUEUE);
      const again = await deliver(burst[0]).expect(200);
      expect(again.body).toEqual({ id: burst[0].id, duplicate: true });
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(await jobs(GATEWAY_EVENT_DRAIN_QUEUE)).toBe(settled);
    });

    it('a processing error is recorded (lastError, attempts) and the job retries the event', async () => {
      const org = await createOrg(t.app);
      const setup = await api()
        .post('/v1/billing/payment-methods/setup-intent')
        .set(org.headers)
        .expect(201);
      const customer = await t.em().findOneOrFail(BillingCustomer, { tenantId: org.tenant.id });
      const card = await gw.attachPaymentMethod(customer.gatewayId, 'pm_card_visa');
      // The handler's own gateway call (retrieving the card) fails once.
      gw.injectFault('unavailable');
      const d = signed('setup_intent.succeeded', {
        id: setup.body.id as string,
        object: 'setup_intent',
        customer: customer.gatewayId,
        payment_method: card.id,
        status: 'succeeded',
      });
      await deliver(d).expect(200);

      const failed = await waitFor('the first processing to fail', async () => {
        const row = await stored(d.id);
        return row?.lastError ? row : null;
      });
      expect(failed).toMatchObject({ attempts: 1, processedAt: null });
      expect(failed.lastError).toMatch(/500 \(simulated\)/);
      expect(await cardsOf(org)).toEqual([]);

      const jobOf = async () => {
        const rows = await t
          .em()
          .getConnection()
          .execute<{ id: string; state: string; retry_count: number }[]>(
            'select id, state, retry_count from pgboss.job where name = ? and singleton_key = ?',
            [GATEWAY_EVENT_QUEUE, d.id],
          );
        expect(rows).toHaveLength(1);
        return rows[0];
      };
      // The drain handed the event to a job of its own, which waits the retry delay.
      const job = await waitFor('the job to be scheduled for a retry', async () => {
        const row = await jobOf();
        return row.state === 'created' ? row : null;
      });
      // The retry waits 10 s; bring it forward rather than wait.
      await t
        .em()
        .getConnection()
        .execute('update pgboss.job set start_after = now() where id = ?', [job.id]);

      const row = await processed(d.id);
      expect(row).toMatchObject({ attempts: 2, lastError: null });
      expect(
        await waitFor('the job to complete', async () => {
          const done = await jobOf();
          return done.state === 'completed' ? done : null;
        }),
      ).toMatchObject({ retry_count: 0 });
      expect(await cardsOf(org)).toEqual([
        expect.objectContaining({ brand: 'visa', last4: '4242', isDefault: true }),
      ]);
    });
    // Full batches are fetched again at once and new jobs wake the worker: no polling pause per event.
    it('a burst of deliveries is worked off without waiting a polling interval per event', async () => {
      const burst = Array.from({ length: 10 }, (_, i) =>
        signed('customer.updated', { id: `cus_burst_${i}`, object: 'customer' }),
      );
      for (const d of burst) await deliver(d).expect(200);
      await waitFor(
        'the burst to be processed by the job',
        async () =>
          (await t.em().count(GatewayEvent, {
            id: { $in: burst.map((d) => d.id) },
            processedAt: { $ne: null },
          })) === burst.length,
        4_000,
      );
    });

    it('payment_intent.payment_failed: the attempt fails with its category and decline code; the invoice stays open', async () => {
      const { subscriptionId, invoiceId, paymentId } = await scaSubscription();
      await deliverAndProcess(signed('payment_intent.payment_failed', failedIntent(paymentId)));
      const [attempt] = await attemptsOf(invoiceId);
      expect(attempt).toMatchObject({
        status: 'failed',
        category: 'insufficient_funds',
        declineCode: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
        retryable: false,
        gatewayPaymentId: paymentId,
      });
      expect(attempt.completedAt).toBeInstanceOf(Date);
      expect((await invoice(invoiceId)).status).toBe('open');
      expect((await subscriptionOf(subscriptionId)).status).toBe('incomplete');
    });

    it('payment_intent.requires_action: an attempt whose outcome was lost is found by its metadata and waits for the customer', async () => {
      const org = await createOrg(t.app);
      await addCard(org, 'pm_card_authenticationRequired');
      // The charge reaches the gateway, then every answer is lost (the immediate retries too).
      gw.injectFault('timeout_after_charge');
      gw.injectFault('timeout_before_charge', 2);
      const res = await api()
        .post('/v1/billing/subscription')
        .set(org.headers)
        .send({ priceId: PRO_USD_MONTH, quantity: 1 })
        .expect(201);
      expect(res.body.payment.status).toBe('pending');
      const invoiceId = res.body.invoice.id as string;
      const [lost] = await attemptsOf(invoiceId);
      expect(lost).toMatchObject({ status: 'unknown', gatewayPaymentId: null });
      const paymentId = gw.paymentForKey(lost.idempotencyKey)!;
      expect(gw.payment(paymentId)?.metadata).toMatchObject({ attempt_id: lost.id });

      await deliverAndProcess(signed('payment_intent.requires_action', intent(paymentId)));
      const [waiting] = await attemptsOf(invoiceId);
      expect(waiting).toMatchObject({ status: 'requires_action', gatewayPaymentId: paymentId });
      expect((await invoice(invoiceId)).status).toBe('open');

      // The customer authenticates: the payment settles the invoice.
      await deliverAndProcess(signed('payment_intent.succeeded', succeededIntent(paymentId)));
      expect((await attemptsOf(invoiceId))[0].status).toBe('succeeded');
      expect((await invoice(invoiceId)).status).toBe('paid');
      expect((await subscriptionOf(res.body.subscription.id as string)).status).toBe('active');
    });

    it('setup_intent.succeeded: a card attached in the browser appears in the list, as the default when there is none', async () => {
      const org = await createOrg(t.app);
      const setup = await api()
        .post('/v1/billing/payment-methods/setup-intent')
        .set(org.headers)
        .expect(201);
      const customer = await t.em().findOneOrFail(BillingCustomer, { tenantId: org.tenant.id });
      expect(await cardsOf(org)).toEqual([]);

      // What Stripe.js does when the customer confirms the SetupIntent.
      const card = await gw.attachPaymentMethod(customer.gatewayId, 'pm_card_mastercard');
      const setupIntent = (paymentMethod: string) => ({
        id: setup.body.id as string,
        object: 'setup_intent',
        customer: customer.gatewayId,
        payment_method: paymentMethod,
        status: 'succeeded',
        usage: 'off_session',
      });
      await deliverAndProcess(signed('setup_intent.succeeded', setupIntent(card.id)));
      const [saved] = await cardsOf(org);
      expect(await cardsOf(org)).toEqual([
        expect.objectContaining({ brand: 'mastercard', last4: '4444', isDefault: true }),
      ]);

      // A second card: saved, the default stays.
      const second = await gw.attachPaymentMethod(customer.gatewayId, 'pm_card_amex');
      await deliverAndProcess(signed('setup_intent.succeeded', setupIntent(second.id)));
      // The same card reported again (another event about it): still one row.
      await deliverAndProcess(signed('setup_intent.succeeded', setupIntent(second.id)));
      const cards = await cardsOf(org);
      expect(cards.map((c) => [c.last4, c.isDefault])).toEqual([
        ['4444', true],
        ['8431', false],
      ]);
      expect(cards[0].id).toBe(saved.id);
    });

    it('payment_method.detached: the card disappears and the default moves to the newest other card', async () => {
      const org = await createOrg(t.app);
      const visa = await addCard(org, 'pm_card_visa');
      await sleep(5);
      const amex = await addCard(org, 'pm_card_amex');
      expect((await cardsOf(org)).map((c) => [c.id, c.isDefault])).toEqual([
        [visa.id, true],
        [amex.id, false],
      ]);
      const created = Math.floor(Date.now() / 1000) - 30;
      await deliverAndProcess(
        signed(
          'payment_method.detached',
          { id: visa.gatewayId, object: 'payment_method', customer: null },
          { created },
        ),
      );
      expect((await cardsOf(org)).map((c) => [c.id, c.isDefault])).toEqual([[amex.id, true]]);
      const row = await t.em().findOneOrFail(PaymentMethod, { id: visa.id });
      expect(row.detachedAt).toEqual(new Date(created * 1000));
      const customer = await t.em().findOneOrFail(BillingCustomer, { tenantId: org.tenant.id });
      expect(customer.defaultPaymentMethodId).toBe(amex.id);

      // The last card detached: no default left.
      await deliverAndProcess(
        signed('payment_method.detached', { id: amex.gatewayId, object: 'payment_method' }),
      );
      expect(await cardsOf(org)).toEqual([]);
      expect(
        (await t.em().findOneOrFail(BillingCustomer, { tenantId: org.tenant.id }))
          .defaultPaymentMethodId,
      ).toBeNull();
    });

    it('charge.refunded: the invoice keeps the running total, which a smaller total delivered later does not lower', async () => {
      const { invoiceId, paymentId, total } = await paidSubscription();
      expect(total).toBe(1200);
      await deliverAndProcess(signed('charge.refunded', charge(paymentId, 400)));
      expect((await invoice(invoiceId)).amountRefunded).toBe(400);
      await deliverAndProcess(signed('charge.refunded', charge(paymentId, 1200)));
      expect((await invoice(invoiceId)).amountRefunded).toBe(1200);
      // The first refund's event, arriving late (Stripe does not guarantee order).
      await deliverAndProcess(signed('charge.refunded', charge(paymentId, 400)));
      const row = await invoice(invoiceId);
      expect(row).toMatchObject({ amountRefunded: 1200, status: 'paid', amountPaid: 1200 });
    });

    it('charge.dispute.created: the invoice is marked disputed once and a platform audit row is written', async () => {
      const { org, invoiceId, paymentId } = await paidSubscription();
      const created = Math.floor(Date.now() / 1000) - 120;
      await deliverAndProcess(signed('charge.dispute.created', dispute(paymentId), { created }));
      const row = await invoice(invoiceId);
      expect(row.disputedAt).toEqual(new Date(created * 1000));
      expect(row.status).toBe('paid');
      const audit = await t
        .em()
        .find(PlatformAuditEvent, { tenantId: org.tenant.id, action: 'billing.dispute.created' });
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        actorType: 'system',
        data: { invoiceId, paymentId, amount: 1200, reason: 'fraudulent' },
      });

      // Another event about the same dispute (a second webhook endpoint's copy, say): nothing new.
      await deliverAndProcess(signed('charge.dispute.created', dispute(paymentId)));
      expect((await invoice(invoiceId)).disputedAt).toEqual(new Date(created * 1000));
      expect(
        await t.em().count(PlatformAuditEvent, {
          tenantId: org.tenant.id,
          action: 'billing.dispute.created',
        }),
      ).toBe(1);
    });

    it('an unhandled type is stored, processed and changes nothing', async () => {
      const { invoiceId, paymentId } = await paidSubscription();
      const before = await invoice(invoiceId);
      const attemptsBefore = await attemptsOf(invoiceId);
      const d = signed('payment_intent.created', intent(paymentId));
      await deliverAndProcess(d);
      const row = await stored(d.id);
      expect(row).toMatchObject({ type: 'payment_intent.created', attempts: 1, lastError: null });
      expect(await invoice(invoiceId)).toEqual(before);
      expect(await attemptsOf(invoiceId)).toEqual(attemptsBefore);
    });

    it('events about objects Groundwork does not know are acknowledged and ignored', async () => {
      const counts = async () => ({
        invoices: await t.em().count(Invoice, {}),
        attempts: await t.em().count(PaymentAttempt, {}),
        methods: await t.em().count(PaymentMethod, {}),
        audit: await t.em().count(PlatformAuditEvent, {}),
      });
      const before = await counts();
      const paidAt = await t.em().count(Invoice, { status: InvoiceStatus.Paid });
      const unknown = `pi_unknown_${randomBytes(6).toString('hex')}`;
      const intentOf = { id: unknown, object: 'payment_intent', amount: 999, currency: 'usd' };
      const deliveries = [
        signed('payment_intent.succeeded', { ...intentOf, metadata: {} }),
        // Metadata naming an attempt that does not exist, and one that is not even a uuid.
        signed('payment_intent.succeeded', { ...intentOf, metadata: { attempt_id: randomUUID() } }),
        signed('payment_intent.payment_failed', { ...intentOf, metadata: { attempt_id: 'x' } }),
        signed('payment_intent.requires_action', intentOf),
        signed('charge.refunded', charge(unknown, 999, 999)),
        signed('charge.dispute.created', dispute(unknown)),
        signed('payment_method.detached', { id: 'pm_not_ours', object: 'payment_method' }),
        signed('setup_intent.succeeded', {
          id: 'seti_not_ours',
          object: 'setup_intent',
          customer: 'cus_not_ours',
          payment_method: 'pm_not_ours',
        }),
      ];
      for (const d of deliveries) {
        await deliverAndProcess(d);
        expect(await stored(d.id)).toMatchObject({ attempts: 1, lastError: null });
        expect((await stored(d.id))?.processedAt).toBeInstanceOf(Date);
      }
      expect(await counts()).toEqual(before);
      expect(await t.em().count(Invoice, { status: InvoiceStatus.Paid })).toBe(paidAt);
    });
  });

  describe('money for an invoice no longer collected', () => {
    it('a payment that succeeds after its incomplete subscription lapsed: the invoice stays void, staff are told to refund', async () => {
      const org = await createOrg(t.app);
      const start = new Date('2032-09-01T10:00:00.000Z');
      await api()
        .post(`/v1/admin/billing/test-clocks/${org.tenant.id}/advance`)
        .set(staff.headers)
        .send({ to: start.toISOString() })
        .expect(200);
      const { subscriptionId, invoiceId, paymentId } = await scaSubscription(org);
      await t
        .em()
        .nativeUpdate(
          BillingCustomer,
          { tenantId: org.tenant.id },
          { testClockAt: new Date(start.getTime() + INCOMPLETE_TTL_MS) },
        );
      expect(await t.app.get(BillingRunService).expireIncomplete(org.tenant.id)).toBe(1);
      expect((await invoice(invoiceId)).status).toBe('void');

      // The customer finishes 3-D Secure on a page left open for a day.
      await deliverAndProcess(signed('payment_intent.succeeded', succeededIntent(paymentId)));
      expect(await invoice(invoiceId)).toMatchObject({ status: 'void', amountPaid: 0 });
      expect((await subscriptionOf(subscriptionId)).status).toBe('incomplete_expired');
      const audit = await t.em().find(PlatformAuditEvent, {
        tenantId: org.tenant.id,
        action: 'billing.payment.unexpected',
      });
      expect(audit).toHaveLength(1);
      expect(audit[0].data).toEqual({
        invoiceId,
        paymentId,
        invoiceStatus: 'void',
        amount: PRO_MONTH_AMOUNT,
      });
    });

    // The customer paid twice (another card while 3-D Secure waited, then 3-D Secure too):
    // staff are told to refund.
    it('a second payment succeeding for an invoice another payment already paid is reported for a refund', async () => {
      const { org, invoiceId, paymentId } = await scaSubscription();
      await addCard(org, 'pm_card_visa', true);
      await api()
        .post(`/v1/billing/invoices/${invoiceId}/pay`)
        .set(org.headers)
        .expect(200)
        .expect((res) => expect(res.body.payment.status).toBe('succeeded'));
      expect((await invoice(invoiceId)).status).toBe('paid');

      await deliverAndProcess(signed('payment_intent.succeeded', succeededIntent(paymentId)));
      const attempts = await attemptsOf(invoiceId);
      expect(attempts.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
      expect(
        await t.em().count(PlatformAuditEvent, {
          tenantId: org.tenant.id,
          action: 'billing.payment.unexpected',
        }),
      ).toBe(1);
    });
  });

  describe('order of delivery', () => {
    it('payment_failed delivered after succeeded for the same payment leaves the invoice paid', async () => {
      const { subscriptionId, invoiceId, paymentId } = await scaSubscription();
      const now = Math.floor(Date.now() / 1000);
      // The failure happened first (a first confirmation failed), but arrives last.
      const failed = signed('payment_intent.payment_failed', failedIntent(paymentId), {
        created: now - 60,
      });
      const succeeded = signed('payment_intent.succeeded', succeededIntent(paymentId), {
        created: now - 30,
      });
      await deliverAndProcess(succeeded);
      await deliverAndProcess(failed);
      expect(await invoice(invoiceId)).toMatchObject({
        status: 'paid',
        amountPaid: PRO_MONTH_AMOUNT,
      });
      // A succeeded attempt carries no failure (the stored events keep the history).
      expect((await attemptsOf(invoiceId))[0]).toMatchObject({
        status: 'succeeded',
        category: null,
      });
      expect((await subscriptionOf(subscriptionId)).status).toBe('active');
    });

    /** Two organisations with identical billing (same billing time, plan, card), for comparing end states. */
    async function twoIdenticalSubscriptions() {
      const billingTime = new Date('2032-03-01T00:00:00.000Z');
      const made = [];
      for (let i = 0; i < 2; i++) {
        const org = await createOrg(t.app);
        await api()
          .post(`/v1/admin/billing/test-clocks/${org.tenant.id}/advance`)
          .set(staff.headers)
          .send({ to: billingTime.toISOString() })
          .expect(200);
        made.push(await scaSubscription(org));
      }
      return made;
    }

    /** The rows the events touch, without ids and wall-clock timestamps. */
    async function endState(s: { org: Org; subscriptionId: string; invoiceId: string }) {
      const inv = await invoice(s.invoiceId);
      const attempts = await attemptsOf(s.invoiceId);
      const sub = await subscriptionOf(s.subscriptionId);
      const audit = await t
        .em()
        .find(
          PlatformAuditEvent,
          { tenantId: s.org.tenant.id, action: { $like: 'billing.%' } },
          { orderBy: { at: 'asc' } },
        );
      return {
        invoice: {
          status: inv.status,
          total: inv.total,
          amountDue: inv.amountDue,
          amountPaid: inv.amountPaid,
          amountRefunded: inv.amountRefunded,
          paidAt: inv.paidAt,
          disputedAt: inv.disputedAt,
          voidedAt: inv.voidedAt,
          attemptCount: inv.attemptCount,
        },
        attempts: attempts.map((a) => ({
          attemptNumber: a.attemptNumber,
          status: a.status,
          amount: a.amount,
          category: a.category,
          declineCode: a.declineCode,
          retryable: a.retryable,
          paidBy: a.gatewayPaymentId ? 'the payment' : null,
        })),
        subscription: {
          status: sub.status,
          currentPeriodStart: sub.currentPeriodStart,
          currentPeriodEnd: sub.currentPeriodEnd,
        },
        audit: audit
          .filter((a) => a.action !== 'billing.test_clock.advanced')
          .map((a) => ({ action: a.action, amount: a.data.amount, reason: a.data.reason })),
      };
    }

    /** One payment's life as Stripe reports it; `created` fixed so both organisations get equal times. */
    function lifeOf(paymentId: string, withFailure: boolean): Delivery[] {
      const t0 = Math.floor(new Date('2032-03-01T00:05:00.000Z').getTime() / 1000);
      return [
        ...(withFailure
          ? [
              signed('payment_intent.payment_failed', failedIntent(paymentId), {
                created: t0,
              }),
            ]
          : []),
        signed('payment_intent.requires_action', intent(paymentId), { created: t0 + 1 }),
        signed('payment_intent.succeeded', succeededIntent(paymentId), { created: t0 + 2 }),
        signed('charge.refunded', charge(paymentId, 1000, PRO_MONTH_AMOUNT), {
          created: t0 + 3,
        }),
        signed('charge.refunded', charge(paymentId, 2500, PRO_MONTH_AMOUNT), {
          created: t0 + 4,
        }),
        signed('charge.dispute.created', dispute(paymentId, PRO_MONTH_AMOUNT), {
          created: t0 + 5,
        }),
        signed('invoice.created', { id: 'in_stripe_side', object: 'invoice' }, { created: t0 + 6 }),
      ];
    }

    async function deliverAll(list: Delivery[]): Promise<void> {
      for (const d of list) {
        const res = await deliver(d).expect(200);
        expect(res.body.id).toBe(d.id);
        await events.process(d.id);
      }
    }

    async function orderings(withFailure: boolean) {
      const [a, b] = await twoIdenticalSubscriptions();
      const inOrder = lifeOf(a.paymentId, withFailure);
      const shuffled = lifeOf(b.paymentId, withFailure);
      // A: in order, then all again. B: newest first, then again in another order.
      await deliverAll(inOrder);
      await deliverAll(inOrder);
      await deliverAll([...shuffled].reverse());
      await deliverAll([...shuffled.slice(3), ...shuffled.slice(0, 3)]);
      for (const d of [...inOrder, ...shuffled]) {
        expect(await storedCount(d.id)).toBe(1);
        expect(await stored(d.id)).toMatchObject({ attempts: 1, lastError: null });
      }
      return { a: await endState(a), b: await endState(b) };
    }

    it('the same events in two different orders, repeated, end in the same state', async () => {
      const { a, b } = await orderings(false);
      expect(b).toEqual(a);
      expect(a).toMatchObject({
        invoice: {
          status: 'paid',
          amountPaid: PRO_MONTH_AMOUNT,
          amountRefunded: 2500,
          disputedAt: new Date('2032-03-01T00:05:05.000Z'),
          paidAt: new Date('2032-03-01T00:00:00.000Z'),
        },
        attempts: [{ status: 'succeeded' }],
        subscription: { status: 'active' },
        audit: [
          { action: 'billing.dispute.created', amount: PRO_MONTH_AMOUNT, reason: 'fraudulent' },
        ],
      });
    });

    // A payment may fail and then succeed (3-D Secure retried on the same intent): success
    // outranks the failure whatever the delivery order.
    it('with a failure before the success on the same payment, both orders still end in the same state', async () => {
      const { a, b } = await orderings(true);
      expect(b).toEqual(a);
    });
  });
});
