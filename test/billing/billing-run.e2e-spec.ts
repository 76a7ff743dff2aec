import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { BillingCustomer } from '../../src/billing/entities/billing-customer.entity';
import { Invoice, InvoiceReason } from '../../src/billing/entities/invoice.entity';
import { PaymentAttempt } from '../../src/billing/entities/payment-attempt.entity';
import { Subscription } from '../../src/billing/entities/subscription.entity';
import { PaymentGateway } from '../../src/billing/payments/payment-gateway';
import { SimulatedGateway } from '../../src/billing/payments/simulated.gateway';
import {
  BillingRunService,
  INCOMPLETE_TTL_MS,
  RENEW_QUEUE,
} from '../../src/billing/subscriptions/billing-run.service';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { eventually } from '../support/polling';
import { bootTestApp, TestApp } from '../support/test-app';

/** Seeded prices (migrations/platform/…_catalog_seed.ts). */
const STARTER_USD_MONTH = '0193a000-0000-7000-8001-000000000021';
const PRO_USD_MONTH = '0193a000-0000-7000-8001-000000000031';
/** Starter, one seat, one month (USD cents). */
const STARTER_MONTH_AMOUNT = 1200;

/**
 * The scheduled run would fire every minute and race the tests' own calls
 * (harmlessly, but then "how many jobs were queued" has no fixed answer).
 * The tests call `enqueueDue()` themselves; the renewal workers still run.
 */
const ENV = { BILLING_RUN_CRON: '0 0 1 1 *' };

const addMonths = (date: Date, months: number) => {
  const next = new Date(date);
  next.setUTCMonth(next.getUTCMonth() + months);
  return next;
};

/** Background work (pg-boss jobs) is awaited by polling. */
const waitFor = <T>(what: string, probe: () => Promise<T | null | undefined | false>) =>
  eventually(what, probe, 20_000);

interface Subscribed {
  org: Org;
  tenantId: string;
  subscriptionId: string;
  periodStart: Date;
  periodEnd: Date;
}

/**
 * Renewals happen exactly once per subscription and period, whoever runs
 * them: concurrent calls, repeated queueing, two application instances, a
 * lost gateway answer.
 */
