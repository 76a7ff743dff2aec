import { randomBytes } from 'node:crypto';
import { BillingCustomer } from '../../src/billing/entities/billing-customer.entity';
import {
  CampaignStatus,
  DunningCampaign,
} from '../../src/billing/entities/dunning-campaign.entity';
import { Invoice, InvoiceReason, InvoiceStatus } from '../../src/billing/entities/invoice.entity';
import { AttemptStatus, PaymentAttempt } from '../../src/billing/entities/payment-attempt.entity';
import { PaymentMethod } from '../../src/billing/entities/payment-method.entity';
import { Price } from '../../src/billing/entities/price.entity';
import { Subscription, SubscriptionStatus } from '../../src/billing/entities/subscription.entity';
import { PaymentGateway } from '../../src/billing/payments/payment-gateway';
import { PaymentService } from '../../src/billing/payments/payment.service';
import {
  SIMULATED_FAULTS,
  SimulatedFault,
  SimulatedGateway,
} from '../../src/billing/payments/simulated.gateway';
import { RecoveryService } from '../../src/billing/recovery/recovery.service';
import { BillingRunService } from '../../src/billing/subscriptions/billing-run.service';
import { Tenant, TenantStatus } from '../../src/tenancy/entities/tenant.entity';
import { bootTestApp, TestApp } from '../support/test-app';
import { PRICES } from './billing-helpers';

const RENEWALS = 300;
const FAULT_RATE = 0.3;
const SEED = 20_310_210;
const CONCURRENCY = 16;
/** Starter, one seat, one month (USD cents). */
const AMOUNT = 1200;

