import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { BillingInterval } from '../../src/billing/entities/money';
import { PaymentGateway } from '../../src/billing/payments/payment-gateway';
import { SimulatedGateway } from '../../src/billing/payments/simulated.gateway';
import {
  BILLING_RUN_QUEUE,
  RENEW_QUEUE,
} from '../../src/billing/subscriptions/billing-run.service';
import { nextBoundary } from '../../src/billing/subscriptions/proration';
import { JobQueue } from '../../src/common/jobs/job-queue';
import { newId } from '../../src/common/uuid';
import { tenantSchemaName } from '../../src/database/schema-names';
import { startAppContext } from '../lib/app-context';
import { ms, perSecond, rate, ratio } from '../lib/report';
import type { Scenario } from '../lib/scenario';

const TARGET_PER_SECOND = 150;
/** Seeded catalog price (migrations/platform/…_catalog_seed.ts): Starter, USD, monthly. */
const STARTER_USD_MONTH = '0193a000-0000-7000-8001-000000000021';
/** Gives up when the run is slower than this many renewals a second (plus a minute of slack). */
const GIVE_UP_BELOW_PER_SECOND = 5;

interface SeededPrice {
  planId: string;
  unitAmount: number;
  currency: string;
}

/**
 * The billing run over N due renewals, as a worker replica runs it: the
 * `billing.run` job (what the cron enqueues) queues one `billing.renew` job per
 * due subscription, pg-boss works them, each invoices and charges one period
 * on the simulated gateway. Timed from the run job until every renewal is
 * invoiced and paid, then checked: N invoices paid, N attempts, N charges,
 * no period twice. Baseline: the same rows written by plain SQL, one client,
 * one transaction per renewal.
 */
export const billingRun: Scenario = {
  name: 'billing-run',
  description: 'the billing run over N due renewals on the simulated gateway',
  async run({ options, postgres, scratch, report }) {
    const n = options.renewals;
    const url = await postgres.create('billing_run');
    // The run is started by the bench, not the minute cron (which would race it).
    const app = await startAppContext({
      databaseUrl: url,
      dataDir: join(scratch, 'billing-run-app'),
      env: { BILLING_RUN_CRON: '0 0 1 1 *' },
    });
    const db = new Client({ connectionString: url });
    await db.connect();
    try {
      const gateway = app.get(PaymentGateway);
      if (!(gateway instanceof SimulatedGateway)) throw new Error('expected the simulated gateway');
      const price = await seededPrice(db);
      process.stdout.write(`  seeding ${n} due subscriptions…\n`);
      await seedDueRenewals(db, gateway, price, n, new Date());

      const started = performance.now();
      await app.get(JobQueue).send(BILLING_RUN_QUEUE, {});
      await waitUntilPaid(db, n, 60_000 + (n / GIVE_UP_BELOW_PER_SECOND) * 1000);
      const oursMs = performance.now() - started;
      await verify(db, gateway, price, n);
      const queueing = await queueingTime(db);

      const baselineMs = await plainSqlRenewals(db, price);
      const ours = perSecond(n, oursMs);
      report.figure('billingRun', {
        renewals: n,
        ms: oursMs,
        perSecond: ours,
        baselineMs,
        baselinePerSecond: perSecond(n, baselineMs),
        queueingMs: queueing.runMs,
        meanRenewalBatchMs: queueing.renewBatchMs,
      });
      report.add({
        group: 'billing',
        scenario: `billing run, ${n} due renewals (invoice + charge, simulated gateway)`,
        ours: `${ms(oursMs)} (${rate(n, oursMs)})`,
        baseline: `${ms(baselineMs)} (${rate(n, baselineMs)}, plain SQL, one transaction each)`,
        ratio: ratio(oursMs, baselineMs),
        target: `≥ ${TARGET_PER_SECOND}/s`,
        met: ours >= TARGET_PER_SECOND,
      });
    } finally {
      await db.end();
      await app.close();
      await postgres.drop('billing_run');
    }
  },
};

async function seededPrice(db: Client): Promise<SeededPrice> {
  const { rows } = await db.query<{ plan_id: string; unit_amount: string; currency: string }>(
    'select plan_id, unit_amount, currency from platform.price where id = $1',
    [STARTER_USD_MONTH],
  );
  if (!rows[0]) throw new Error(`the seeded price ${STARTER_USD_MONTH} is missing`);
  return {
    planId: rows[0].plan_id,
    unitAmount: Number(rows[0].unit_amount),
    currency: rows[0].currency.trim(),
  };
}

/**
 * N tenants on Starter (one seat, monthly) with a saved card, each a month
 * and a day into its subscription: its first period has ended. The rows are
 * what signing up, saving a card and subscribing write to the platform
 * schema; the customers and cards are made at the (in-memory) gateway first.
 * No tenant schemas: a paid renewal reads and writes only the platform
 * schema (the tenant schema is touched by recovery mail and audit, which a
 * successful charge never reaches). The first period's invoice is not seeded
 * (a renewal never reads it).
 */
