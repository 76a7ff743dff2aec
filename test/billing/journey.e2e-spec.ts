import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { Invoice } from '../../src/billing/entities/invoice.entity';
import { PaymentAttempt } from '../../src/billing/entities/payment-attempt.entity';
import { Subscription } from '../../src/billing/entities/subscription.entity';
import { createUser, type Actor } from '../support/factories';
import { LogCapture } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';
import { billingClient, PRICES } from './billing-helpers';

const { STARTER_MONTH: STARTER_USD_MONTH, PRO_MONTH: PRO_USD_MONTH } = PRICES;

/** The customer's whole life on the simulated gateway, through HTTP only. */
describe('billing journey', () => {
  let t: TestApp;
  let staff: Actor;
  const logs = new LogCapture();

  beforeAll(async () => {
    t = await bootTestApp({ env: { LOG_LEVEL: 'info' }, logDestination: logs });
    staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  const { signUp } = billingClient(
    () => t,
    () => staff,
  );

  const advance = (tenantId: string, to: Date) =>
    api()
      .post(`/v1/admin/billing/test-clocks/${tenantId}/advance`)
      .set(staff.headers)
      .send({ to: to.toISOString() })
      .expect(200);

  it('sign up → paid tier → card → subscribed → upgrade → three renewals → cancel → canceled', async () => {
    const { tenantId, headers } = await signUp();

    const pricing = await api().get('/v1/pricing').expect(200);
    expect(pricing.body.recommended).toBe('pro');

    // Free until a plan is chosen.
    const free = await api().get('/v1/billing/subscription').set(headers).expect(200);
    expect(free.body).toMatchObject({ subscription: null, entitlements: { planCode: 'free' } });

    // Pin billing time so the arithmetic below is exact.
    const start = new Date('2031-01-10T00:00:00.000Z');
    await advance(tenantId, start);

    await api()
      .post('/v1/billing/payment-methods')
      .set(headers)
      .send({ paymentMethodId: 'pm_card_visa' })
      .expect(201);

    const subscribed = await api()
      .post('/v1/billing/subscription')
      .set(headers)
      .send({ priceId: STARTER_USD_MONTH, quantity: 2 })
      .expect(201);
    expect(subscribed.body.subscription).toMatchObject({
      status: 'active',
      plan: { code: 'starter' },
      quantity: 2,
      currentPeriodStart: start.toISOString(),
      currentPeriodEnd: '2031-02-10T00:00:00.000Z',
    });
    expect(subscribed.body.invoice).toMatchObject({ status: 'paid', total: 2400, amountDue: 2400 });
    expect(subscribed.body.payment.status).toBe('succeeded');

    // Upgrade to Pro half way through (Jan 25 of a 31-day period: 16 of 31 days left).
    await advance(tenantId, new Date('2031-01-25T00:00:00.000Z'));
    const preview = await api()
      .post('/v1/billing/subscription/preview-change')
      .set(headers)
      .send({ priceId: PRO_USD_MONTH })
      .expect(200);
    const credit = -Math.round((2400 * 16) / 31);
    const debit = Math.round((5800 * 16) / 31);
    expect(preview.body).toMatchObject({
      direction: 'upgrade',
      timing: 'now',
      amountDueNow: credit + debit,
    });
    expect(preview.body.lines.map((l: { amount: number }) => l.amount)).toEqual([credit, debit]);

    const upgraded = await api()
      .post('/v1/billing/subscription/change')
      .set(headers)
      .send({ priceId: PRO_USD_MONTH })
      .expect(200);
    expect(upgraded.body.subscription.plan.code).toBe('pro');
    expect(
      upgraded.body.invoice.lines.map((l: { kind: string; amount: number }) => [l.kind, l.amount]),
    ).toEqual([
      ['proration_credit', credit],
      ['proration_debit', debit],
    ]);
    expect(upgraded.body.invoice).toMatchObject({ status: 'paid', total: credit + debit });
    const entitled = await api().get('/v1/billing/subscription').set(headers).expect(200);
    expect(entitled.body.entitlements).toMatchObject({ planCode: 'pro', seatLimit: 2 });

    // Three renewals.
    for (const [month, end] of [
      ['2031-02-10', '2031-03-10'],
      ['2031-03-10', '2031-04-10'],
      ['2031-04-10', '2031-05-10'],
    ]) {
      const moved = await advance(tenantId, new Date(`${month}T00:00:00.000Z`));
      expect(moved.body.renewals).toEqual([
        expect.objectContaining({ result: 'renewed', payment: 'paid' }),
      ]);
      expect(moved.body.subscription).toMatchObject({
        status: 'active',
        currentPeriodEnd: `${end}T00:00:00.000Z`,
      });
    }
    const invoices = await api().get('/v1/billing/invoices').set(headers).expect(200);
    expect(invoices.body.items).toHaveLength(5);
    expect(
      invoices.body.items
        .slice(0, 3)
        .map((i: { total: number; status: string }) => [i.total, i.status]),
    ).toEqual([
      [5800, 'paid'],
      [5800, 'paid'],
      [5800, 'paid'],
    ]);
    const numbers = invoices.body.items.map((i: { number: string }) => Number(i.number.slice(3)));
    expect(numbers).toEqual([...numbers].sort((a, b) => b - a));

    // Cancel at period end with a reason; it runs out, then ends.
    const cancelled = await api()
      .post('/v1/billing/subscription/cancel')
      .set(headers)
      .send({ reason: 'too_expensive', comment: 'Budget cut' })
      .expect(200);
    expect(cancelled.body).toMatchObject({
      cancelAtPeriodEnd: true,
      cancelReason: 'too_expensive',
      status: 'active',
    });
    const ended = await advance(tenantId, new Date('2031-05-10T00:00:01.000Z'));
    expect(ended.body.renewals).toEqual([expect.objectContaining({ result: 'ended' })]);
    expect(ended.body.subscription).toBeNull();
    const row = await t.em().findOneOrFail(Subscription, { tenantId });
    expect(row).toMatchObject({
      status: 'canceled',
      cancelReason: 'too_expensive',
      cancelComment: 'Budget cut',
    });
    const after = await api().get('/v1/billing/subscription').set(headers).expect(200);
    expect(after.body.entitlements.planCode).toBe('free');
    expect(await t.em().count(Invoice, { tenantId })).toBe(5);
    expect(await t.em().count(PaymentAttempt, { tenantId })).toBe(5);
  });

  it('an SCA card leaves the subscription incomplete until the customer confirms', async () => {
    const { tenantId, headers } = await signUp();
    await api()
      .post('/v1/billing/payment-methods')
      .set(headers)
      .send({ paymentMethodId: 'pm_card_authenticationRequired' })
      .expect(201);
    const res = await api()
      .post('/v1/billing/subscription')
      .set(headers)
      .send({ priceId: PRO_USD_MONTH, quantity: 1 })
      .expect(201);
    expect(res.body.subscription.status).toBe('incomplete');
    expect(res.body.payment).toMatchObject({ status: 'requires_action' });
    expect(res.body.payment.clientSecret).toMatch(/_secret_/);
    const pending = await api().get('/v1/billing/subscription').set(headers).expect(200);
    expect(pending.body.entitlements.planCode).toBe('free');

    await api()
      .post(`/v1/billing/simulated/payments/${res.body.payment.paymentId}/authenticate`)
      .set(headers)
      .send({ succeed: true })
      .expect(200);
    const active = await api().get('/v1/billing/subscription').set(headers).expect(200);
    expect(active.body.subscription.status).toBe('active');
    expect(active.body.entitlements.planCode).toBe('pro');
    const invoice = await t.em().findOneOrFail(Invoice, { tenantId });
    expect(invoice.status).toBe('paid');
  });

  it('a declined first payment leaves no active subscription', async () => {
    const { tenantId, headers } = await signUp();
    await api()
      .post('/v1/billing/payment-methods')
      .set(headers)
      .send({ paymentMethodId: 'pm_card_chargeDeclinedInsufficientFunds' })
      .expect(201);
    const res = await api()
      .post('/v1/billing/subscription')
      .set(headers)
      .send({ priceId: PRO_USD_MONTH, quantity: 1 })
      .expect(402);
    expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(res.body).toMatchObject({
      code: 'payment_declined',
      category: 'insufficient_funds',
      declineCode: 'insufficient_funds',
    });
    const overview = await api().get('/v1/billing/subscription').set(headers).expect(200);
    expect(overview.body).toMatchObject({ subscription: null, entitlements: { planCode: 'free' } });
    const rows = await t.em().find(Subscription, { tenantId });
    expect(rows.map((r) => r.status)).toEqual(['incomplete_expired']);
    const invoice = await t.em().findOneOrFail(Invoice, { tenantId });
    expect(invoice.status).toBe('void');
    const failures = await api()
      .get('/v1/admin/billing/payment-failures')
      .query({ tenantId })
      .set(staff.headers)
      .expect(200);
    expect(failures.body.items).toEqual([
      expect.objectContaining({
        status: 'failed',
        category: 'insufficient_funds',
        trigger: 'subscribe',
      }),
    ]);
  });
});