describe('billing run: exactly-once renewals', () => {
  let t: TestApp;
  let gw: SimulatedGateway;
  let run: BillingRunService;
  let staff: Actor;

  beforeAll(async () => {
    t = await bootTestApp({ env: ENV });
    const gateway = t.app.get(PaymentGateway);
    if (!(gateway instanceof SimulatedGateway)) throw new Error('expected the simulated gateway');
    gw = gateway;
    run = t.app.get(BillingRunService);
    staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
  });
  afterEach(() => gw.clearFaults());
  afterAll(() => t.close());

  const api = () => request(t.server);

  /** An organisation on Starter (one seat) since `start` of its billing time, paid with `card`. */
  async function subscribed(
    start: Date,
    card = 'pm_card_visa',
    priceId = STARTER_USD_MONTH,
  ): Promise<Subscribed> {
    const org = await createOrg(t.app);
    await api()
      .post(`/v1/admin/billing/test-clocks/${org.tenant.id}/advance`)
      .set(staff.headers)
      .send({ to: start.toISOString() })
      .expect(200);
    await api()
      .post('/v1/billing/payment-methods')
      .set(org.headers)
      .send({ paymentMethodId: card })
      .expect(201);
    const res = await api()
      .post('/v1/billing/subscription')
      .set(org.headers)
      .send({ priceId, quantity: 1 })
      .expect(201);
    return {
      org,
      tenantId: org.tenant.id,
      subscriptionId: res.body.subscription.id as string,
      periodStart: new Date(res.body.subscription.currentPeriodStart as string),
      periodEnd: new Date(res.body.subscription.currentPeriodEnd as string),
    };
  }

  /** Moves the tenant's billing time without running anything (unlike the admin route). */
  const setBillingTime = (tenantId: string, at: Date) =>
    t.em().nativeUpdate(BillingCustomer, { tenantId }, { testClockAt: at });

  const cycleInvoices = (subscriptionId: string) =>
    t
      .em()
      .find(
        Invoice,
        { subscription: subscriptionId, reason: InvoiceReason.SubscriptionCycle },
        { orderBy: { periodStart: 'asc' } },
      );
  const attemptsFor = (invoiceId: string) =>
    t.em().find(PaymentAttempt, { invoice: invoiceId }, { orderBy: { attemptNumber: 'asc' } });
  const chargesFor = (invoiceId: string) =>
    gw.chargeLog.filter((c) => c.metadata.invoice_id === invoiceId);
  const subscription = (id: string) => t.em().findOneOrFail(Subscription, { id });
  const renewJobs = (subscriptionId: string) =>
    t
      .em()
      .getConnection()
      .execute<{ state: string; singleton_key: string }[]>(
        'select state, singleton_key from pgboss.job where name = ? and singleton_key like ?',
        [RENEW_QUEUE, `renew:${subscriptionId}:%`],
      );
  const jobsSettled = (subscriptionId: string) =>
    waitFor('the renewal jobs to finish', async () => {
      const jobs = await renewJobs(subscriptionId);
      return jobs.every((job) => ['completed', 'failed', 'cancelled'].includes(job.state))
        ? jobs
        : null;
    });

  it('10 concurrent renew() calls for one ended period: one invoice, one attempt, one charge; later calls are no-ops', async () => {
    const s = await subscribed(new Date('2031-01-10T00:00:00.000Z'));
    expect(s.periodEnd).toEqual(new Date('2031-02-10T00:00:00.000Z'));
    await setBillingTime(s.tenantId, s.periodEnd);

    const results = await Promise.all(
      Array.from({ length: 10 }, () => run.renew(s.subscriptionId, s.periodEnd)),
    );
    const renewed = results.filter((r) => r.result === 'renewed');
    expect(renewed).toHaveLength(1);
    expect(results.filter((r) => r.result === 'skipped')).toHaveLength(9);
    expect(renewed[0].payment).toBe('paid');

    const invoices = await cycleInvoices(s.subscriptionId);
    expect(invoices).toHaveLength(1);
    const [invoice] = invoices;
    expect(invoice).toMatchObject({
      id: renewed[0].invoiceId,
      status: 'paid',
      total: STARTER_MONTH_AMOUNT,
      amountPaid: STARTER_MONTH_AMOUNT,
      billingKey: `cycle:${s.subscriptionId}:${s.periodEnd.toISOString()}`,
      periodStart: s.periodEnd,
      periodEnd: new Date('2031-03-10T00:00:00.000Z'),
    });
    const attempts = await attemptsFor(invoice.id);
    expect(attempts.map((a) => [a.attemptNumber, a.trigger, a.status])).toEqual([
      [1, 'renewal', 'succeeded'],
    ]);
    expect(chargesFor(invoice.id)).toHaveLength(1);
    const renewedRow = await subscription(s.subscriptionId);
    expect(renewedRow).toMatchObject({
      status: 'active',
      currentPeriodStart: s.periodEnd,
      currentPeriodEnd: new Date('2031-03-10T00:00:00.000Z'),
    });

    // Repeated afterwards, in every way a renewal can be started: nothing more happens.
    for (let i = 0; i < 3; i++) {
      expect(await run.renew(s.subscriptionId, s.periodEnd)).toMatchObject({
        result: 'skipped',
        invoiceId: null,
        payment: null,
      });
    }
    // The next period is not due yet (billing time is the start of it).
    expect((await run.renew(s.subscriptionId, renewedRow.currentPeriodEnd)).result).toBe('skipped');
    expect(await run.runTenant(s.tenantId)).toEqual([]);
    expect(await run.enqueueDue()).toBe(0);
    expect(await cycleInvoices(s.subscriptionId)).toHaveLength(1);
    expect(await attemptsFor(invoice.id)).toHaveLength(1);
    expect(chargesFor(invoice.id)).toHaveLength(1);
    expect((await subscription(s.subscriptionId)).updatedAt).toEqual(renewedRow.updatedAt);
  });

  it('enqueueDue() twice in a row: one job per subscription and period, and once the worker ran, one invoice', async () => {
    const s = await subscribed(new Date('2031-06-05T00:00:00.000Z'));
    await setBillingTime(s.tenantId, new Date(s.periodEnd.getTime() + 3600_000));

    const first = await run.enqueueDue();
    const second = await run.enqueueDue();
    // The stately queue holds at most one queued job per key. The worker is woken
    // at once, so the first job may already be running when the second run comes:
    // then a second job is queued behind it, and finds nothing to do.
    expect(first).toBe(1);
    expect(second).toBeLessThanOrEqual(1);
    const jobs = await renewJobs(s.subscriptionId);
    expect(new Set(jobs.map((j) => j.singleton_key))).toEqual(
      new Set([`renew:${s.subscriptionId}:${s.periodEnd.toISOString()}`]),
    );
    expect(jobs).toHaveLength(first + second);

    const settled = await jobsSettled(s.subscriptionId);
    expect(settled.map((j) => j.state)).toEqual(settled.map(() => 'completed'));
    const invoices = await cycleInvoices(s.subscriptionId);
    expect(invoices).toHaveLength(1);
    expect(invoices[0].status).toBe('paid');
    expect(await attemptsFor(invoices[0].id)).toHaveLength(1);
    expect(chargesFor(invoices[0].id)).toHaveLength(1);
    // Renewed: nothing due any more.
    expect(await run.enqueueDue()).toBe(0);
  });

  it('enqueueDue() pages through every due subscription: none waits for the next run', async () => {
    const start = new Date('2031-07-01T00:00:00.000Z');
    const due = [await subscribed(start), await subscribed(start), await subscribed(start)];
    for (const s of due) await setBillingTime(s.tenantId, s.periodEnd);

    // A page of one: three pages, three jobs, in one run.
    expect(await run.enqueueDue(1)).toBe(3);
    for (const s of due) {
      expect((await renewJobs(s.subscriptionId)).map((j) => j.singleton_key)).toEqual([
        `renew:${s.subscriptionId}:${s.periodEnd.toISOString()}`,
      ]);
      await jobsSettled(s.subscriptionId);
      const invoices = await cycleInvoices(s.subscriptionId);
      expect(invoices.map((i) => [i.periodStart, i.status])).toEqual([[s.periodEnd, 'paid']]);
    }
    expect(await run.enqueueDue(1)).toBe(0);
  });

  it('a renewal locks its subscription, not the catalog: renewals of one price do not wait for each other', async () => {
    const s = await subscribed(new Date('2031-08-03T00:00:00.000Z'));
    await setBillingTime(s.tenantId, s.periodEnd);

    const result = await t
      .em()
      .fork()
      .transactional(async (tx) => {
        // What another renewal in flight holds until it commits: its invoice line's
        // foreign key check. A renewal that locked the price for update would wait here.
        await tx.execute('select id from platform.price where id = ? for key share', [
          STARTER_USD_MONTH,
        ]);
        return Promise.race([
          run.renew(s.subscriptionId, s.periodEnd),
          new Promise<'blocked'>((resolve) => setTimeout(() => resolve('blocked'), 5_000)),
        ]);
      });
    expect(result).toMatchObject({ result: 'renewed', payment: 'paid' });
  });

  it('two application instances running enqueueDue() and runTenant() at once: one invoice and one charge per period', async () => {
    // The second instance shares the database and (like Stripe) the gateway. It gets the
    // same JWT secret: Passport's strategies are process-wide, so the last application
    // booted in this process verifies every application's tokens.
    const other = await bootTestApp({
      database: t.db,
      env: { ...ENV, JWT_SECRET: t.config.secrets.jwtSecret.reveal() },
      override: (builder) => builder.overrideProvider(PaymentGateway).useValue(gw),
    });
    try {
      const otherRun = other.app.get(BillingRunService);
      const start = new Date('2031-09-15T00:00:00.000Z');
      const s = await subscribed(start);
      // Three periods have ended.
      await setBillingTime(s.tenantId, new Date(addMonths(start, 3).getTime() + 86_400_000));

      const outcomes = await Promise.all([
        run.enqueueDue(),
        otherRun.enqueueDue(),
        run.runTenant(s.tenantId),
        otherRun.runTenant(s.tenantId),
        run.runTenant(s.tenantId),
        otherRun.runTenant(s.tenantId),
      ]);
      const renewals = outcomes
        .slice(2)
        .flatMap((r) => r as Awaited<ReturnType<BillingRunService['runTenant']>>)
        .filter((r) => r.result === 'renewed');
      // A runTenant() that loses a race stops at its first skip; the queued job and the
      // winners carry on. Let the jobs finish, then catch up whatever is left.
      await jobsSettled(s.subscriptionId);
      await run.runTenant(s.tenantId);

      const invoices = await cycleInvoices(s.subscriptionId);
      expect(invoices.map((i) => [i.periodStart, i.periodEnd, i.status])).toEqual([
        [addMonths(start, 1), addMonths(start, 2), 'paid'],
        [addMonths(start, 2), addMonths(start, 3), 'paid'],
        [addMonths(start, 3), addMonths(start, 4), 'paid'],
      ]);
      for (const invoice of invoices) {
        expect(await attemptsFor(invoice.id)).toHaveLength(1);
        expect(chargesFor(invoice.id)).toHaveLength(1);
      }
      // Each period was renewed by exactly one caller (an inline run or the job).
      expect(renewals.length).toBeLessThanOrEqual(3);
      expect(await subscription(s.subscriptionId)).toMatchObject({
        status: 'active',
        currentPeriodEnd: addMonths(start, 4),
      });
      expect(await run.enqueueDue()).toBe(0);
      expect(await otherRun.enqueueDue()).toBe(0);
    } finally {
      await other.close();
    }
  });

  describe('a renewal charge whose answer is lost after the card was charged', () => {
    it('retried at once under the same idempotency key: paid, the card charged once', async () => {
      const s = await subscribed(new Date('2032-01-20T00:00:00.000Z'));
      await setBillingTime(s.tenantId, s.periodEnd);
      gw.injectFault('timeout_after_charge');

      const result = await run.renew(s.subscriptionId, s.periodEnd);
      expect(result).toMatchObject({ result: 'renewed', payment: 'paid' });
      const requests = chargesFor(result.invoiceId!);
      // Two requests (the lost one and its retry), one key, one payment at the gateway.
      expect(requests).toHaveLength(2);
      expect(new Set(requests.map((r) => r.idempotencyKey)).size).toBe(1);
      const [attempt] = await attemptsFor(result.invoiceId!);
      expect(attempt).toMatchObject({
        status: 'succeeded',
        gatewayPaymentId: gw.paymentForKey(requests[0].idempotencyKey),
      });
    });

    it('every retry lost too: the attempt stays unknown and repeated runs never charge again', async () => {
      const s = await subscribed(new Date('2032-02-03T00:00:00.000Z'));
      await setBillingTime(s.tenantId, s.periodEnd);
      // The first request charges; its answer and the two immediate retries' are lost.
      gw.injectFault('timeout_after_charge', 3);

      const result = await run.renew(s.subscriptionId, s.periodEnd);
      expect(result).toMatchObject({ result: 'renewed', payment: 'unknown' });
      const invoiceId = result.invoiceId!;
      const requests = chargesFor(invoiceId);
      expect(requests).toHaveLength(3);
      const keys = new Set(requests.map((r) => r.idempotencyKey));
      expect(keys.size).toBe(1);
      // The gateway did take the money, once.
      const paymentId = gw.paymentForKey([...keys][0])!;
      expect(gw.payment(paymentId)).toMatchObject({ status: 'succeeded', amount: 1200 });

      const [attempt] = await attemptsFor(invoiceId);
      expect(attempt).toMatchObject({
        status: 'unknown',
        category: 'gateway_unavailable',
        gatewayPaymentId: null,
      });
      expect((await t.em().findOneOrFail(Invoice, { id: invoiceId })).status).toBe('open');
      // Not past due: nothing says the payment failed.
      expect((await subscription(s.subscriptionId)).status).toBe('active');

      // Repeated runs, concurrent and sequential, inline and queued.
      const again = await Promise.all(
        Array.from({ length: 5 }, () => run.renew(s.subscriptionId, s.periodEnd)),
      );
      expect(again.map((r) => r.result)).toEqual(Array(5).fill('skipped'));
      expect(await run.runTenant(s.tenantId)).toEqual([]);
      expect(await run.enqueueDue()).toBe(0);
      expect(chargesFor(invoiceId)).toHaveLength(3);
      expect(await attemptsFor(invoiceId)).toHaveLength(1);
      expect(await cycleInvoices(s.subscriptionId)).toHaveLength(1);
    });

    // An attempt with an unknown outcome is re-sent under its own key before anything new is
    // tried, so the gateway answers with what it did instead of charging again.
    it('paying the invoice after an unknown outcome does not charge the card again', async () => {
      const s = await subscribed(new Date('2032-03-07T00:00:00.000Z'));
      await setBillingTime(s.tenantId, s.periodEnd);
      gw.injectFault('timeout_after_charge', 3);
      const result = await run.renew(s.subscriptionId, s.periodEnd);
      expect(result.payment).toBe('unknown');
      const invoiceId = result.invoiceId!;

      await api().post(`/v1/billing/invoices/${invoiceId}/pay`).set(s.org.headers);

      const keys = new Set(chargesFor(invoiceId).map((r) => r.idempotencyKey));
      const payments = [...keys].map((key) => gw.paymentForKey(key)).filter(Boolean);
      expect(payments).toHaveLength(1);
    });
  });

  it('expireIncomplete(): an SCA subscription lapses after 23 h of billing time and its invoice is voided', async () => {
    const start = new Date('2032-05-01T08:00:00.000Z');
    const s = await subscribed(start, 'pm_card_authenticationRequired', PRO_USD_MONTH);
    expect((await subscription(s.subscriptionId)).status).toBe('incomplete');
    const [invoice] = await t.em().find(Invoice, { subscription: s.subscriptionId });
    expect(invoice.status).toBe('open');
    expect(INCOMPLETE_TTL_MS).toBe(23 * 3600_000);

    // One second short of 23 h: still waiting for the customer.
    await setBillingTime(s.tenantId, new Date(start.getTime() + INCOMPLETE_TTL_MS - 1000));
    expect(await run.expireIncomplete(s.tenantId)).toBe(0);
    expect((await subscription(s.subscriptionId)).status).toBe('incomplete');

    const lapse = new Date(start.getTime() + INCOMPLETE_TTL_MS);
    await setBillingTime(s.tenantId, lapse);
    expect(await run.expireIncomplete()).toBe(1);
    expect(await subscription(s.subscriptionId)).toMatchObject({
      status: 'incomplete_expired',
      endedAt: lapse,
    });
    const voided = await t.em().findOneOrFail(Invoice, { id: invoice.id });
    expect(voided).toMatchObject({ status: 'void', voidedAt: lapse });
    expect(await run.expireIncomplete()).toBe(0);
    const overview = await api().get('/v1/billing/subscription').set(s.org.headers).expect(200);
    expect(overview.body).toMatchObject({ subscription: null, entitlements: { planCode: 'free' } });
    // An expired subscription is never renewed.
    await setBillingTime(s.tenantId, addMonths(start, 2));
    expect(await run.runTenant(s.tenantId)).toEqual([]);
  });

  it('concurrent renewals of different tenants keep invoice numbers unique and gapless', async () => {
    const start = new Date('2032-07-01T00:00:00.000Z');
    const tenants: Subscribed[] = [];
    for (let i = 0; i < 5; i++) tenants.push(await subscribed(start));
    for (const s of tenants) await setBillingTime(s.tenantId, s.periodEnd);

    // Every tenant renewed by three racing callers, all 15 at once.
    const results = await Promise.all(
      tenants.flatMap((s) =>
        Array.from({ length: 3 }, () => run.renew(s.subscriptionId, s.periodEnd)),
      ),
    );
    expect(results.filter((r) => r.result === 'renewed')).toHaveLength(5);
    for (const s of tenants) {
      const invoices = await cycleInvoices(s.subscriptionId);
      expect(invoices).toHaveLength(1);
      expect(chargesFor(invoices[0].id)).toHaveLength(1);
    }

    const rows = await t
      .em()
      .getConnection()
      .execute<{ number: string }[]>(
        'select number from platform.invoice where number is not null order by number',
      );
    const numbers = rows.map((r) => {
      expect(r.number).toMatch(/^GW-\d{6,}$/);
      return Number(r.number.slice(3));
    });
    expect(new Set(numbers).size).toBe(numbers.length);
    const first = numbers[0];
    expect(numbers).toEqual(numbers.map((_, i) => first + i));
    const [counter] = await t
      .em()
      .getConnection()
      .execute<{ value: string }[]>(
        "select value from platform.billing_counter where name = 'invoice'",
      );
    expect(Number(counter.value)).toBe(numbers[numbers.length - 1]);
    // Every invoice of this database has a number (none left as a draft).
    expect(await t.em().count(Invoice, { number: null })).toBe(0);
  });
});