async function seedDueRenewals(
  db: Client,
  gateway: SimulatedGateway,
  price: SeededPrice,
  n: number,
  now: Date,
): Promise<void> {
  const columns = {
    tenant: [] as string[],
    slug: [] as string[],
    schema: [] as string[],
    customer: [] as string[],
    method: [] as string[],
    methodGateway: [] as string[],
    brand: [] as string[],
    last4: [] as string[],
    expMonth: [] as number[],
    expYear: [] as number[],
    subscription: [] as string[],
    anchor: [] as Date[],
    periodEnd: [] as Date[],
  };
  // A month and a day ago, a tenth of a second apart: every first period ended before now.
  const base = new Date(now);
  base.setUTCMonth(base.getUTCMonth() - 1);
  base.setUTCDate(base.getUTCDate() - 1);
  for (let i = 0; i < n; i++) {
    const tenantId = newId();
    const customer = await gateway.createCustomer();
    const card = await gateway.attachPaymentMethod(customer.id, 'pm_card_visa');
    const anchor = new Date(base.getTime() + i * 100);
    columns.tenant.push(tenantId);
    columns.slug.push(`bench-${i}`);
    columns.schema.push(tenantSchemaName(tenantId));
    columns.customer.push(customer.id);
    columns.method.push(newId());
    columns.methodGateway.push(card.id);
    columns.brand.push(card.brand);
    columns.last4.push(card.last4);
    columns.expMonth.push(card.expMonth);
    columns.expYear.push(card.expYear);
    columns.subscription.push(newId());
    columns.anchor.push(anchor);
    columns.periodEnd.push(nextBoundary(anchor, BillingInterval.Month, anchor));
  }
  const c = columns;
  await db.query('begin');
  await db.query(
    `insert into platform.tenant (id, slug, name, status, schema_name, created_at, updated_at)
     select t, s, 'Bench ' || s, 'active', sn, a, a
       from unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[]) as x(t, s, sn, a)`,
    [c.tenant, c.slug, c.schema, c.anchor],
  );
  await db.query(
    `insert into platform.billing_customer
       (tenant_id, gateway_id, email, name, default_payment_method_id, balance, created_at, updated_at)
     select t, g, 'billing+' || s || '@bench.example', 'Bench ' || s, m, 0, a, a
       from unnest($1::uuid[], $2::text[], $3::text[], $4::uuid[], $5::timestamptz[]) as x(t, g, s, m, a)`,
    [c.tenant, c.customer, c.slug, c.method, c.anchor],
  );
  await db.query(
    `insert into platform.payment_method
       (id, tenant_id, gateway_id, brand, last4, exp_month, exp_year, created_at)
     select * from unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::text[],
                          $6::smallint[], $7::smallint[], $8::timestamptz[])`,
    [c.method, c.tenant, c.methodGateway, c.brand, c.last4, c.expMonth, c.expYear, c.anchor],
  );
  await db.query(
    `insert into platform.subscription
       (id, tenant_id, plan_id, price_id, quantity, billing_anchor, status,
        current_period_start, current_period_end, created_at, updated_at)
     select id, t, $5, $6, 1, a, 'active', a, e, a, a
       from unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[]) as x(id, t, a, e)`,
    [c.subscription, c.tenant, c.anchor, c.periodEnd, price.planId, STARTER_USD_MONTH],
  );
  await db.query('commit');
  await db.query(
    'analyze platform.tenant, platform.billing_customer, platform.payment_method, platform.subscription',
  );
}

/** Polls until N cycle invoices are paid; fails at once when a renewal job failed. */
async function waitUntilPaid(db: Client, n: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const { rows } = await db.query<{ paid: number }>(
      `select count(*)::int as paid from platform.invoice
        where reason = 'subscription_cycle' and status = 'paid'`,
    );
    if (rows[0].paid >= n) return;
    const failed = await db.query<{ output: unknown }>(
      `select output from pgboss.job where name = $1 and state in ('retry', 'failed') limit 1`,
      [RENEW_QUEUE],
    );
    if (failed.rows[0]) {
      throw new Error(`a renewal job failed: ${JSON.stringify(failed.rows[0].output)}`);
    }
    if (performance.now() > deadline) {
      throw new Error(`${rows[0].paid} of ${n} renewals paid after ${ms(timeoutMs)}`);
    }
    await sleep(100);
  }
}