/** Billing time of every seeded tenant: the moment their first period ends. */
const T0 = new Date('2031-02-10T00:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const HOUR = 3600_000;
const DAY = 24 * HOUR;

/** Working cards, with a soft and a hard decline mixed in (one in ten of each). */
function cardFor(i: number): string {
  if (i % 10 === 7) return 'pm_card_chargeDeclinedInsufficientFunds';
  if (i % 10 === 9) return 'pm_card_chargeDeclinedLostCard';
  return 'pm_card_visa';
}
const declines = (card: string) => card !== 'pm_card_visa';

/** Runs `fn` over `items`, at most `limit` at a time. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<unknown>) {
  let next = 0;
  const lane = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

interface Seeded {
  tenantId: string;
  subscriptionId: string;
  card: string;
}

/**
 * Chaos: hundreds of renewals while the simulated gateway fails a set share of
 * its calls with every fault kind it knows (429, 500, a connection dropped
 * before or after the charge, a refused connection), then recovery until
 * quiet. The gateway's own record is the witness: no invoice charged twice,
 * no payment it made that we have no attempt for.
 */
describe('payment recovery under gateway faults', () => {
  let t: TestApp;
  let gw: SimulatedGateway;
  const seeded: Seeded[] = [];

  beforeAll(async () => {
    t = await bootTestApp({ env: { BILLING_RUN_CRON: '0 0 1 1 *' } });
    const gateway = t.app.get(PaymentGateway);
    if (!(gateway instanceof SimulatedGateway)) throw new Error('expected the simulated gateway');
    gw = gateway;
    await seed();
  });
  afterAll(async () => {
    gw?.clearFaults();
    await t?.close();
  });

  /**
   * Tenants with a customer, a card and a monthly Starter subscription whose
   * first period ended at T0, written as rows (signing up through HTTP hashes a
   * password per tenant); the customers and cards are made at the app's own
   * gateway, so it knows them.
   */
  async function seed(): Promise<void> {
    const em = t.em();
    const price = await em.findOneOrFail(
      Price,
      { id: PRICES.STARTER_MONTH },
      { populate: ['plan'] },
    );
    const start = new Date('2031-01-10T00:00:00.000Z');
    const now = new Date();
    for (let i = 0; i < RENEWALS; i++) {
      const slug = `chaos-${i}-${randomBytes(4).toString('hex')}`;
      const tenant = em.create(Tenant, {
        slug,
        status: TenantStatus.Active,
        name: `Chaos ${i}`,
        schemaName: `t_${slug.replace(/-/g, '_')}`,
        createdAt: now,
        updatedAt: now,
      });
      const card = cardFor(i);
      const customer = await gw.createCustomer();
      const details = await gw.attachPaymentMethod(customer.id, card);
      const method = em.create(PaymentMethod, {
        tenantId: tenant.id,
        gatewayId: details.id,
        brand: details.brand,
        last4: details.last4,
        expMonth: details.expMonth,
        expYear: details.expYear,
        createdAt: now,
      });
      em.create(BillingCustomer, {
        tenantId: tenant.id,
        gatewayId: customer.id,
        email: `billing@${slug}.example.com`,
        name: `Chaos ${i}`,
        defaultPaymentMethodId: method.id,
        testClockAt: T0,
        createdAt: now,
        updatedAt: now,
      });
      const subscription = em.create(Subscription, {
        tenantId: tenant.id,
        plan: price.plan,
        price,
        quantity: 1,
        status: SubscriptionStatus.Active,
        billingAnchor: start,
        currentPeriodStart: start,
        currentPeriodEnd: T0,
        createdAt: now,
        updatedAt: now,
      });
      seeded.push({ tenantId: tenant.id, subscriptionId: subscription.id, card });
    }
    await em.flush();
  }

  const attemptsLeftOpen = () =>
    t
      .em()
      .find(PaymentAttempt, { status: { $in: [AttemptStatus.Pending, AttemptStatus.Unknown] } });

  /** Asks the gateway what became of every attempt whose answer was lost, until none is left or `rounds` pass. */
  async function settleUnknown(rounds: number): Promise<void> {
    const payments = t.app.get(PaymentService);
    for (let round = 0; round < rounds; round++) {
      const open = await attemptsLeftOpen();
      if (open.length === 0) return;
      await pool(open, CONCURRENCY, (a) => payments.settle(a.id));
    }
  }

  /** Moves every tenant's test clock to `target`, running the retries and dunning steps due on the way. */
  async function advanceAll(target: Date): Promise<void> {
    const recovery = t.app.get(RecoveryService);
    await pool(seeded, CONCURRENCY, (s) => recovery.advanceTenant(s.tenantId, target));
  }

  // Hundreds of renewals with retries and settling: over a minute on a busy 2-core machine.
  it(`${RENEWALS} renewals at a ${FAULT_RATE} fault rate: each invoice paid or in dunning, none charged twice, no attempt lost`, async () => {
    const run = t.app.get(BillingRunService);
    const due = await run.findDue({ limit: 10_000 });
    expect(due).toHaveLength(RENEWALS);

    gw.setFaultRate({ rate: FAULT_RATE, faults: SIMULATED_FAULTS, seed: SEED });
    const before = gw.faultsInjected;

    // The billing run, 16 renewals at a time.
    await pool(due, CONCURRENCY, (row) => run.renew(row.id, row.currentPeriodEnd));
    // Recovery while the faults go on: lost answers settled, the hour-later retries
    // of gateway failures and the day-1 retry of soft declines made (and settled).
    await settleUnknown(5);
    await advanceAll(at(HOUR + 1));
    await settleUnknown(5);
    await advanceAll(at(DAY + HOUR));
    await settleUnknown(5);

    // The gateway recovers: whatever is left settles, and the retries due by day 2 run.
    const after = gw.faultsInjected;
    gw.setFaultRate(null);
    await settleUnknown(3);
    await advanceAll(at(2 * DAY));
    await settleUnknown(3);

    const em = t.em();
    const subscriptionIds = seeded.map((s) => s.subscriptionId);
    const invoices = await em.find(Invoice, {
      subscription: { $in: subscriptionIds },
      reason: InvoiceReason.SubscriptionCycle,
    });
    const attempts = await em.find(PaymentAttempt, { invoice: { $in: invoices.map((i) => i.id) } });
    const campaigns = await em.find(DunningCampaign, {
      invoice: { $in: invoices.map((i) => i.id) },
    });
    const campaignOf = new Map(campaigns.map((c) => [c.invoice.id, c]));
    const succeeded = gw.succeededPaymentsByInvoice();

    // One renewal invoice per subscription.
    expect(invoices).toHaveLength(RENEWALS);
    const invoiceBySubscription = new Map(invoices.map((i) => [i.subscription!.id, i]));
    expect(invoiceBySubscription.size).toBe(RENEWALS);

    // Nothing left whose outcome we do not know.
    expect(
      attempts.filter((a) => [AttemptStatus.Pending, AttemptStatus.Unknown].includes(a.status)),
    ).toEqual([]);

    // Working cards ended paid; declining ones open, with a running campaign.
    const wrong: string[] = [];
    for (const s of seeded) {
      const invoice = invoiceBySubscription.get(s.subscriptionId)!;
      const campaign = campaignOf.get(invoice.id);
      if (declines(s.card)) {
        if (invoice.status !== InvoiceStatus.Open || campaign?.status !== CampaignStatus.Active)
          wrong.push(`${s.card} ${invoice.id}: ${invoice.status}, campaign ${campaign?.status}`);
      } else if (invoice.status !== InvoiceStatus.Paid || invoice.amountPaid !== AMOUNT) {
        wrong.push(`${s.card} ${invoice.id}: ${invoice.status} ${invoice.amountPaid}`);
      }
    }
    expect(wrong).toEqual([]);

    // The gateway's witness: at most one succeeded payment per invoice, exactly one when paid.
    const doubleCharges = invoices.filter((i) => (succeeded.get(i.id) ?? 0) > 1);
    expect(doubleCharges.map((i) => [i.id, succeeded.get(i.id)])).toEqual([]);
    for (const invoice of invoices) {
      expect([invoice.id, succeeded.get(invoice.id) ?? 0]).toEqual([
        invoice.id,
        invoice.status === InvoiceStatus.Paid ? 1 : 0,
      ]);
    }

    // Every payment the gateway made belongs to exactly one attempt of ours, which
    // records what the gateway did (no lost attempt), with the amount it charged.
    const attemptByKey = new Map(attempts.map((a) => [a.idempotencyKey, a]));
    const attemptById = new Map(attempts.map((a) => [a.id, a]));
    const keys = [...new Set(gw.chargeLog.map((c) => c.idempotencyKey))];
    const lost: string[] = [];
    let gatewayPayments = 0;
    for (const key of keys) {
      const paymentId = gw.paymentForKey(key);
      if (!paymentId) continue;
      gatewayPayments++;
      const payment = gw.payment(paymentId)!;
      const attempt = attemptByKey.get(key);
      const expected =
        payment.status === 'succeeded' ? AttemptStatus.Succeeded : AttemptStatus.Failed;
      if (
        !attempt ||
        attemptById.get(payment.metadata.attempt_id) !== attempt ||
        attempt.status !== expected ||
        attempt.gatewayPaymentId !== paymentId ||
        attempt.amount !== payment.amount
      ) {
        lost.push(`${key} → ${paymentId} ${payment.status}: ${attempt?.status ?? 'no attempt'}`);
      }
    }
    expect(lost).toEqual([]);
    // …and each succeeded attempt of ours is a succeeded payment at the gateway.
    for (const attempt of attempts.filter((a) => a.status === AttemptStatus.Succeeded)) {
      expect(gw.payment(attempt.gatewayPaymentId!)?.status).toBe('succeeded');
    }
    for (const invoice of invoices.filter((i) => i.status === InvoiceStatus.Paid)) {
      const [paid] = attempts.filter(
        (a) => a.invoice.id === invoice.id && a.status === AttemptStatus.Succeeded,
      );
      expect(gw.payment(paid.gatewayPaymentId!)?.amount).toBe(invoice.amountPaid);
    }

    const faults = Object.fromEntries(
      SIMULATED_FAULTS.map((f: SimulatedFault) => [f, after[f] - before[f]]),
    );
    const paid = invoices.filter((i) => i.status === InvoiceStatus.Paid).length;
    const inDunning = invoices.filter(
      (i) =>
        i.status === InvoiceStatus.Open && campaignOf.get(i.id)?.status === CampaignStatus.Active,
    ).length;
    // Faults were in fact met, of every kind.
    for (const kind of SIMULATED_FAULTS) expect(faults[kind]).toBeGreaterThan(0);

    // The figures the closing note quotes.
    // eslint-disable-next-line no-console
    console.log(
      [
        'recovery under gateway faults:',
        `  invoices: ${invoices.length}`,
        `  injected fault rate: ${FAULT_RATE} (seed ${SEED}, all five kinds)`,
        `  faults injected: ${Object.values(faults).reduce((a, b) => a + b, 0)} (${SIMULATED_FAULTS.map((k) => `${k} ${faults[k]}`).join(', ')})`,
        `  gateway calls to charge: ${gw.chargeLog.length}; payments made at the gateway: ${gatewayPayments}`,
        `  attempts: ${attempts.length}`,
        `  paid: ${paid}`,
        `  in dunning: ${inDunning}`,
        `  double charges: ${doubleCharges.length}`,
        `  lost attempts: ${lost.length}`,
      ].join('\n'),
    );
  }, 180_000);
});
