import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { PaymentAttempt } from '../../src/billing/entities/payment-attempt.entity';
import { PaymentGateway } from '../../src/billing/payments/payment-gateway';
import { StripeGateway } from '../../src/billing/payments/stripe.gateway';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';
import { FakeStripeApi } from './stripe-api-server';

const PRO_USD_MONTH = '0193a000-0000-7000-8001-000000000031';

/**
 * The whole application with STRIPE_SECRET_KEY set: the official SDK talks to
 * a local server speaking Stripe's API, so the portal flows run on the real
 * adapter, its idempotency keys and its error mapping.
 */
describe('billing on the Stripe adapter', () => {
  let api: FakeStripeApi;
  let t: TestApp;
  let staff: Actor;

  beforeAll(async () => {
    api = await FakeStripeApi.start();
    t = await bootTestApp({
      env: { STRIPE_SECRET_KEY: api.secretKey, STRIPE_API_URL: api.url },
    });
    staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
  });
  afterAll(async () => {
    await t.close();
    await api.stop();
  });

  const http = () => request(t.server);

  async function withCard(card: string): Promise<Org> {
    const org = await createOrg(t.app);
    await http()
      .post('/v1/billing/payment-methods')
      .set(org.headers)
      .send({ paymentMethodId: card })
      .expect(201);
    return org;
  }

  it('uses the Stripe adapter when STRIPE_SECRET_KEY is set', () => {
    expect(t.app.get(PaymentGateway)).toBeInstanceOf(StripeGateway);
  });

  it('subscribes and renews through Stripe, each charge under its own idempotency key', async () => {
    const org = await withCard('pm_card_visa');
    const card = api.requestsTo('POST /v1/customers');
    expect(card.length).toBeGreaterThan(0);

    const res = await http()
      .post('/v1/billing/subscription')
      .set(org.headers)
      .send({ priceId: PRO_USD_MONTH, quantity: 2 })
      .expect(201);
    expect(res.body.subscription.status).toBe('active');
    expect(res.body.invoice).toMatchObject({ status: 'paid', amountPaid: 5800 });

    const [attempt] = await t.em().find(PaymentAttempt, { tenantId: org.tenant.id });
    const sent = api
      .requestsTo('POST /v1/payment_intents')
      .filter((r) => r.idempotencyKey === attempt.idempotencyKey);
    expect(sent).toHaveLength(1);
    expect(attempt.gatewayPaymentId).toMatch(/^pi_/);
    expect(attempt.gatewayRequestId).toMatch(/^req_/);

    const renewed = await http()
      .post(`/v1/admin/billing/test-clocks/${org.tenant.id}/advance`)
      .set(staff.headers)
      .send({ days: 32 })
      .expect(200);
    expect(renewed.body.renewals).toEqual([
      expect.objectContaining({ result: 'renewed', payment: 'paid' }),
    ]);
    const keys = (await t.em().find(PaymentAttempt, { tenantId: org.tenant.id })).map(
      (a) => a.idempotencyKey,
    );
    expect(new Set(keys).size).toBe(2);
  });

  it('retries a 500 under the same key and charges once', async () => {
    const org = await withCard('pm_card_visa');
    api.failNext('POST /v1/payment_intents', { kind: 'server_error' }, 1);
    const res = await http()
      .post('/v1/billing/subscription')
      .set(org.headers)
      .send({ priceId: PRO_USD_MONTH, quantity: 1 });
    const [attempt] = await t.em().find(PaymentAttempt, { tenantId: org.tenant.id });
    const sent = api
      .requestsTo('POST /v1/payment_intents')
      .filter((r) => r.idempotencyKey === attempt.idempotencyKey);
    expect(res.status).toBe(201);
    expect(res.body.subscription.status).toBe('active');
    expect(sent.length).toBeGreaterThanOrEqual(2);
    expect(new Set(sent.map((r) => r.idempotencyKey)).size).toBe(1);
  });

  it('refuses a card the issuer declines when it is saved, with its category (402)', async () => {
    const org = await createOrg(t.app);
    const res = await http()
      .post('/v1/billing/payment-methods')
      .set(org.headers)
      .send({ paymentMethodId: 'pm_card_chargeDeclinedInsufficientFunds' })
      .expect(402);
    expect(res.body).toMatchObject({ code: 'payment_declined', category: 'insufficient_funds' });
    expect(res.body.gatewayRequestId).toMatch(/^req_/);
  });

  it('maps a declined charge to 402 with its category and the gateway request id', async () => {
    const org = await withCard('pm_card_chargeCustomerFail');
    const declined = await http()
      .post('/v1/billing/subscription')
      .set(org.headers)
      .send({ priceId: PRO_USD_MONTH, quantity: 1 })
      .expect(402);
    expect(declined.body).toMatchObject({
      code: 'payment_declined',
      category: 'card_declined',
      declineCode: 'generic_decline',
    });
    expect(declined.body.gatewayRequestId).toMatch(/^req_/);
    const [attempt] = await t.em().find(PaymentAttempt, { tenantId: org.tenant.id });
    expect(attempt).toMatchObject({ status: 'failed', category: 'card_declined' });
    expect(attempt.gatewayPaymentId).toMatch(/^pi_/);
  });

  it("leaves a first payment needing 3-D Secure incomplete, with the payment's client secret", async () => {
    const org = await withCard('pm_card_authenticationRequired');
    const res = await http()
      .post('/v1/billing/subscription')
      .set(org.headers)
      .send({ priceId: PRO_USD_MONTH, quantity: 1 })
      .expect(201);
    expect(res.body.subscription.status).toBe('incomplete');
    expect(res.body.payment).toMatchObject({ status: 'requires_action' });
    expect(res.body.payment.paymentId).toMatch(/^pi_/);
    expect(res.body.payment.clientSecret).toMatch(
      new RegExp(`^${res.body.payment.paymentId}_secret_`),
    );
  });

  it('keeps a first payment pending (never a 500) when Stripe keeps failing, the attempt unknown', async () => {
    const org = await withCard('pm_card_visa');
    api.failNext('POST /v1/payment_intents', { kind: 'server_error' }, 10);
    const res = await http()
      .post('/v1/billing/subscription')
      .set(org.headers)
      .send({ priceId: PRO_USD_MONTH, quantity: 1 });
    expect(res.status).toBe(201);
    expect(res.body.payment.status).toBe('pending');
    expect(res.body.subscription.status).toBe('incomplete');
    const [attempt] = await t.em().find(PaymentAttempt, { tenantId: org.tenant.id });
    expect(attempt).toMatchObject({ status: 'unknown', category: 'gateway_unavailable' });
  });
});