/** Exactly once: N paid invoices, one per subscription and period, one attempt and one charge each. */
async function verify(
  db: Client,
  gateway: SimulatedGateway,
  price: SeededPrice,
  n: number,
): Promise<void> {
  const { rows } = await db.query<Record<string, number>>(
    `select
       (select count(*)::int from platform.invoice where reason = 'subscription_cycle') as invoices,
       (select count(*)::int from platform.invoice
         where reason = 'subscription_cycle' and status = 'paid' and amount_paid = $1) as paid,
       (select count(distinct (subscription_id, period_start))::int from platform.invoice
         where reason = 'subscription_cycle') as periods,
       (select count(*)::int from platform.payment_attempt
         where trigger = 'renewal' and status = 'succeeded') as attempts,
       (select count(*)::int from platform.payment_attempt) as all_attempts,
       (select count(*)::int from platform.subscription
         where status = 'active' and current_period_end > now()) as advanced,
       (select count(*)::int from pgboss.job where name = $2 and state = 'completed') as jobs`,
    [price.unitAmount, RENEW_QUEUE],
  );
  const counts = rows[0];
  const charges = [...gateway.succeededPaymentsByInvoice().values()];
  const checks: [string, number, number][] = [
    ['cycle invoices', counts.invoices, n],
    ['paid in full', counts.paid, n],
    ['distinct subscription periods', counts.periods, n],
    ['succeeded renewal attempts', counts.attempts, n],
    ['payment attempts in all', counts.all_attempts, n],
    ['subscriptions moved one period on', counts.advanced, n],
    ['completed renewal jobs', counts.jobs, n],
    ['charges sent to the gateway', gateway.chargeLog.length, n],
    ['invoices charged exactly once', charges.filter((count) => count === 1).length, n],
  ];
  const wrong = checks.filter(([, actual, expected]) => actual !== expected);
  if (wrong.length) {
    throw new Error(
      `billing run check failed: ${wrong.map(([what, actual, expected]) => `${what} ${actual} (expected ${expected})`).join('; ')}`,
    );
  }
}

/**
 * How the run's time splits: the `billing.run` job queueing the renewals, and
 * how long a worker's batch of renewal jobs took on average (pg-boss stamps a
 * batch's jobs started together and completed together).
 */
async function queueingTime(db: Client): Promise<{ runMs: number; renewBatchMs: number }> {
  const { rows } = await db.query<{ run_ms: number; batch_ms: number }>(
    `select
       (select extract(epoch from completed_on - started_on) * 1000 from pgboss.job
         where name = $1)::float8 as run_ms,
       (select avg(extract(epoch from completed_on - started_on) * 1000) from pgboss.job
         where name = $2)::float8 as batch_ms`,
    [BILLING_RUN_QUEUE, RENEW_QUEUE],
  );
  return { runMs: rows[0].run_ms, renewBatchMs: rows[0].batch_ms };
}

/**
 * The baseline: the rows of one renewal (the counter, the invoice and its
 * line, the succeeded attempt, the subscription's next period) written by
 * plain SQL, one client, one transaction per renewal, for the period after
 * the one our run invoiced. Returns the elapsed milliseconds.
 */
async function plainSqlRenewals(db: Client, price: SeededPrice): Promise<number> {
  const started = performance.now();
  const { rows } = await db.query<{
    id: string;
    tenant_id: string;
    billing_anchor: Date;
    current_period_end: Date;
    default_payment_method_id: string;
  }>(
    `select s.id, s.tenant_id, s.billing_anchor, s.current_period_end, c.default_payment_method_id
       from platform.subscription s
       join platform.billing_customer c on c.tenant_id = s.tenant_id
      order by s.current_period_end`,
  );
  for (const s of rows) {
    const start = s.current_period_end;
    const end = nextBoundary(s.billing_anchor, BillingInterval.Month, start);
    const invoiceId = newId();
    const now = new Date();
    await db.query('begin');
    const counter = await db.query<{ value: string }>(
      `update platform.billing_counter set value = value + 1 where name = 'invoice' returning value`,
    );
    await db.query(
      `insert into platform.invoice
         (id, tenant_id, subscription_id, number, status, reason, currency, subtotal, total,
          amount_due, amount_paid, period_start, period_end, billing_key, attempt_count,
          paid_at, created_at, updated_at)
       values ($1, $2, $3, $4, 'paid', 'subscription_cycle', $5, $6, $6, $6, $6, $7, $8, $9, 1,
               $7, $7, $10)`,
      [
        invoiceId,
        s.tenant_id,
        s.id,
        `RAW-${counter.rows[0].value}`,
        price.currency,
        price.unitAmount,
        start,
        end,
        `raw:${s.id}:${start.toISOString()}`,
        now,
      ],
    );
    await db.query(
      `insert into platform.invoice_line
         (id, tenant_id, invoice_id, kind, description, quantity, unit_amount, amount, price_id,
          interval, period_start, period_end, created_at)
       values ($1, $2, $3, 'plan', 'Starter × 1', 1, $4, $4, $5, 'month', $6, $7, $6)`,
      [newId(), s.tenant_id, invoiceId, price.unitAmount, STARTER_USD_MONTH, start, end],
    );
    await db.query(
      `insert into platform.payment_attempt
         (id, tenant_id, invoice_id, attempt_number, trigger, amount, currency, idempotency_key,
          payment_method_id, status, gateway_payment_id, created_at, completed_at)
       values ($1, $2, $3, 1, 'renewal', $4, $5, $6, $7, 'succeeded', $8, $9, $9)`,
      [
        newId(),
        s.tenant_id,
        invoiceId,
        price.unitAmount,
        price.currency,
        `raw:${invoiceId}:attempt:1`,
        s.default_payment_method_id,
        `pi_raw_${invoiceId}`,
        now,
      ],
    );
    await db.query(
      `update platform.subscription
          set current_period_start = $2, current_period_end = $3, updated_at = $4
        where id = $1`,
      [s.id, start, end, now],
    );
    await db.query('commit');
  }
  return performance.now() - started;
}
