import { randomUUID } from 'node:crypto';
import { PlatformRole } from '../../src/access/roles';
import { BillingCustomer } from '../../src/billing/entities/billing-customer.entity';
import { Invoice, InvoiceLine } from '../../src/billing/entities/invoice.entity';
import { AttemptStatus, PaymentAttempt } from '../../src/billing/entities/payment-attempt.entity';
import { Subscription } from '../../src/billing/entities/subscription.entity';
import { createUser, uniqueEmail, type Actor } from '../support/factories';
import { erroredFields, expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';
import { billingClient, type Body, type Buyer, type Headers, iso, PRICES } from './billing-helpers';

const { STARTER_MONTH, STARTER_YEAR, STARTER_EUR_MONTH, PRO_MONTH, PRO_YEAR, ENTERPRISE_MONTH } =
  PRICES;
interface LineBody {
  kind: string;
  amount: number;
  description: string;
  periodStart: string;
  periodEnd: string;
}

/**
 * Plan and seat changes through HTTP on the simulated gateway. Billing time is
 * pinned with the admin test clock on whole UTC days, so every proration below
 * is "amount × days left / days in the period", rounded half up, worked out by
 * hand in the comments and written as literal cents.
 */
describe('subscription changes', () => {
  let t: TestApp;
  let staff: Actor;

  beforeAll(async () => {
    t = await bootTestApp();
    staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
  });
  afterAll(() => t.close());

  const client = billingClient(
    () => t,
    () => staff,
  );
  const { api, gateway, charges, signUp, advance, overview } = client;
  const addCard = async (
    headers: Headers,
    paymentMethodId: string,
    makeDefault = false,
  ): Promise<Body> => {
    const res = await client.addCard(headers, paymentMethodId, makeDefault).expect(201);
    return res.body;
  };

  const preview = (headers: Headers, body: object) =>
    api().post('/v1/billing/subscription/preview-change').set(headers).send(body);
  const change = (headers: Headers, body: object) =>
    api().post('/v1/billing/subscription/change').set(headers).send(body);
  const invoice = async (headers: Headers, id: string): Promise<Body> =>
    (await api().get(`/v1/billing/invoices/${id}`).set(headers).expect(200)).body;
  const invoices = async (headers: Headers): Promise<Body[]> =>
    (await api().get('/v1/billing/invoices').set(headers).expect(200)).body.items as Body[];

  /** `kind amount` per line, sorted: swept pending lines are older than the plan line. */
  const summary = (body: { lines: LineBody[] }) =>
    body.lines.map((line) => `${line.kind} ${line.amount}`).sort();
  const kindsAndAmounts = (lines: LineBody[]) => lines.map((line) => [line.kind, line.amount]);

  const pendingLines = (tenantId: string) =>
    t
      .em()
      .find(InvoiceLine, { tenantId, invoice: null }, { orderBy: { createdAt: 'asc', id: 'asc' } });

  /** Signs up, pins billing time at `day`, saves a Visa and subscribes (paid at once). */
  async function subscribedBuyer(day: string, priceId: string, quantity: number): Promise<Buyer> {
    const buyer = await signUp();
    await advance(buyer.tenantId, day);
    await addCard(buyer.headers, 'pm_card_visa');
    const res = await api()
      .post('/v1/billing/subscription')
      .set(buyer.headers)
      .send({ priceId, quantity })
      .expect(201);
    expect(res.body.subscription.status).toBe('active');
    expect(res.body.invoice.status).toBe('paid');
    return buyer;
  }

  describe('upgrade mid-period', () => {
    it('credits unused Starter time, debits Pro for the rest of the period, charges the difference now', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 3);
      await advance(buyer.tenantId, '2031-03-21');
      // 11 of March's 31 days left.
      // Credit: Starter 3 × 1200 = 3600 × 11/31 = 1277.42 → −1277.
      // Debit:  Pro     3 × 2900 = 8700 × 11/31 = 3087.10 → 3087.   Net 1810.
      const preview1 = await preview(buyer.headers, { priceId: PRO_MONTH }).expect(200);
      expect(preview1.body).toMatchObject({
        direction: 'upgrade',
        timing: 'now',
        effectiveAt: iso('2031-03-21'),
        amountDueNow: 1810,
        creditToNextInvoice: 0,
        currency: 'usd',
        currentPeriodEnd: iso('2031-04-01'),
      });
      expect(kindsAndAmounts(preview1.body.lines)).toEqual([
        ['proration_credit', -1277],
        ['proration_debit', 3087],
      ]);

      const res = await change(buyer.headers, { priceId: PRO_MONTH }).expect(200);
      expect(res.body.subscription).toMatchObject({
        status: 'active',
        plan: { code: 'pro' },
        priceId: PRO_MONTH,
        quantity: 3,
        interval: 'month',
        currentPeriodStart: iso('2031-03-01'),
        currentPeriodEnd: iso('2031-04-01'),
        pendingChange: null,
      });
      expect(res.body.payment.status).toBe('succeeded');
      expect(res.body.invoice).toMatchObject({
        status: 'paid',
        reason: 'subscription_update',
        subtotal: 1810,
        total: 1810,
        creditApplied: 0,
        amountDue: 1810,
        amountPaid: 1810,
        periodStart: iso('2031-03-21'),
        periodEnd: iso('2031-04-01'),
      });
      expect(res.body.invoice.lines).toEqual([
        expect.objectContaining({
          kind: 'proration_credit',
          amount: -1277,
          quantity: 3,
          unitAmount: 1200,
          description: 'Unused time on Starter × 3 seats (monthly) from 21 Mar 2031 to 1 Apr 2031',
        }),
        expect.objectContaining({
          kind: 'proration_debit',
          amount: 3087,
          quantity: 3,
          unitAmount: 2900,
          description: 'Remaining time on Pro × 3 seats (monthly) from 21 Mar 2031 to 1 Apr 2031',
        }),
      ]);
      expect(charges(buyer.tenantId)).toEqual([3600, 1810]);
      const after = await overview(buyer.headers);
      expect(after).toMatchObject({
        creditBalance: 0,
        entitlements: { planCode: 'pro', seatLimit: 3 },
      });

      // The next renewal is the full Pro price, with nothing left over from the change.
      const renewed = await advance(buyer.tenantId, '2031-04-01');
      expect(renewed.renewals).toEqual([
        expect.objectContaining({ result: 'renewed', payment: 'paid' }),
      ]);
      const cycle = await invoice(buyer.headers, renewed.renewals[0].invoiceId);
      expect(summary(cycle)).toEqual(['plan 8700']);
      expect(cycle).toMatchObject({ total: 8700, amountDue: 8700, status: 'paid' });
      expect(charges(buyer.tenantId)).toEqual([3600, 1810, 8700]);
    });
  });

  describe('downgrade mid-period', () => {
    it('charges nothing now; the next renewal carries the plan line plus the proration credit and debit', async () => {
      const buyer = await subscribedBuyer('2031-03-01', PRO_MONTH, 2);
      await advance(buyer.tenantId, '2031-03-11');
      // 21 of 31 days left.
      // Credit: Pro     2 × 2900 = 5800 × 21/31 = 3929.03 → −3929.
      // Debit:  Starter 2 × 1200 = 2400 × 21/31 = 1625.81 → 1626.   Net −2303.
      const preview1 = await preview(buyer.headers, { priceId: STARTER_MONTH }).expect(200);
      expect(preview1.body).toMatchObject({
        direction: 'downgrade',
        timing: 'now',
        effectiveAt: iso('2031-03-11'),
        amountDueNow: 0,
        creditToNextInvoice: 2303,
        currentPeriodEnd: iso('2031-04-01'),
      });
      expect(kindsAndAmounts(preview1.body.lines)).toEqual([
        ['proration_credit', -3929],
        ['proration_debit', 1626],
      ]);

      const res = await change(buyer.headers, { priceId: STARTER_MONTH }).expect(200);
      expect(res.body.invoice).toBeNull();
      expect(res.body.payment).toEqual({ status: 'none', paymentId: null, clientSecret: null });
      expect(res.body.subscription).toMatchObject({
        plan: { code: 'starter' },
        priceId: STARTER_MONTH,
        quantity: 2,
        currentPeriodStart: iso('2031-03-01'),
        currentPeriodEnd: iso('2031-04-01'),
      });
      expect(charges(buyer.tenantId)).toEqual([5800]);
      expect(await t.em().count(Invoice, { tenantId: buyer.tenantId })).toBe(1);
      const pending = await pendingLines(buyer.tenantId);
      expect(pending.map((line) => [line.kind, line.amount])).toEqual([
        ['proration_credit', -3929],
        ['proration_debit', 1626],
      ]);
      // The credit waits on the next invoice; it is not account credit yet.
      expect(await overview(buyer.headers)).toMatchObject({
        creditBalance: 0,
        entitlements: { planCode: 'starter' },
      });

      const renewed = await advance(buyer.tenantId, '2031-04-01');
      expect(renewed.renewals).toEqual([
        expect.objectContaining({ result: 'renewed', payment: 'paid' }),
      ]);
      const cycle = await invoice(buyer.headers, renewed.renewals[0].invoiceId);
      // 2400 − 3929 + 1626 = 97.
      expect(summary(cycle)).toEqual([
        'plan 2400',
        'proration_credit -3929',
        'proration_debit 1626',
      ]);
      expect(cycle).toMatchObject({
        reason: 'subscription_cycle',
        status: 'paid',
        subtotal: 97,
        total: 97,
        creditApplied: 0,
        amountDue: 97,
        amountPaid: 97,
        periodStart: iso('2031-04-01'),
        periodEnd: iso('2031-05-01'),
      });
      expect(cycle.lines).toEqual(
        expect.arrayContaining([
          expect.objectContaining({
            kind: 'proration_credit',
            description: 'Unused time on Pro × 2 seats (monthly) from 11 Mar 2031 to 1 Apr 2031',
          }),
          expect.objectContaining({
            kind: 'plan',
            description: 'Starter × 2 seats (monthly), 1 Apr 2031 – 1 May 2031',
          }),
        ]),
      );
      expect(charges(buyer.tenantId)).toEqual([5800, 97]);
      expect(await pendingLines(buyer.tenantId)).toHaveLength(0);
    });

    it('when the credit exceeds the charges, the invoice is 0 due and the excess becomes account credit used by the next invoice', async () => {
      const buyer = await subscribedBuyer('2031-03-01', PRO_MONTH, 10);
      await advance(buyer.tenantId, '2031-03-02');
      // 30 of 31 days left.
      // Credit: Pro     10 × 2900 = 29000 × 30/31 = 28064.52 → −28065.
      // Debit:  Starter  2 × 1200 =  2400 × 30/31 =  2322.58 → 2323.   Net −25742.
      const preview1 = await preview(buyer.headers, {
        priceId: STARTER_MONTH,
        quantity: 2,
      }).expect(200);
      expect(preview1.body).toMatchObject({ amountDueNow: 0, creditToNextInvoice: 25742 });
      await change(buyer.headers, { priceId: STARTER_MONTH, quantity: 2 }).expect(200);
      expect(charges(buyer.tenantId)).toEqual([29000]);

      // April: 2400 − 28065 + 2323 = −23342: nothing due, 23342 owed to the customer.
      const april = await advance(buyer.tenantId, '2031-04-01');
      expect(april.renewals).toEqual([
        expect.objectContaining({ result: 'renewed', payment: 'nothing_due' }),
      ]);
      const aprilInvoice = await invoice(buyer.headers, april.renewals[0].invoiceId);
      expect(summary(aprilInvoice)).toEqual([
        'plan 2400',
        'proration_credit -28065',
        'proration_debit 2323',
      ]);
      expect(aprilInvoice).toMatchObject({
        status: 'paid',
        subtotal: -23342,
        total: -23342,
        creditApplied: 0,
        amountDue: 0,
        amountPaid: 0,
      });
      expect(await overview(buyer.headers)).toMatchObject({
        creditBalance: 23342,
        subscription: { status: 'active', plan: { code: 'starter' }, quantity: 2 },
      });

      // May: the 2400 plan line is paid from the credit; 20942 is left.
      const may = await advance(buyer.tenantId, '2031-05-01');
      const mayInvoice = await invoice(buyer.headers, may.renewals[0].invoiceId);
      expect(summary(mayInvoice)).toEqual(['plan 2400']);
      expect(mayInvoice).toMatchObject({
        status: 'paid',
        total: 2400,
        creditApplied: 2400,
        amountDue: 0,
      });
      expect((await overview(buyer.headers)).creditBalance).toBe(20942);
      expect(charges(buyer.tenantId)).toEqual([29000]);
      expect(await t.em().count(PaymentAttempt, { tenantId: buyer.tenantId })).toBe(1);
    });
  });

  describe('seats', () => {
    it('a seat increase is charged now; a seat decrease is credited to the next invoice', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 2);
      await advance(buyer.tenantId, '2031-03-16');
      // 16 of 31 days left.
      // Credit: 2 seats = 2400 × 16/31 = 1238.71 → −1239.
      // Debit:  5 seats = 6000 × 16/31 = 3096.77 → 3097.   Net 1858.
      const up = await change(buyer.headers, { quantity: 5 }).expect(200);
      expect(kindsAndAmounts(up.body.invoice.lines)).toEqual([
        ['proration_credit', -1239],
        ['proration_debit', 3097],
      ]);
      expect(up.body.invoice).toMatchObject({ status: 'paid', total: 1858, amountDue: 1858 });
      expect(up.body.subscription).toMatchObject({ quantity: 5, priceId: STARTER_MONTH });
      expect(charges(buyer.tenantId)).toEqual([2400, 1858]);
      expect((await overview(buyer.headers)).entitlements.seatLimit).toBe(5);

      await advance(buyer.tenantId, '2031-03-26');
      // 6 of 31 days left.
      // Credit: 5 seats = 6000 × 6/31 = 1161.29 → −1161.
      // Debit:  3 seats = 3600 × 6/31 =  696.77 → 697.   Net −464.
      const previewDown = await preview(buyer.headers, { quantity: 3 }).expect(200);
      expect(previewDown.body).toMatchObject({
        direction: 'downgrade',
        timing: 'now',
        amountDueNow: 0,
        creditToNextInvoice: 464,
      });
      const down = await change(buyer.headers, { quantity: 3 }).expect(200);
      expect(down.body.invoice).toBeNull();
      expect(down.body.subscription.quantity).toBe(3);
      expect(charges(buyer.tenantId)).toEqual([2400, 1858]);

      // April: 3600 − 1161 + 697 = 3136.
      const april = await advance(buyer.tenantId, '2031-04-01');
      const cycle = await invoice(buyer.headers, april.renewals[0].invoiceId);
      expect(summary(cycle)).toEqual([
        'plan 3600',
        'proration_credit -1161',
        'proration_debit 697',
      ]);
      expect(cycle).toMatchObject({ status: 'paid', total: 3136, amountDue: 3136 });
      expect(charges(buyer.tenantId)).toEqual([2400, 1858, 3136]);
    });

    it('refuses fewer seats than members plus open invitations (409 seats_below_members)', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 4);
      for (const email of [uniqueEmail('invitee'), uniqueEmail('invitee')]) {
        await api()
          .post('/v1/tenant/invitations')
          .set(buyer.headers)
          .send({ email, role: 'member' })
          .expect(201);
      }
      // The owner and two open invitations: 3 seats in use.
      for (const call of [preview, change]) {
        const res = await call(buyer.headers, { quantity: 2 });
        const problem = expectProblem(res, 409, 'seats_below_members');
        expect(problem.seatsInUse).toBe(3);
        expect(problem.detail).toMatch(/3 seats are in use/);
      }
      expect((await overview(buyer.headers)).subscription.quantity).toBe(4);
      expect(await t.em().count(Invoice, { tenantId: buyer.tenantId })).toBe(1);
      expect(await pendingLines(buyer.tenantId)).toHaveLength(0);
      expect(charges(buyer.tenantId)).toEqual([4800]);
      // Exactly the seats in use is fine.
      await preview(buyer.headers, { quantity: 3 }).expect(200);
    });

    it('refuses more seats than the plan allows (422 seats_out_of_range), and out-of-range numbers (400)', async () => {
      const buyer = await signUp();
      await advance(buyer.tenantId, '2031-03-01');
      await addCard(buyer.headers, 'pm_card_visa');
      const tooMany = await api()
        .post('/v1/billing/subscription')
        .set(buyer.headers)
        .send({ priceId: STARTER_MONTH, quantity: 26 });
      expect(expectProblem(tooMany, 422, 'seats_out_of_range')).toMatchObject({
        seatLimit: 25,
        detail: expect.stringMatching(/Starter allows up to 25 seats/),
      });
      expect(await t.em().count(Subscription, { tenantId: buyer.tenantId })).toBe(0);
      expect(await t.em().count(Invoice, { tenantId: buyer.tenantId })).toBe(0);

      await api()
        .post('/v1/billing/subscription')
        .set(buyer.headers)
        .send({ priceId: STARTER_MONTH, quantity: 2 })
        .expect(201);
      for (const call of [preview, change]) {
        const res = await call(buyer.headers, { quantity: 26 });
        expect(expectProblem(res, 422, 'seats_out_of_range').seatLimit).toBe(25);
      }
      for (const quantity of [0, 10_001, 2.5]) {
        const res = await change(buyer.headers, { quantity });
        expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual(['quantity']);
      }
      expect((await overview(buyer.headers)).subscription.quantity).toBe(2);
      expect(await t.em().count(Invoice, { tenantId: buyer.tenantId })).toBe(1);

      // A plan change keeps the seats, so Pro × 30 cannot move to Starter (25 at most).
      const pro = await subscribedBuyer('2031-03-01', PRO_MONTH, 30);
      const res = await change(pro.headers, { priceId: STARTER_MONTH });
      expectProblem(res, 422, 'seats_out_of_range');
      expect((await overview(pro.headers)).subscription).toMatchObject({
        priceId: PRO_MONTH,
        quantity: 30,
      });
    });
  });

  describe('interval changes', () => {
    it('monthly → yearly restarts the period now: a full year debited, less the unused month', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 2);
      await advance(buyer.tenantId, '2031-03-11');
      // Credit: 2 seats monthly = 2400 × 21/31 = 1625.81 → −1626.
      // Debit:  2 seats yearly  = 2 × 12000 = 24000, a whole new year.   Net 22374.
      const preview1 = await preview(buyer.headers, { priceId: STARTER_YEAR }).expect(200);
      expect(preview1.body).toMatchObject({
        timing: 'restart',
        effectiveAt: iso('2031-03-11'),
        amountDueNow: 22374,
        creditToNextInvoice: 0,
        currentPeriodEnd: iso('2032-03-11'),
      });
      expect(preview1.body.lines).toEqual([
        expect.objectContaining({
          kind: 'proration_credit',
          amount: -1626,
          periodStart: iso('2031-03-11'),
          periodEnd: iso('2031-04-01'),
        }),
        expect.objectContaining({
          kind: 'proration_debit',
          amount: 24000,
          periodStart: iso('2031-03-11'),
          periodEnd: iso('2032-03-11'),
        }),
      ]);

      const res = await change(buyer.headers, { priceId: STARTER_YEAR }).expect(200);
      expect(res.body.subscription).toMatchObject({
        priceId: STARTER_YEAR,
        interval: 'year',
        unitAmount: 12000,
        quantity: 2,
        currentPeriodStart: iso('2031-03-11'),
        currentPeriodEnd: iso('2032-03-11'),
      });
      expect(res.body.invoice).toMatchObject({ status: 'paid', total: 22374, amountDue: 22374 });
      expect(kindsAndAmounts(res.body.invoice.lines)).toEqual([
        ['proration_credit', -1626],
        ['proration_debit', 24000],
      ]);
      expect(charges(buyer.tenantId)).toEqual([2400, 22374]);

      // The old monthly boundary passes without a bill; the yearly one bills a full year.
      expect((await advance(buyer.tenantId, '2031-04-01')).renewals).toEqual([]);
      const renewed = await advance(buyer.tenantId, '2032-03-11');
      const cycle = await invoice(buyer.headers, renewed.renewals[0].invoiceId);
      expect(summary(cycle)).toEqual(['plan 24000']);
      expect(cycle).toMatchObject({
        periodStart: iso('2032-03-11'),
        periodEnd: iso('2033-03-11'),
        status: 'paid',
      });
      expect(charges(buyer.tenantId)).toEqual([2400, 22374, 24000]);
    });

    it('yearly → monthly waits for the paid year to end, then renews at the monthly price with no proration', async () => {
      const buyer = await subscribedBuyer('2031-03-01', PRO_YEAR, 1);
      await advance(buyer.tenantId, '2031-06-15');
      const preview1 = await preview(buyer.headers, { priceId: PRO_MONTH }).expect(200);
      expect(preview1.body).toMatchObject({
        timing: 'period_end',
        effectiveAt: iso('2032-03-01'),
        lines: [],
        amountDueNow: 0,
        creditToNextInvoice: 0,
        currentPeriodEnd: iso('2032-03-01'),
      });

      const res = await change(buyer.headers, { priceId: PRO_MONTH }).expect(200);
      expect(res.body.invoice).toBeNull();
      expect(res.body.subscription).toMatchObject({
        priceId: PRO_YEAR,
        interval: 'year',
        currentPeriodEnd: iso('2032-03-01'),
        pendingChange: { priceId: PRO_MONTH, quantity: 1, startsAt: iso('2032-03-01') },
      });
      expect((await overview(buyer.headers)).subscription.pendingChange).toEqual({
        priceId: PRO_MONTH,
        quantity: 1,
        startsAt: iso('2032-03-01'),
      });
      expect(await pendingLines(buyer.tenantId)).toHaveLength(0);
      expect(charges(buyer.tenantId)).toEqual([29000]);

      const renewed = await advance(buyer.tenantId, '2032-03-01');
      expect(renewed.subscription).toMatchObject({
        priceId: PRO_MONTH,
        interval: 'month',
        unitAmount: 2900,
        pendingChange: null,
        currentPeriodStart: iso('2032-03-01'),
        currentPeriodEnd: iso('2032-04-01'),
      });
      const cycle = await invoice(buyer.headers, renewed.renewals[0].invoiceId);
      expect(cycle.lines).toEqual([
        expect.objectContaining({
          kind: 'plan',
          amount: 2900,
          description: 'Pro × 1 seat (monthly), 1 Mar 2032 – 1 Apr 2032',
        }),
      ]);
      expect(cycle).toMatchObject({ total: 2900, amountDue: 2900, status: 'paid' });

      const next = await advance(buyer.tenantId, '2032-04-01');
      expect(next.subscription.currentPeriodEnd).toBe(iso('2032-05-01'));
      expect(charges(buyer.tenantId)).toEqual([29000, 2900, 2900]);
    });
  });

  describe('interval changes after an earlier change', () => {
    // A change charged now takes the credit an earlier downgrade left waiting.
    it('a pending downgrade credit is used by the monthly → yearly restart invoice charged now', async () => {
      const buyer = await subscribedBuyer('2031-03-01', PRO_MONTH, 2);
      await advance(buyer.tenantId, '2031-03-11');
      // Pro 2 → Starter 2 with 21 of 31 days left: −3929 + 1626 = −2303 pending.
      await change(buyer.headers, { priceId: STARTER_MONTH }).expect(200);
      await advance(buyer.tenantId, '2031-03-21');
      // Starter 2 monthly → yearly with 11 days left: −(2400 × 11/31 = 851.61 → 852) + 24000
      // = 23148, less the pending 2303: 20845.
      const res = await change(buyer.headers, { priceId: STARTER_YEAR }).expect(200);
      expect(summary(res.body.invoice)).toEqual([
        'proration_credit -3929',
        'proration_credit -852',
        'proration_debit 1626',
        'proration_debit 24000',
      ]);
      expect(res.body.invoice).toMatchObject({ total: 20845, amountDue: 20845 });
      expect(await pendingLines(buyer.tenantId)).toHaveLength(0);
    });

    // Asking for the current terms while a switch is scheduled takes the switch back.
    it('choosing the current yearly price again cancels a scheduled switch to monthly', async () => {
      const buyer = await subscribedBuyer('2031-03-01', PRO_YEAR, 1);
      await advance(buyer.tenantId, '2031-06-15');
      await change(buyer.headers, { priceId: PRO_MONTH }).expect(200);
      const res = await change(buyer.headers, { priceId: PRO_YEAR });
      expect(res.status).toBe(200);
      expect(res.body.invoice).toBeNull();
      expect(res.body.subscription).toMatchObject({ priceId: PRO_YEAR, pendingChange: null });
      const renewed = await advance(buyer.tenantId, '2032-03-01');
      expect(renewed.subscription).toMatchObject({ priceId: PRO_YEAR, interval: 'year' });
      expect(charges(buyer.tenantId)).toEqual([29000, 29000]);
    });
  });

  describe('changes that are refused', () => {
    /** The subscription, invoices, pending lines and charges of a tenant, to compare before and after. */
    const snapshot = async (buyer: Buyer) => ({
      overview: await overview(buyer.headers),
      invoices: await invoices(buyer.headers),
      pending: (await pendingLines(buyer.tenantId)).length,
      charges: charges(buyer.tenantId),
    });

    it('refuses another currency (409 currency_mismatch)', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 1);
      const before = await snapshot(buyer);
      for (const call of [preview, change]) {
        const res = await call(buyer.headers, { priceId: STARTER_EUR_MONTH });
        expect(expectProblem(res, 409, 'currency_mismatch').detail).toMatch(/billed in USD/);
      }
      expect(await snapshot(buyer)).toEqual(before);
    });

    it('refuses a change while the ended period waits for its renewal job (409, never a 500)', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 1);
      // Billing time past the period end, without running what falls due (as between two cron runs).
      await t
        .em()
        .nativeUpdate(
          BillingCustomer,
          { tenantId: buyer.tenantId },
          { testClockAt: new Date(iso('2031-04-02')) },
        );
      const before = await snapshot(buyer);
      for (const call of [preview, change]) {
        const res = await call(buyer.headers, { priceId: PRO_MONTH });
        expect(expectProblem(res, 409, 'subscription_not_changeable').detail).toMatch(/renewing/);
      }
      expect(await snapshot(buyer)).toEqual(before);
    });

    it('refuses a change that changes nothing (409 subscription_no_change)', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 2);
      const before = await snapshot(buyer);
      for (const body of [{ priceId: STARTER_MONTH, quantity: 2 }, { quantity: 2 }, {}]) {
        for (const call of [preview, change]) {
          expectProblem(await call(buyer.headers, body), 409, 'subscription_no_change');
        }
      }
      expect(await snapshot(buyer)).toEqual(before);
    });

    it('404s an unknown price and a tenant with no subscription', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 1);
      const unknown = await change(buyer.headers, { priceId: randomUUID() });
      expectProblem(unknown, 404, 'price_not_found');
      const malformed = await change(buyer.headers, { priceId: 'pro' });
      expect(erroredFields(expectProblem(malformed, 400, 'validation_failed'))).toEqual([
        'priceId',
      ]);

      const free = await signUp();
      for (const call of [preview, change]) {
        const res = await call(free.headers, { priceId: PRO_MONTH });
        expectProblem(res, 404, 'subscription_not_found');
      }
      expect(await t.em().count(Invoice, { tenantId: free.tenantId })).toBe(0);
    });

    it('refuses changes while past due (409 subscription_not_changeable)', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 1);
      await addCard(buyer.headers, 'pm_card_chargeDeclined', true);
      const renewed = await advance(buyer.tenantId, '2031-04-01');
      expect(renewed.renewals).toEqual([expect.objectContaining({ payment: 'failed' })]);
      expect(renewed.subscription.status).toBe('past_due');
      const before = await snapshot(buyer);
      for (const call of [preview, change]) {
        const res = await call(buyer.headers, { priceId: PRO_MONTH });
        const problem = expectProblem(res, 409, 'subscription_not_changeable');
        expect(problem.detail).toMatch(/An invoice is unpaid; pay it before changing plans/);
      }
      expect(await snapshot(buyer)).toEqual(before);
    });

    it('a declined upgrade (402) leaves plan, seats, period, credit balance and invoices as they were, the new invoice voided', async () => {
      // Build up account credit first: Pro × 10 → Starter × 2 on day 2 leaves 23342 after
      // April's invoice (see the downgrade test above for the figures).
      const buyer = await subscribedBuyer('2031-03-01', PRO_MONTH, 10);
      await advance(buyer.tenantId, '2031-03-02');
      await change(buyer.headers, { priceId: STARTER_MONTH, quantity: 2 }).expect(200);
      await advance(buyer.tenantId, '2031-04-01');
      await addCard(buyer.headers, 'pm_card_chargeDeclined', true);
      await advance(buyer.tenantId, '2031-04-11');
      const before = await snapshot(buyer);
      expect(before.overview.creditBalance).toBe(23342);

      // 20 of April's 30 days left.
      // Credit: Starter  2 × 1200 =   2400 × 20/30 =  1600 → −1600.
      // Debit:  Pro     50 × 2900 = 145000 × 20/30 = 96666.67 → 96667.
      // Net 95067, of which 23342 comes from the credit: 71725 to the card.
      const target = { priceId: PRO_MONTH, quantity: 50 };
      const preview1 = await preview(buyer.headers, target).expect(200);
      expect(preview1.body.amountDueNow).toBe(71725);

      const res = await change(buyer.headers, target);
      expect(expectProblem(res, 402, 'payment_declined')).toMatchObject({
        category: 'card_declined',
        declineCode: 'generic_decline',
        detail: expect.stringMatching(/^The change was declined/),
      });
      expect(charges(buyer.tenantId).at(-1)).toBe(71725);

      const after = await snapshot(buyer);
      expect(after.overview).toEqual(before.overview);
      expect(after.pending).toBe(0);
      const [voided, ...rest] = after.invoices;
      expect(rest).toEqual(before.invoices);
      expect(voided).toMatchObject({
        status: 'void',
        reason: 'subscription_update',
        total: 95067,
        creditApplied: 23342,
        amountDue: 71725,
        amountPaid: 0,
      });
      const row = await t.em().findOneOrFail(Subscription, { tenantId: buyer.tenantId });
      expect(row).toMatchObject({
        quantity: 2,
        currentPeriodStart: new Date(iso('2031-04-01')),
        currentPeriodEnd: new Date(iso('2031-05-01')),
        billingAnchor: new Date(iso('2031-03-01')),
        pendingPrice: null,
      });
      expect(row.price.id).toBe(STARTER_MONTH);
      const customer = await t.em().findOneOrFail(BillingCustomer, { tenantId: buyer.tenantId });
      expect(customer.balance).toBe(23342);
      const audit = await api().get('/v1/tenant/audit-log').set(buyer.headers).expect(200);
      expect(audit.body.items.map((e: { action: string }) => e.action)).toEqual(
        expect.arrayContaining(['billing.subscription.change_reverted']),
      );

      // With a card that pays, the same change goes through for the same figures.
      await addCard(buyer.headers, 'pm_card_visa', true);
      const retried = await change(buyer.headers, target).expect(200);
      expect(retried.body.invoice).toMatchObject({
        status: 'paid',
        total: 95067,
        creditApplied: 23342,
        amountDue: 71725,
        amountPaid: 71725,
      });
      expect(await overview(buyer.headers)).toMatchObject({
        creditBalance: 0,
        subscription: { plan: { code: 'pro' }, quantity: 50 },
      });
    });
    it('a declined monthly → yearly change keeps the monthly period (no restart)', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 2);
      await addCard(buyer.headers, 'pm_card_chargeDeclinedInsufficientFunds', true);
      await advance(buyer.tenantId, '2031-03-11');
      const before = await snapshot(buyer);
      const res = await change(buyer.headers, { priceId: STARTER_YEAR });
      expect(expectProblem(res, 402, 'payment_declined')).toMatchObject({
        category: 'insufficient_funds',
        declineCode: 'insufficient_funds',
      });
      const after = await snapshot(buyer);
      expect(after.overview).toEqual(before.overview);
      expect(after.overview.subscription).toMatchObject({
        priceId: STARTER_MONTH,
        interval: 'month',
        currentPeriodStart: iso('2031-03-01'),
        currentPeriodEnd: iso('2031-04-01'),
      });
      expect(after.invoices.slice(1)).toEqual(before.invoices);
      // 2400 × 21/31 = 1625.81 → −1626, plus a year of 24000: 22374 asked for and declined.
      expect(after.invoices[0]).toMatchObject({ status: 'void', total: 22374 });
      const row = await t.em().findOneOrFail(Subscription, { tenantId: buyer.tenantId });
      expect(row.billingAnchor).toEqual(new Date(iso('2031-03-01')));
      // The monthly renewal still comes on the old anchor.
      await addCard(buyer.headers, 'pm_card_visa', true);
      const renewed = await advance(buyer.tenantId, '2031-04-01');
      expect(renewed.renewals).toEqual([
        expect.objectContaining({ result: 'renewed', payment: 'paid' }),
      ]);
      expect(renewed.subscription.currentPeriodEnd).toBe(iso('2031-05-01'));
    });

    it('an upgrade whose card asks for 3-D Secure cannot be made off-session: 402, nothing changes', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 1);
      await addCard(buyer.headers, 'pm_card_authenticationRequired', true);
      await advance(buyer.tenantId, '2031-03-11');
      const before = await snapshot(buyer);
      const res = await change(buyer.headers, { priceId: PRO_MONTH });
      expect(expectProblem(res, 402, 'payment_declined')).toMatchObject({
        category: 'authentication_required',
        detail: expect.stringMatching(/authentication/),
      });
      const after = await snapshot(buyer);
      expect(after.overview).toEqual(before.overview);
      expect(after.invoices.slice(1)).toEqual(before.invoices);
      expect(after.invoices[0].status).toBe('void');
    });
  });

  describe('gateway failures while changing', () => {
    afterEach(() => gateway().clearFaults());

    it('a gateway that keeps answering 429 is a 503 with Retry-After; the change is undone', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 2);
      await advance(buyer.tenantId, '2031-03-11');
      const before = await overview(buyer.headers);
      gateway().injectFault('rate_limited', 3);
      const res = await change(buyer.headers, { priceId: PRO_MONTH });
      expect(expectProblem(res, 503, 'gateway_unavailable').detail).toMatch(/Try again/);
      expect(res.headers['retry-after']).toBe('60');
      // One attempt, tried three times under one idempotency key.
      const tries = gateway().chargeLog.filter((c) => c.metadata.tenant_id === buyer.tenantId);
      expect(tries.slice(1).map((c) => c.idempotencyKey)).toEqual([
        tries[1].idempotencyKey,
        tries[1].idempotencyKey,
        tries[1].idempotencyKey,
      ]);
      expect(await overview(buyer.headers)).toEqual(before);
      const [voided] = await invoices(buyer.headers);
      expect(voided).toMatchObject({ status: 'void', reason: 'subscription_update' });
      expect(await pendingLines(buyer.tenantId)).toHaveLength(0);
    });

    // While a change's payment is being collected, another change is refused (409), so a
    // failed charge can restore the old terms without losing anything.
    it('a change made while another change is being charged is not lost when that charge fails', async () => {
      const buyer = await subscribedBuyer('2031-03-01', STARTER_MONTH, 2);
      await advance(buyer.tenantId, '2031-03-11');
      // The upgrade's charge is retried with backoff (≥ 1.25 s in all) before it fails.
      gateway().injectFault('rate_limited', 3);
      const upgrade = change(buyer.headers, { priceId: PRO_MONTH, quantity: 3 }).then((r) => r);
      for (let i = 0; i < 100; i++) {
        const pending = await t
          .em()
          .count(PaymentAttempt, { tenantId: buyer.tenantId, status: AttemptStatus.Pending });
        if (pending > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const seats = await change(buyer.headers, { quantity: 2 });
      const upgraded = await upgrade;
      expectProblem(upgraded, 503, 'gateway_unavailable');

      const final = (await overview(buyer.headers)).subscription;
      expectProblem(seats, 409, 'subscription_not_changeable');
      expect(final).toMatchObject({ priceId: STARTER_MONTH, quantity: 2 });
      expect(await pendingLines(buyer.tenantId)).toHaveLength(0);
    });
  });

  describe('trials', () => {
    const startTrial = (headers: Headers, priceId: string = STARTER_MONTH, quantity = 1) =>
      api().post('/v1/billing/subscription').set(headers).send({ priceId, quantity, trial: true });

    it('starts a 14-day Starter trial without a card: trialing, no invoice, no charge', async () => {
      const buyer = await signUp();
      await advance(buyer.tenantId, '2031-03-01');
      const res = await startTrial(buyer.headers).expect(201);
      expect(res.body).toMatchObject({
        subscription: {
          status: 'trialing',
          plan: { code: 'starter' },
          quantity: 1,
          trialEnd: iso('2031-03-15'),
          currentPeriodStart: iso('2031-03-01'),
          currentPeriodEnd: iso('2031-03-15'),
        },
        invoice: null,
        payment: { status: 'none' },
      });
      expect(await invoices(buyer.headers)).toEqual([]);
      expect(await t.em().count(Invoice, { tenantId: buyer.tenantId })).toBe(0);
      expect(charges(buyer.tenantId)).toEqual([]);
      expect((await overview(buyer.headers)).entitlements).toMatchObject({
        planCode: 'starter',
        seatLimit: 1,
      });
      const customer = await t.em().findOneOrFail(BillingCustomer, { tenantId: buyer.tenantId });
      expect(customer.trialUsedAt).toEqual(new Date(iso('2031-03-01')));
    });

    it('changes during a trial cost nothing; at its end the first invoice is charged and the subscription is active', async () => {
      const buyer = await signUp();
      await advance(buyer.tenantId, '2031-03-01');
      await startTrial(buyer.headers).expect(201);
      await advance(buyer.tenantId, '2031-03-05');

      const preview1 = await preview(buyer.headers, { priceId: PRO_MONTH, quantity: 3 }).expect(
        200,
      );
      expect(preview1.body).toMatchObject({
        direction: 'upgrade',
        timing: 'now',
        lines: [],
        amountDueNow: 0,
        creditToNextInvoice: 0,
        currentPeriodEnd: iso('2031-03-15'),
      });
      const upgraded = await change(buyer.headers, { priceId: PRO_MONTH, quantity: 3 }).expect(200);
      expect(upgraded.body.invoice).toBeNull();
      expect(upgraded.body.subscription).toMatchObject({
        status: 'trialing',
        plan: { code: 'pro' },
        quantity: 3,
        trialEnd: iso('2031-03-15'),
        currentPeriodEnd: iso('2031-03-15'),
      });
      // Even a move to a yearly price does not restart anything during a trial.
      const preview2 = await preview(buyer.headers, { priceId: PRO_YEAR }).expect(200);
      expect(preview2.body).toMatchObject({
        timing: 'now',
        lines: [],
        amountDueNow: 0,
        currentPeriodEnd: iso('2031-03-15'),
      });
      const yearly = await change(buyer.headers, { priceId: PRO_YEAR }).expect(200);
      expect(yearly.body.subscription).toMatchObject({
        status: 'trialing',
        priceId: PRO_YEAR,
        currentPeriodEnd: iso('2031-03-15'),
      });
      const down = await change(buyer.headers, { quantity: 2 }).expect(200);
      expect(down.body.invoice).toBeNull();
      expect(await t.em().count(Invoice, { tenantId: buyer.tenantId })).toBe(0);
      expect(await pendingLines(buyer.tenantId)).toHaveLength(0);
      expect(charges(buyer.tenantId)).toEqual([]);

      // A card before the trial ends: the first (yearly, 2 × 29000) invoice is charged.
      await addCard(buyer.headers, 'pm_card_visa');
      const ended = await advance(buyer.tenantId, '2031-03-15');
      expect(ended.renewals).toEqual([
        expect.objectContaining({ result: 'renewed', payment: 'paid' }),
      ]);
      expect(ended.subscription).toMatchObject({
        status: 'active',
        priceId: PRO_YEAR,
        quantity: 2,
        currentPeriodStart: iso('2031-03-15'),
        currentPeriodEnd: iso('2032-03-15'),
      });
      const first = await invoice(buyer.headers, ended.renewals[0].invoiceId);
      expect(summary(first)).toEqual(['plan 58000']);
      expect(first).toMatchObject({ status: 'paid', amountDue: 58000, amountPaid: 58000 });
      expect(charges(buyer.tenantId)).toEqual([58000]);
    });

    it('a trial that ends without a card is past due, its first invoice open', async () => {
      const buyer = await signUp();
      await advance(buyer.tenantId, '2031-03-01');
      await startTrial(buyer.headers).expect(201);
      const ended = await advance(buyer.tenantId, '2031-03-15');
      expect(ended.renewals).toEqual([
        expect.objectContaining({ result: 'renewed', payment: 'no_payment_method' }),
      ]);
      expect(ended.subscription.status).toBe('past_due');
      const [first] = await invoices(buyer.headers);
      expect(first).toMatchObject({
        status: 'open',
        reason: 'subscription_cycle',
        total: 1200,
        amountDue: 1200,
        attemptCount: 0,
        periodStart: iso('2031-03-15'),
        periodEnd: iso('2031-04-15'),
      });
      expect(charges(buyer.tenantId)).toEqual([]);
    });

    it('one trial per organisation: refused after the first was cancelled; refused on a plan without one', async () => {
      const buyer = await signUp();
      await advance(buyer.tenantId, '2031-03-01');
      await startTrial(buyer.headers).expect(201);
      await api()
        .post('/v1/billing/subscription/cancel')
        .set(buyer.headers)
        .send({ reason: 'unused' })
        .expect(200);
      const ended = await advance(buyer.tenantId, '2031-03-15');
      expect(ended.renewals).toEqual([expect.objectContaining({ result: 'ended' })]);
      expect((await overview(buyer.headers)).subscription).toBeNull();

      const again = await startTrial(buyer.headers, PRO_MONTH);
      expect(expectProblem(again, 409, 'trial_unavailable').detail).toMatch(/had its free trial/);
      const enterprise = await startTrial(buyer.headers, ENTERPRISE_MONTH);
      expect(expectProblem(enterprise, 409, 'trial_unavailable').detail).toMatch(
        /Enterprise has no free trial/,
      );
      const noCard = await api()
        .post('/v1/billing/subscription')
        .set(buyer.headers)
        .send({ priceId: STARTER_MONTH, quantity: 1 });
      expectProblem(noCard, 409, 'payment_method_required');
      const rows = await t.em().find(Subscription, { tenantId: buyer.tenantId });
      expect(rows.map((row) => row.status)).toEqual(['canceled']);
      expect(await t.em().count(Invoice, { tenantId: buyer.tenantId })).toBe(0);

      // Without a trial, with a card, it is an ordinary paid subscription.
      await addCard(buyer.headers, 'pm_card_visa');
      const paid = await api()
        .post('/v1/billing/subscription')
        .set(buyer.headers)
        .send({ priceId: STARTER_MONTH, quantity: 1 })
        .expect(201);
      expect(paid.body.subscription).toMatchObject({ status: 'active', trialEnd: null });
      expect(charges(buyer.tenantId)).toEqual([1200]);
    });
  });
});
