import { randomUUID } from 'node:crypto';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { BillingCustomer } from '../../src/billing/entities/billing-customer.entity';
import { Invoice } from '../../src/billing/entities/invoice.entity';
import { PaymentMethod } from '../../src/billing/entities/payment-method.entity';
import { Subscription } from '../../src/billing/entities/subscription.entity';
import { PlatformAuditEvent } from '../../src/tenancy/audit/platform-audit-event.entity';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { createUser, type Actor } from '../support/factories';
import { erroredFields, expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';
import { billingClient, type Body, type Buyer, type Headers, iso, PRICES } from './billing-helpers';

const { STARTER_MONTH, PRO_MONTH } = PRICES;

/** The customer portal through HTTP: cards, invoices, pay now, cancel, roles, and the staff tools. */
describe('billing portal', () => {
  let t: TestApp;
  let staff: Actor;

  beforeAll(async () => {
    t = await bootTestApp();
    staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
  });
  afterAll(() => t.close());

  const { api, gateway, charges, signUp, advance, addCard, overview } = billingClient(
    () => t,
    () => staff,
  );
  const cards = async (headers: Headers): Promise<Body[]> =>
    (await api().get('/v1/billing/payment-methods').set(headers).expect(200)).body as Body[];
  const subscribe = (headers: Headers, priceId = STARTER_MONTH, quantity = 1) =>
    api().post('/v1/billing/subscription').set(headers).send({ priceId, quantity });
  const liveCards = (tenantId: string) =>
    t.em().count(PaymentMethod, { tenantId, detachedAt: null });

  /** Signs up, pins billing time at `day`, saves a Visa and subscribes to Starter (paid at once). */
  async function subscribedBuyer(day: string, quantity = 1): Promise<Buyer> {
    const buyer = await signUp();
    await advance(buyer.tenantId, day);
    await addCard(buyer.headers, 'pm_card_visa').expect(201);
    const res = await subscribe(buyer.headers, STARTER_MONTH, quantity).expect(201);
    expect(res.body.subscription.status).toBe('active');
    return buyer;
  }

  /** A subscriber whose renewal on 1 Apr 2031 was declined by its default card. */
  async function pastDueBuyer(): Promise<Buyer & { invoiceId: string }> {
    const buyer = await subscribedBuyer('2031-03-01');
    await addCard(buyer.headers, 'pm_card_chargeDeclinedInsufficientFunds', true).expect(201);
    const renewed = await advance(buyer.tenantId, '2031-04-01');
    expect(renewed.renewals).toEqual([
      expect.objectContaining({ result: 'renewed', payment: 'failed' }),
    ]);
    expect(renewed.subscription.status).toBe('past_due');
    return { ...buyer, invoiceId: renewed.renewals[0].invoiceId as string };
  }

  describe('payment methods', () => {
    it('saves cards (the first is the default), lists brand, last 4 and expiry, switches the default, removes one', async () => {
      const buyer = await signUp();
      expect(await cards(buyer.headers)).toEqual([]);
      const expYear = new Date().getUTCFullYear() + 3;

      const visa = await addCard(buyer.headers, 'pm_card_visa').expect(201);
      expect(visa.body).toEqual({
        id: expect.any(String),
        brand: 'visa',
        last4: '4242',
        expMonth: 12,
        expYear,
        isDefault: true,
        createdAt: expect.any(String),
      });
      const mastercard = await addCard(buyer.headers, 'pm_card_mastercard').expect(201);
      expect(mastercard.body).toMatchObject({
        brand: 'mastercard',
        last4: '4444',
        isDefault: false,
      });

      const listed = await cards(buyer.headers);
      expect(listed.map((c: { id: string; isDefault: boolean }) => [c.id, c.isDefault])).toEqual([
        [visa.body.id, true],
        [mastercard.body.id, false],
      ]);
      expect(listed[1]).toMatchObject({
        brand: 'mastercard',
        last4: '4444',
        expMonth: 12,
        expYear,
      });

      const made = await api()
        .post(`/v1/billing/payment-methods/${mastercard.body.id}/default`)
        .set(buyer.headers)
        .expect(200);
      expect(made.body).toMatchObject({ id: mastercard.body.id, isDefault: true });
      expect(
        (await cards(buyer.headers)).map((c: { last4: string; isDefault: boolean }) => [
          c.last4,
          c.isDefault,
        ]),
      ).toEqual([
        ['4242', false],
        ['4444', true],
      ]);

      await api()
        .delete(`/v1/billing/payment-methods/${visa.body.id}`)
        .set(buyer.headers)
        .expect(204);
      expect(await cards(buyer.headers)).toEqual([
        expect.objectContaining({ id: mastercard.body.id, isDefault: true }),
      ]);
      const removed = await t.em().findOneOrFail(PaymentMethod, { id: visa.body.id });
      expect(removed.detachedAt).toBeInstanceOf(Date);
      const customer = await t.em().findOneOrFail(BillingCustomer, { tenantId: buyer.tenantId });
      expect(customer.defaultPaymentMethodId).toBe(mastercard.body.id);

      // Gone means gone: a second removal and making it the default are 404s.
      const again = await api()
        .delete(`/v1/billing/payment-methods/${visa.body.id}`)
        .set(buyer.headers);
      expectProblem(again, 404, 'payment_method_not_found');
      const makeGone = await api()
        .post(`/v1/billing/payment-methods/${visa.body.id}/default`)
        .set(buyer.headers);
      expectProblem(makeGone, 404, 'payment_method_not_found');
    });

    it('`makeDefault` on a later card makes it the default; removing the default promotes the newest other card', async () => {
      const buyer = await signUp();
      const visa = (await addCard(buyer.headers, 'pm_card_visa').expect(201)).body;
      const amex = (await addCard(buyer.headers, 'pm_card_amex', true).expect(201)).body;
      expect(amex).toMatchObject({ brand: 'amex', last4: '8431', isDefault: true });
      const debit = (await addCard(buyer.headers, 'pm_card_visa_debit').expect(201)).body;
      expect(debit.isDefault).toBe(false);

      await api().delete(`/v1/billing/payment-methods/${amex.id}`).set(buyer.headers).expect(204);
      const listed = await cards(buyer.headers);
      expect(listed.map((c: { id: string; isDefault: boolean }) => [c.id, c.isDefault])).toEqual([
        [visa.id, false],
        [debit.id, true],
      ]);
    });

    it('the only card cannot be removed while the subscription renews with it (409); after cancel-at-period-end it can', async () => {
      const buyer = await subscribedBuyer('2031-03-01');
      const [card] = await cards(buyer.headers);
      const refused = await api()
        .delete(`/v1/billing/payment-methods/${card.id}`)
        .set(buyer.headers);
      expect(expectProblem(refused, 409, 'payment_method_in_use').detail).toMatch(
        /only card.*add another card first, or cancel/,
      );
      expect(await cards(buyer.headers)).toEqual([expect.objectContaining({ id: card.id })]);
      expect(await liveCards(buyer.tenantId)).toBe(1);

      await api()
        .post('/v1/billing/subscription/cancel')
        .set(buyer.headers)
        .send({ reason: 'switched_service' })
        .expect(200);
      await api().delete(`/v1/billing/payment-methods/${card.id}`).set(buyer.headers).expect(204);
      expect(await cards(buyer.headers)).toEqual([]);
      const customer = await t.em().findOneOrFail(BillingCustomer, { tenantId: buyer.tenantId });
      expect(customer.defaultPaymentMethodId).toBeNull();
    });

    it('404s an unknown id and another organisation’s card; 400s an id that is not a UUID', async () => {
      const buyer = await signUp();
      await addCard(buyer.headers, 'pm_card_visa').expect(201);
      const other = await signUp();
      const theirs = (await addCard(other.headers, 'pm_card_mastercard').expect(201)).body;
      for (const id of [randomUUID(), theirs.id as string]) {
        expectProblem(
          await api().post(`/v1/billing/payment-methods/${id}/default`).set(buyer.headers),
          404,
          'payment_method_not_found',
        );
        const res = await api().delete(`/v1/billing/payment-methods/${id}`).set(buyer.headers);
        expect(expectProblem(res, 404, 'payment_method_not_found').detail).toBe(
          `No payment method ${id}.`,
        );
      }
      expect(await liveCards(other.tenantId)).toBe(1);
      const customer = await t.em().findOneOrFail(BillingCustomer, { tenantId: buyer.tenantId });
      expect(customer.defaultPaymentMethodId).not.toBe(theirs.id);
      const malformed = await api()
        .delete('/v1/billing/payment-methods/not-a-uuid')
        .set(buyer.headers);
      expect(expectProblem(malformed, 400, 'bad_request').detail).toMatch(/uuid/);
    });

    it('a payment method id the gateway does not know is a 422 with a clear message; nothing is saved', async () => {
      const buyer = await signUp();
      const res = await addCard(buyer.headers, 'pm_card_nope');
      const problem = expectProblem(res, 422, 'payment_method_invalid');
      expect(problem.detail).toMatch(/No such PaymentMethod: 'pm_card_nope'/);
      expect(problem.detail).toMatch(/pm_card_visa/);
      expect(await cards(buyer.headers)).toEqual([]);
      expect(await t.em().count(PaymentMethod, { tenantId: buyer.tenantId })).toBe(0);
    });

    it('a card token (`tok_visa`) or a missing id is a 400 validation problem', async () => {
      const buyer = await signUp();
      const token = await addCard(buyer.headers, 'tok_visa');
      const problem = expectProblem(token, 400, 'validation_failed');
      expect(erroredFields(problem)).toEqual(['paymentMethodId']);
      expect(problem.errors?.[0].message).toMatch(/pm_/);
      const missing = await api().post('/v1/billing/payment-methods').set(buyer.headers).send({});
      expect(erroredFields(expectProblem(missing, 400, 'validation_failed'))).toEqual([
        'paymentMethodId',
      ]);
      const notBoolean = await api()
        .post('/v1/billing/payment-methods')
        .set(buyer.headers)
        .send({ paymentMethodId: 'pm_card_visa', makeDefault: 'yes' });
      expect(erroredFields(expectProblem(notBoolean, 400, 'validation_failed'))).toEqual([
        'makeDefault',
      ]);
      expect(await t.em().count(PaymentMethod, { tenantId: buyer.tenantId })).toBe(0);
    });

    it('a setup intent returns a client secret for Stripe.js', async () => {
      const buyer = await signUp();
      const first = await api()
        .post('/v1/billing/payment-methods/setup-intent')
        .set(buyer.headers)
        .expect(201);
      expect(first.body).toEqual({
        id: expect.stringMatching(/^seti_/),
        clientSecret: expect.stringMatching(/^seti_\S+_secret_\S+$/),
      });
      expect(first.body.clientSecret.startsWith(`${first.body.id}_secret_`)).toBe(true);
      const second = await api()
        .post('/v1/billing/payment-methods/setup-intent')
        .set(buyer.headers)
        .expect(201);
      expect(second.body.id).not.toBe(first.body.id);
    });
  });

  describe('invoices', () => {
    it('lists newest first with limit and cursor; one invoice has its lines; another organisation’s is a 404', async () => {
      const buyer = await subscribedBuyer('2031-01-01', 2);
      for (const day of ['2031-02-01', '2031-03-01', '2031-04-01']) {
        const renewed = await advance(buyer.tenantId, day);
        expect(renewed.renewals).toEqual([expect.objectContaining({ payment: 'paid' })]);
      }

      const page1 = await api()
        .get('/v1/billing/invoices')
        .query({ limit: 3 })
        .set(buyer.headers)
        .expect(200);
      expect(page1.body.items).toHaveLength(3);
      expect(page1.body.nextCursor).toBe(page1.body.items[2].id);
      const page2 = await api()
        .get('/v1/billing/invoices')
        .query({ limit: 3, cursor: page1.body.nextCursor })
        .set(buyer.headers)
        .expect(200);
      expect(page2.body).toMatchObject({ nextCursor: null });
      const all = [...page1.body.items, ...page2.body.items];
      expect(
        all.map((i: { periodStart: string; reason: string; total: number; status: string }) => [
          i.periodStart,
          i.reason,
          i.total,
          i.status,
        ]),
      ).toEqual([
        [iso('2031-04-01'), 'subscription_cycle', 2400, 'paid'],
        [iso('2031-03-01'), 'subscription_cycle', 2400, 'paid'],
        [iso('2031-02-01'), 'subscription_cycle', 2400, 'paid'],
        [iso('2031-01-01'), 'subscription_create', 2400, 'paid'],
      ]);
      const numbers = all.map((i: { number: string }) => Number(i.number.replace(/^GW-/, '')));
      expect(numbers).toEqual([...numbers].sort((a, b) => b - a));
      const whole = await api().get('/v1/billing/invoices').set(buyer.headers).expect(200);
      expect(whole.body).toMatchObject({ nextCursor: null });
      expect(whole.body.items.map((i: { id: string }) => i.id)).toEqual(
        all.map((i: { id: string }) => i.id),
      );

      const one = await api()
        .get(`/v1/billing/invoices/${all[2].id}`)
        .set(buyer.headers)
        .expect(200);
      expect(one.body).toMatchObject({
        id: all[2].id,
        number: expect.stringMatching(/^GW-\d{6}$/),
        status: 'paid',
        currency: 'usd',
        subtotal: 2400,
        total: 2400,
        amountDue: 2400,
        amountPaid: 2400,
        attemptCount: 1,
        periodStart: iso('2031-02-01'),
        periodEnd: iso('2031-03-01'),
        paidAt: iso('2031-02-01'),
      });
      expect(one.body.lines).toEqual([
        {
          kind: 'plan',
          description: 'Starter × 2 seats (monthly), 1 Feb 2031 – 1 Mar 2031',
          quantity: 2,
          unitAmount: 1200,
          amount: 2400,
          periodStart: iso('2031-02-01'),
          periodEnd: iso('2031-03-01'),
        },
      ]);

      for (const query of [{ limit: 0 }, { limit: 101 }, { cursor: 'nope' }]) {
        const res = await api().get('/v1/billing/invoices').query(query).set(buyer.headers);
        expectProblem(res, 400, 'validation_failed');
      }

      const other = await signUp();
      expect((await api().get('/v1/billing/invoices').set(other.headers).expect(200)).body).toEqual(
        { items: [], nextCursor: null },
      );
      for (const id of [all[0].id as string, randomUUID()]) {
        const res = await api().get(`/v1/billing/invoices/${id}`).set(other.headers);
        expect(expectProblem(res, 404, 'invoice_not_found').detail).toBe(`No invoice ${id}.`);
        expectProblem(
          await api().post(`/v1/billing/invoices/${id}/pay`).set(other.headers),
          404,
          'invoice_not_found',
        );
      }
    });
    // Each renewal of a multi-period jump is paid at its own period start.
    it('a test clock moved over several periods stamps each renewal paid at its own period start', async () => {
      const buyer = await subscribedBuyer('2031-01-01');
      const renewed = await advance(buyer.tenantId, '2031-04-01');
      expect(renewed.renewals).toHaveLength(3);
      const items = (await api().get('/v1/billing/invoices').set(buyer.headers).expect(200)).body
        .items;
      for (const invoice of items) {
        expect({ id: invoice.id, paidAt: invoice.paidAt }).toEqual({
          id: invoice.id,
          paidAt: invoice.periodStart,
        });
      }
    });
  });

  describe('pay now', () => {
    it('a declined renewal leaves the subscription past due; a new good default card settles it at once and it is active again', async () => {
      const buyer = await pastDueBuyer();
      const open = await api()
        .get(`/v1/billing/invoices/${buyer.invoiceId}`)
        .set(buyer.headers)
        .expect(200);
      expect(open.body).toMatchObject({
        status: 'open',
        reason: 'subscription_cycle',
        amountDue: 1200,
        amountPaid: 0,
        attemptCount: 1,
        paidAt: null,
      });
      expect((await overview(buyer.headers)).subscription.status).toBe('past_due');

      // Paying with the same declining card: 402, the invoice stays open.
      const declined = await api()
        .post(`/v1/billing/invoices/${buyer.invoiceId}/pay`)
        .set(buyer.headers);
      expect(expectProblem(declined, 402, 'payment_declined')).toMatchObject({
        category: 'insufficient_funds',
        declineCode: 'insufficient_funds',
        detail: expect.stringMatching(/^The payment was declined/),
      });
      const stillOpen = await t.em().findOneOrFail(Invoice, { id: buyer.invoiceId });
      expect(stillOpen).toMatchObject({ status: 'open', attemptCount: 2 });

      // A new default card pays the open invoice at once (payment recovery).
      const good = await addCard(buyer.headers, 'pm_card_mastercard', true).expect(201);
      expect(good.body.isDefault).toBe(true);
      const paid = await api()
        .get(`/v1/billing/invoices/${buyer.invoiceId}`)
        .set(buyer.headers)
        .expect(200);
      expect(paid.body).toMatchObject({
        id: buyer.invoiceId,
        status: 'paid',
        amountDue: 1200,
        amountPaid: 1200,
        attemptCount: 3,
        paidAt: iso('2031-04-01'),
      });
      expect(await overview(buyer.headers)).toMatchObject({
        subscription: { status: 'active', currentPeriodEnd: iso('2031-05-01') },
        entitlements: { planCode: 'starter' },
      });
      expect(charges(buyer.tenantId)).toEqual([1200, 1200, 1200, 1200]);
      const [last] = gateway()
        .chargeLog.filter((c) => c.metadata.tenant_id === buyer.tenantId)
        .slice(-1);
      expect(last.idempotencyKey).toBe(`invoice:${buyer.invoiceId}:attempt:3`);

      // A paid invoice cannot be paid again; nothing is charged.
      const twice = await api()
        .post(`/v1/billing/invoices/${buyer.invoiceId}/pay`)
        .set(buyer.headers);
      expect(expectProblem(twice, 409, 'invoice_not_payable').detail).toMatch(/is paid/);
      expect(charges(buyer.tenantId)).toHaveLength(4);
    });
  });

  describe('cancel and resume', () => {
    it('cancels at period end with a reason, resumes; resuming what is not cancelling is a 409', async () => {
      const buyer = await subscribedBuyer('2031-03-01');
      const notCancelling = await api().post('/v1/billing/subscription/resume').set(buyer.headers);
      expect(expectProblem(notCancelling, 409, 'subscription_no_change').detail).toMatch(
        /not set to cancel/,
      );

      await advance(buyer.tenantId, '2031-03-10');
      const cancelled = await api()
        .post('/v1/billing/subscription/cancel')
        .set(buyer.headers)
        .send({ reason: 'missing_features', comment: 'No SSO' })
        .expect(200);
      expect(cancelled.body).toMatchObject({
        status: 'active',
        cancelAtPeriodEnd: true,
        cancelReason: 'missing_features',
        canceledAt: iso('2031-03-10'),
        currentPeriodEnd: iso('2031-04-01'),
        endedAt: null,
      });

      const resumed = await api()
        .post('/v1/billing/subscription/resume')
        .set(buyer.headers)
        .expect(200);
      expect(resumed.body).toMatchObject({
        status: 'active',
        cancelAtPeriodEnd: false,
        cancelReason: null,
        canceledAt: null,
      });
      const row = await t.em().findOneOrFail(Subscription, { tenantId: buyer.tenantId });
      expect(row.cancelComment).toBeNull();
      expectProblem(
        await api().post('/v1/billing/subscription/resume').set(buyer.headers),
        409,
        'subscription_no_change',
      );

      const badReason = await api()
        .post('/v1/billing/subscription/cancel')
        .set(buyer.headers)
        .send({ reason: 'bored' });
      expect(erroredFields(expectProblem(badReason, 400, 'validation_failed'))).toEqual(['reason']);
      expect((await overview(buyer.headers)).subscription.cancelAtPeriodEnd).toBe(false);

      // Resumed, it renews as usual.
      const renewed = await advance(buyer.tenantId, '2031-04-01');
      expect(renewed.renewals).toEqual([
        expect.objectContaining({ result: 'renewed', payment: 'paid' }),
      ]);
    });

    it('404s cancel and resume without a subscription', async () => {
      const buyer = await signUp();
      for (const path of ['cancel', 'resume']) {
        const res = await api()
          .post(`/v1/billing/subscription/${path}`)
          .set(buyer.headers)
          .send({ reason: 'unused' });
        expectProblem(res, 404, 'subscription_not_found');
      }
    });
  });

  describe('admin immediate cancel', () => {
    it('ends the subscription now, voids its open invoices and writes a platform audit row', async () => {
      const buyer = await pastDueBuyer();
      await advance(buyer.tenantId, '2031-04-05');
      const res = await api()
        .post(`/v1/admin/billing/tenants/${buyer.tenantId}/subscription/cancel`)
        .set(staff.headers)
        .send({ reason: 'Contract ended' })
        .expect(200);
      expect(res.body).toMatchObject({
        status: 'canceled',
        canceledAt: iso('2031-04-05'),
        endedAt: iso('2031-04-05'),
        cancelReason: 'other',
      });

      const row = await t.em().findOneOrFail(Subscription, { tenantId: buyer.tenantId });
      expect(row).toMatchObject({ status: 'canceled', cancelComment: 'Contract ended' });
      const rows = await t
        .em()
        .find(Invoice, { tenantId: buyer.tenantId }, { orderBy: { createdAt: 'asc' } });
      expect(rows.map((i) => [i.reason, i.status])).toEqual([
        ['subscription_create', 'paid'],
        ['subscription_cycle', 'void'],
      ]);
      expect(rows[1].voidedAt).toEqual(new Date(iso('2031-04-05')));
      expect(await overview(buyer.headers)).toMatchObject({
        subscription: null,
        entitlements: { planCode: 'free' },
      });
      const audit = await t.em().find(PlatformAuditEvent, {
        tenantId: buyer.tenantId,
        action: 'billing.subscription.canceled_by_staff',
      });
      expect(audit).toHaveLength(1);
      expect(audit[0]).toMatchObject({
        actorType: 'platform_staff',
        actorId: staff.user.id,
        data: { subscriptionId: row.id, reason: 'Contract ended', voidedInvoices: 1 },
      });
      expect(audit[0].requestId).toBe(res.headers['x-request-id']);

      // The voided invoice cannot be paid; a second cancel finds nothing to end.
      expectProblem(
        await api().post(`/v1/billing/invoices/${buyer.invoiceId}/pay`).set(buyer.headers),
        409,
        'invoice_not_payable',
      );
      const again = await api()
        .post(`/v1/admin/billing/tenants/${buyer.tenantId}/subscription/cancel`)
        .set(staff.headers)
        .send({ reason: 'Contract ended' });
      expectProblem(again, 404, 'subscription_not_found');
    });

    it('404s an unknown tenant, 400s a missing reason, 403s anyone who is not platform staff', async () => {
      const buyer = await subscribedBuyer('2031-03-01');
      const unknown = await api()
        .post(`/v1/admin/billing/tenants/${randomUUID()}/subscription/cancel`)
        .set(staff.headers)
        .send({ reason: 'x' });
      expectProblem(unknown, 404, 'subscription_not_found');
      const noReason = await api()
        .post(`/v1/admin/billing/tenants/${buyer.tenantId}/subscription/cancel`)
        .set(staff.headers)
        .send({});
      expect(erroredFields(expectProblem(noReason, 400, 'validation_failed'))).toEqual(['reason']);
      const support = await createUser(t.app, { platformRole: PlatformRole.Support });
      for (const headers of [buyer.headers, support.headers]) {
        const res = await api()
          .post(`/v1/admin/billing/tenants/${buyer.tenantId}/subscription/cancel`)
          .set(headers)
          .send({ reason: 'I am the customer' });
        expectProblem(res, 403, 'forbidden');
      }
      expect((await overview(buyer.headers)).subscription.status).toBe('active');
      expect(
        await t.em().count(PlatformAuditEvent, {
          tenantId: buyer.tenantId,
          action: 'billing.subscription.canceled_by_staff',
        }),
      ).toBe(0);
    });
  });

  describe('tenant roles', () => {
    const tenantOf = (tenantId: string) => t.em().findOneOrFail(Tenant, { id: tenantId });

    it('a member reads the overview but is refused (403) buying, changing, cards and invoices', async () => {
      const buyer = await subscribedBuyer('2031-03-01', 2);
      const member = await createUser(t.app, {
        tenant: await tenantOf(buyer.tenantId),
        role: TenantRole.Member,
      });
      const [card] = await cards(buyer.headers);
      const [invoice] = (await api().get('/v1/billing/invoices').set(buyer.headers).expect(200))
        .body.items;

      expect(await overview(member.headers)).toMatchObject({
        subscription: { plan: { code: 'starter' }, quantity: 2 },
        entitlements: { planCode: 'starter' },
      });
      const refused = [
        api().post('/v1/billing/subscription').send({ priceId: PRO_MONTH, quantity: 2 }),
        api().post('/v1/billing/subscription/change').send({ priceId: PRO_MONTH }),
        api().post('/v1/billing/subscription/cancel').send({ reason: 'unused' }),
        api().post('/v1/billing/subscription/resume'),
        api().get('/v1/billing/payment-methods'),
        api().post('/v1/billing/payment-methods').send({ paymentMethodId: 'pm_card_visa' }),
        api().post('/v1/billing/payment-methods/setup-intent'),
        api().post(`/v1/billing/payment-methods/${card.id}/default`),
        api().delete(`/v1/billing/payment-methods/${card.id}`),
        api().get('/v1/billing/invoices'),
        api().get(`/v1/billing/invoices/${invoice.id}`),
        api().post(`/v1/billing/invoices/${invoice.id}/pay`),
      ];
      for (const req of refused) {
        const res = await req.set(member.headers);
        expect(expectProblem(res, 403, 'forbidden').detail.length).toBeGreaterThan(0);
      }
      expect(await overview(buyer.headers)).toMatchObject({
        subscription: { plan: { code: 'starter' }, quantity: 2, cancelAtPeriodEnd: false },
      });
      expect(await liveCards(buyer.tenantId)).toBe(1);
      expect(await t.em().count(Invoice, { tenantId: buyer.tenantId })).toBe(1);
    });

    it('a billing manager can do all of it', async () => {
      const owner = await signUp();
      await advance(owner.tenantId, '2031-03-01');
      const manager = await createUser(t.app, {
        tenant: await tenantOf(owner.tenantId),
        role: TenantRole.BillingManager,
      });
      const h = manager.headers;
      await api().post('/v1/billing/payment-methods/setup-intent').set(h).expect(201);
      const visa = (await addCard(h, 'pm_card_visa').expect(201)).body;
      const amex = (await addCard(h, 'pm_card_amex').expect(201)).body;
      await api().post(`/v1/billing/payment-methods/${amex.id}/default`).set(h).expect(200);
      await api().delete(`/v1/billing/payment-methods/${visa.id}`).set(h).expect(204);
      expect(await cards(h)).toEqual([expect.objectContaining({ id: amex.id, isDefault: true })]);

      // Owner and manager: 2 seats in use.
      await subscribe(h, STARTER_MONTH, 2).expect(201);
      await advance(owner.tenantId, '2031-03-21');
      // 11 of 31 days left: −round(2400 × 11/31 = 851.61) + round(5800 × 11/31 = 2058.06) = 1206.
      const preview = await api()
        .post('/v1/billing/subscription/preview-change')
        .set(h)
        .send({ priceId: PRO_MONTH })
        .expect(200);
      expect(preview.body.amountDueNow).toBe(1206);
      const changed = await api()
        .post('/v1/billing/subscription/change')
        .set(h)
        .send({ priceId: PRO_MONTH })
        .expect(200);
      expect(changed.body.invoice).toMatchObject({ status: 'paid', amountDue: 1206 });
      const listed = await api().get('/v1/billing/invoices').set(h).expect(200);
      expect(listed.body.items.map((i: { total: number }) => i.total)).toEqual([1206, 2400]);
      await api().get(`/v1/billing/invoices/${listed.body.items[0].id}`).set(h).expect(200);
      await api()
        .post('/v1/billing/subscription/cancel')
        .set(h)
        .send({ reason: 'too_expensive' })
        .expect(200);
      await api().post('/v1/billing/subscription/resume').set(h).expect(200);
      expect(await overview(h)).toMatchObject({
        subscription: { plan: { code: 'pro' }, status: 'active', cancelAtPeriodEnd: false },
      });
      expect(charges(owner.tenantId)).toEqual([2400, 1206]);
    });
  });

  describe('test clock', () => {
    it('refuses to move backwards (422), 404s an unknown tenant, 403s anyone who is not platform staff', async () => {
      const buyer = await signUp();
      await advance(buyer.tenantId, '2031-03-01');
      const back = await api()
        .post(`/v1/admin/billing/test-clocks/${buyer.tenantId}/advance`)
        .set(staff.headers)
        .send({ to: iso('2031-02-01') });
      expect(expectProblem(back, 422, 'test_clock_backwards')).toMatchObject({
        current: iso('2031-03-01'),
        detail: expect.stringMatching(/only moves forward/),
      });
      const clock = await api()
        .get(`/v1/admin/billing/test-clocks/${buyer.tenantId}`)
        .set(staff.headers)
        .expect(200);
      expect(clock.body).toMatchObject({ frozenTime: iso('2031-03-01'), subscription: null });
      expect(
        await t.em().count(PlatformAuditEvent, {
          tenantId: buyer.tenantId,
          action: 'billing.test_clock.advanced',
        }),
      ).toBe(1);

      const unknown = randomUUID();
      for (const req of [
        api().post(`/v1/admin/billing/test-clocks/${unknown}/advance`).send({ days: 1 }),
        api().get(`/v1/admin/billing/test-clocks/${unknown}`),
      ]) {
        const res = await req.set(staff.headers);
        expect(expectProblem(res, 404, 'tenant_not_found').detail).toBe(
          `No organisation ${unknown}.`,
        );
      }
      expect(await t.em().count(BillingCustomer, { tenantId: unknown })).toBe(0);

      const support = await createUser(t.app, { platformRole: PlatformRole.Support });
      for (const headers of [buyer.headers, support.headers]) {
        const res = await api()
          .post(`/v1/admin/billing/test-clocks/${buyer.tenantId}/advance`)
          .set(headers)
          .send({ days: 30 });
        expectProblem(res, 403, 'forbidden');
      }
      expectProblem(
        await api().get(`/v1/admin/billing/test-clocks/${buyer.tenantId}`).set(buyer.headers),
        403,
        'forbidden',
      );
      // Support staff may look, not move.
      await api()
        .get(`/v1/admin/billing/test-clocks/${buyer.tenantId}`)
        .set(support.headers)
        .expect(200);
      const neither = await api()
        .post(`/v1/admin/billing/test-clocks/${buyer.tenantId}/advance`)
        .set(staff.headers)
        .send({});
      expectProblem(neither, 400, 'validation_failed');
      const customer = await t.em().findOneOrFail(BillingCustomer, { tenantId: buyer.tenantId });
      expect(customer.testClockAt).toEqual(new Date(iso('2031-03-01')));
    });
  });
});
