import { randomUUID } from 'node:crypto';
import request, { Response } from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { BillingCustomer } from '../../src/billing/entities/billing-customer.entity';
import { Invoice } from '../../src/billing/entities/invoice.entity';
import { Subscription, SubscriptionStatus } from '../../src/billing/entities/subscription.entity';
import { PaymentGateway } from '../../src/billing/payments/payment-gateway';
import { SimulatedGateway } from '../../src/billing/payments/simulated.gateway';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

/** Seeded prices (migrations/platform/…_catalog_seed.ts). */
const STARTER_USD_MONTH = '0193a000-0000-7000-8001-000000000021';
const PRO_USD_MONTH = '0193a000-0000-7000-8001-000000000031';

/**
 * `Idempotency-Key` on the billing POSTs that move money: a retried request
 * (a lost response, a double click) gets the first answer again and never
 * charges twice.
 */
describe('Idempotency-Key on billing POSTs', () => {
  let t: TestApp;
  let gw: SimulatedGateway;
  let staff: Actor;

  beforeAll(async () => {
    t = await bootTestApp();
    const gateway = t.app.get(PaymentGateway);
    if (!(gateway instanceof SimulatedGateway)) throw new Error('expected the simulated gateway');
    gw = gateway;
    staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
  });
  afterEach(() => gw.clearFaults());
  afterAll(() => t.close());

  const api = () => request(t.server);

  const post = (org: Org, path: string, body: object | undefined, key?: string) => {
    const req = api().post(path).set(org.headers);
    if (key !== undefined) void req.set('Idempotency-Key', key);
    return req.send(body).then((res) => res);
  };
  const subscribe = (org: Org, body: object, key?: string) =>
    post(org, '/v1/billing/subscription', body, key);

  async function addCard(org: Org, paymentMethodId: string, makeDefault = false) {
    const res = await post(org, '/v1/billing/payment-methods', { paymentMethodId, makeDefault });
    expect(res.status).toBe(201);
    return res.body as { id: string };
  }

  /** Charge requests the gateway received for the tenant (every request, replays included). */
  const chargesOf = (tenantId: string) =>
    gw.chargeLog.filter((c) => c.metadata.tenant_id === tenantId);
  /** Distinct payments those requests made: what the customer's statement shows. */
  const paymentsOf = (tenantId: string) =>
    new Set(
      chargesOf(tenantId)
        .map((c) => gw.paymentForKey(c.idempotencyKey))
        .filter(Boolean),
    ).size;
  const subscriptionsOf = (tenantId: string) => t.em().find(Subscription, { tenantId });
  const invoicesOf = (tenantId: string) => t.em().count(Invoice, { tenantId });

  const expectReplayOf = (replay: Response, first: Response) => {
    expect(replay.status).toBe(first.status);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
  };

  describe('POST /v1/billing/subscription', () => {
    it('the same key and body twice: the same 201 body, replayed; one subscription, one invoice, one charge', async () => {
      const org = await createOrg(t.app);
      await addCard(org, 'pm_card_visa');
      const key = randomUUID();
      const body = { priceId: STARTER_USD_MONTH, quantity: 1 };

      const first = await subscribe(org, body, key);
      expect(first.status).toBe(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      expect(first.body).toMatchObject({
        subscription: { status: 'active' },
        invoice: { status: 'paid' },
        payment: { status: 'succeeded' },
      });

      const again = await subscribe(org, body, key);
      expectReplayOf(again, first);
      // The same body with its members in another order is the same request.
      const reordered = await api()
        .post('/v1/billing/subscription')
        .set(org.headers)
        .set('Idempotency-Key', key)
        .set('Content-Type', 'application/json')
        .send(`{"quantity":1,"priceId":"${STARTER_USD_MONTH}"}`);
      expectReplayOf(reordered, first);

      expect(await subscriptionsOf(org.tenant.id)).toHaveLength(1);
      expect(await invoicesOf(org.tenant.id)).toBe(1);
      expect(chargesOf(org.tenant.id)).toHaveLength(1);
      // Run again without the key, the request would be refused: the replays ran nothing.
      expectProblem(await subscribe(org, body), 409, 'subscription_exists');
    });

    it('the same key with another body: 422 idempotency_key_reused, nothing done', async () => {
      const org = await createOrg(t.app);
      await addCard(org, 'pm_card_visa');
      const key = randomUUID();
      const first = await subscribe(org, { priceId: STARTER_USD_MONTH, quantity: 1 }, key);
      expect(first.status).toBe(201);

      for (const other of [
        { priceId: STARTER_USD_MONTH, quantity: 2 },
        { priceId: PRO_USD_MONTH, quantity: 1 },
      ]) {
        const res = await subscribe(org, other, key);
        expectProblem(res, 422, 'idempotency_key_reused');
      }
      // The key on another billing route is another request too.
      expectProblem(
        await post(org, '/v1/billing/subscription/change', { quantity: 2 }, key),
        422,
        'idempotency_key_reused',
      );
      expect(await subscriptionsOf(org.tenant.id)).toMatchObject([{ quantity: 1 }]);
      expect(chargesOf(org.tenant.id)).toHaveLength(1);
    });

    it('five concurrent requests with one key: one runs, the others wait their turn (409) or get its answer; one charge', async () => {
      const org = await createOrg(t.app);
      await addCard(org, 'pm_card_visa');
      const key = randomUUID();
      const body = { priceId: STARTER_USD_MONTH, quantity: 1 };

      const responses = await Promise.all(
        Array.from({ length: 5 }, () => subscribe(org, body, key)),
      );
      const created = responses.filter((r) => r.status === 201);
      const busy = responses.filter((r) => r.status === 409);
      expect(created.length + busy.length).toBe(5);
      expect(created.filter((r) => r.headers['idempotent-replayed'] !== 'true')).toHaveLength(1);
      for (const res of busy) expectProblem(res, 409, 'idempotency_request_in_progress');

      const original = created.find((r) => r.headers['idempotent-replayed'] !== 'true')!;
      expectReplayOf(await subscribe(org, body, key), original);
      expect(await subscriptionsOf(org.tenant.id)).toHaveLength(1);
      expect(await invoicesOf(org.tenant.id)).toBe(1);
      expect(chargesOf(org.tenant.id)).toHaveLength(1);
    });

    it('a declined first payment (402) is the answer to that key, even after a good card is added', async () => {
      const org = await createOrg(t.app);
      await addCard(org, 'pm_card_chargeDeclinedInsufficientFunds');
      const key = randomUUID();
      const body = { priceId: STARTER_USD_MONTH, quantity: 1 };

      const first = await subscribe(org, body, key);
      expectProblem(first, 402, 'payment_declined');
      await addCard(org, 'pm_card_visa', true);
      const again = await subscribe(org, body, key);
      expectReplayOf(again, first);
      expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(chargesOf(org.tenant.id)).toHaveLength(1);

      // A new key is a new request: it subscribes with the good card.
      const fresh = await subscribe(org, body, randomUUID());
      expect(fresh.status).toBe(201);
      expect(chargesOf(org.tenant.id)).toHaveLength(2);
    });

    it('a 503 (gateway not answering, nothing charged) frees the key: the retry with it runs and charges once', async () => {
      const org = await createOrg(t.app);
      await addCard(org, 'pm_card_visa');
      const key = randomUUID();
      const body = { priceId: STARTER_USD_MONTH, quantity: 1 };
      // Refused connections: the request and its two immediate retries never reach the gateway.
      gw.injectFault('refused', 3);

      const failed = await subscribe(org, body, key);
      expectProblem(failed, 503, 'gateway_unavailable');
      expect(paymentsOf(org.tenant.id)).toBe(0);

      const retried = await subscribe(org, body, key);
      expect(retried.status).toBe(201);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
      expectReplayOf(await subscribe(org, body, key), retried);
      expect(paymentsOf(org.tenant.id)).toBe(1);
      const live = (await subscriptionsOf(org.tenant.id)).filter(
        (s) => s.status === SubscriptionStatus.Active,
      );
      expect(live).toHaveLength(1);
    });
  });

  it('POST /v1/billing/subscription/change replayed: the same answer, no second charge', async () => {
    const org = await createOrg(t.app);
    await addCard(org, 'pm_card_visa');
    expect((await subscribe(org, { priceId: STARTER_USD_MONTH, quantity: 1 })).status).toBe(201);
    const key = randomUUID();
    const upgrade = { priceId: PRO_USD_MONTH };

    const first = await post(org, '/v1/billing/subscription/change', upgrade, key);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      subscription: { plan: { code: 'pro' } },
      invoice: { status: 'paid' },
      payment: { status: 'succeeded' },
    });
    expect(chargesOf(org.tenant.id)).toHaveLength(2);

    for (let i = 0; i < 3; i++) {
      expectReplayOf(await post(org, '/v1/billing/subscription/change', upgrade, key), first);
    }
    expect(chargesOf(org.tenant.id)).toHaveLength(2);
    expect(await invoicesOf(org.tenant.id)).toBe(2);
    // Without the key the same change is refused (already on Pro): the replays ran nothing.
    expectProblem(
      await post(org, '/v1/billing/subscription/change', upgrade),
      409,
      'subscription_no_change',
    );
  });

  it('POST /v1/billing/invoices/{id}/pay replayed: the same answer, no second charge', async () => {
    const org = await createOrg(t.app);
    await api()
      .post(`/v1/admin/billing/test-clocks/${org.tenant.id}/advance`)
      .set(staff.headers)
      .send({ to: '2033-04-01T00:00:00.000Z' })
      .expect(200);
    await addCard(org, 'pm_card_visa');
    expect((await subscribe(org, { priceId: STARTER_USD_MONTH, quantity: 1 })).status).toBe(201);
    // The renewal meets a gateway outage (the call and both immediate retries refused): its invoice stays open.
    gw.injectFault('refused', 3);
    const renewal = await api()
      .post(`/v1/admin/billing/test-clocks/${org.tenant.id}/advance`)
      .set(staff.headers)
      .send({ to: '2033-05-01T00:00:00.000Z' })
      .expect(200);
    expect(renewal.body.renewals).toEqual([
      expect.objectContaining({ result: 'renewed', payment: 'failed' }),
    ]);
    const invoiceId = renewal.body.renewals[0].invoiceId as string;
    const charged = () => gw.chargeLog.filter((c) => c.metadata.invoice_id === invoiceId);
    expect(charged()).toHaveLength(3);

    const key = randomUUID();
    const first = await post(org, `/v1/billing/invoices/${invoiceId}/pay`, undefined, key);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      invoice: { id: invoiceId, status: 'paid' },
      payment: { status: 'succeeded' },
    });
    expect(charged()).toHaveLength(4);

    for (let i = 0; i < 3; i++) {
      expectReplayOf(
        await post(org, `/v1/billing/invoices/${invoiceId}/pay`, undefined, key),
        first,
      );
    }
    expect(charged()).toHaveLength(4);
    // Paid once: without the key a second payment is refused.
    expectProblem(
      await post(org, `/v1/billing/invoices/${invoiceId}/pay`, undefined),
      409,
      'invoice_not_payable',
    );
  });

  it('POST /v1/billing/payment-methods/setup-intent with a key: 400 idempotency_key_unsupported, nothing done', async () => {
    const org = await createOrg(t.app);
    const res = await post(
      org,
      '/v1/billing/payment-methods/setup-intent',
      undefined,
      randomUUID(),
    );
    const problem = expectProblem(res, 400, 'idempotency_key_unsupported');
    expect(problem.detail).toMatch(/client secret/);
    // Refused before the handler: no gateway customer was created.
    expect(await t.em().count(BillingCustomer, { tenantId: org.tenant.id })).toBe(0);

    const without = await post(org, '/v1/billing/payment-methods/setup-intent', undefined);
    expect(without.status).toBe(201);
    expect(without.body.clientSecret).toMatch(/_secret_/);
  });
});
