import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import PgBoss from 'pg-boss';
import { BillingCustomer } from '../../src/billing/entities/billing-customer.entity';
import { Invoice, InvoiceReason, InvoiceStatus } from '../../src/billing/entities/invoice.entity';
import { AttemptStatus, PaymentAttempt } from '../../src/billing/entities/payment-attempt.entity';
import { PaymentMethod } from '../../src/billing/entities/payment-method.entity';
import { Price } from '../../src/billing/entities/price.entity';
import { Subscription, SubscriptionStatus } from '../../src/billing/entities/subscription.entity';
import { PaymentGateway } from '../../src/billing/payments/payment-gateway';
import {
  RENEW_QUEUE,
  BILLING_RUN_QUEUE,
} from '../../src/billing/subscriptions/billing-run.service';
import { RECOVERY_SWEEP_QUEUE } from '../../src/billing/recovery/recovery.service';
import { JOB_SCHEMA, JobQueue } from '../../src/common/jobs/job-queue';
import { freePort } from '../../src/database/embedded-postgres';
import { Tenant, TenantStatus } from '../../src/tenancy/entities/tenant.entity';
import { createTestDatabase, TestDatabase } from '../support/database';
import { eventually } from '../support/polling';
import { bareEnv, buildOnce, ServerProcess, waitFor } from '../support/server-process';
import { bootTestApp, encryptionKeysOf, TestApp } from '../support/test-app';
import { PRICES } from './billing-helpers';
import { FakeStripeApi } from './stripe-api-server';

const COHORT = 40;
/** The worker is killed when the fake Stripe receives this cohort-B charge (held by a delay). */
const KILL_AT = 15;
/** Never during a test: the test fires the billing run and the recovery sweep itself. */
const NEVER = '0 0 1 1 *';
/** pg-boss fails a job left active this long after its worker died (the renew queue's default). */
const JOB_EXPIRY = '15 minutes';
/** The payment service's lease on a pending attempt. */
const ATTEMPT_LEASE = '5 minutes';

const T0 = new Date('2031-02-10T00:00:00.000Z');
const START = new Date('2031-01-10T00:00:00.000Z');
const cardFor = (i: number) => (i % 8 === 5 ? 'pm_card_chargeCustomerFail' : 'pm_card_visa');

/** The in-process app seeds and reads; it must not work the server's queues. */
const inertQueue = {
  define: () => undefined,
  send: () => Promise.resolve(null),
  depth: () => Promise.resolve(0),
};

interface Cohort {
  name: string;
  tenantIds: string[];
  subscriptionIds: string[];
}

/**
 * A billing run whose worker process is killed (SIGKILL, no shutdown) part-way
 * resumes on restart with the result of an uninterrupted run: every renewal
 * invoiced once and charged once at the gateway. The gateway is a fake Stripe
 * in this process, so its record survives the kill.
 */
describe('billing run killed mid-way', () => {
  let api: FakeStripeApi;
  let db: TestDatabase;
  let t: TestApp;
  let boss: PgBoss;
  let port: number;
  const dataDirs: string[] = [];
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    buildOnce();
    api = await FakeStripeApi.start();
    db = await createTestDatabase();
    const stripeEnv = { STRIPE_SECRET_KEY: api.secretKey, STRIPE_API_URL: api.url };
    t = await bootTestApp({
      database: db,
      env: { ...stripeEnv, BILLING_RUN_CRON: NEVER },
      override: (builder) => builder.overrideProvider(JobQueue).useValue(inertQueue),
    });
    boss = new PgBoss({
      connectionString: db.url,
      schema: JOB_SCHEMA,
      supervise: false,
      schedule: false,
      max: 2,
    });
    await boss.start();
    port = await freePort();
  });
  afterAll(async () => {
    for (const server of servers) server.signal('SIGKILL');
    await Promise.all(servers.map((s) => s.exited));
    await boss?.stop({ graceful: false, wait: true });
    await t?.close();
    await db?.drop();
    await api?.stop();
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  });

  async function startServer(): Promise<ServerProcess> {
    const dataDir = mkdtempSync(join(tmpdir(), 'groundwork-crash-'));
    dataDirs.push(dataDir);
    const server = new ServerProcess(
      'main.js',
      [],
      bareEnv({
        DATABASE_URL: db.url,
        DATA_DIR: dataDir,
        DATA_ENCRYPTION_KEYS: encryptionKeysOf(t),
        PORT: String(port),
        STRIPE_SECRET_KEY: api.secretKey,
        STRIPE_API_URL: api.url,
        BILLING_RUN_CRON: NEVER,
        LOG_LEVEL: 'warn',
      }),
    );
    servers.push(server);
    await waitFor(`http://127.0.0.1:${port}/health/ready`, 200, server);
    return server;
  }

  async function stop(server: ServerProcess, signal: NodeJS.Signals): Promise<void> {
    server.signal(signal);
    await server.exited;
    servers.splice(servers.indexOf(server), 1);
  }

  /** Fires what the cron would: the billing run and the recovery sweep. */
  async function tick(): Promise<void> {
    await boss.send(BILLING_RUN_QUEUE, {});
    await boss.send(RECOVERY_SWEEP_QUEUE, {});
  }

  /** `COHORT` tenants on monthly Starter whose first period ended at T0 (their test clock). */
  async function seed(name: string): Promise<Cohort> {
    const em = t.em();
    const gateway = t.app.get(PaymentGateway);
    const price = await em.findOneOrFail(
      Price,
      { id: PRICES.STARTER_MONTH },
      { populate: ['plan'] },
    );
    const now = new Date();
    const cohort: Cohort = { name, tenantIds: [], subscriptionIds: [] };
    for (let i = 0; i < COHORT; i++) {
      const slug = `crash-${name}-${i}-${randomBytes(4).toString('hex')}`;
      const tenant = em.create(Tenant, {
        slug,
        status: TenantStatus.Active,
        name: `Crash ${name} ${i}`,
        schemaName: `t_${slug.replace(/-/g, '_')}`,
        createdAt: now,
        updatedAt: now,
      });
      const email = `billing@${slug}.example.com`;
      const customer = await gateway.createCustomer({
        email,
        name: tenant.name,
        tenantId: tenant.id,
      });
      const card = await gateway.attachPaymentMethod(customer.id, cardFor(i));
      const method = em.create(PaymentMethod, {
        tenantId: tenant.id,
        gatewayId: card.id,
        brand: card.brand,
        last4: card.last4,
        expMonth: card.expMonth,
        expYear: card.expYear,
        createdAt: now,
      });
      em.create(BillingCustomer, {
        tenantId: tenant.id,
        gatewayId: customer.id,
        email,
        name: tenant.name,
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
        billingAnchor: START,
        currentPeriodStart: START,
        currentPeriodEnd: T0,
        createdAt: now,
        updatedAt: now,
      });
      cohort.tenantIds.push(tenant.id);
      cohort.subscriptionIds.push(subscription.id);
    }
    await em.flush();
    return cohort;
  }

  const sql = <T>(query: string, params: unknown[] = []) =>
    t.em().getConnection().execute<T[]>(query, params);

  /** The cohort's charge requests the fake received, and the ones that succeeded, per invoice. */
  function gatewayRecord(cohort: Cohort) {
    const tenants = new Set(cohort.tenantIds);
    const ours = (metadata: unknown) =>
      tenants.has((metadata as Record<string, string> | undefined)?.tenant_id ?? '');
    const requests = api
      .requestsTo('POST /v1/payment_intents')
      .filter((r) => ours(r.params.metadata));
    const succeeded = new Map<string, number>();
    for (const intent of api.paymentIntents.values()) {
      const metadata = intent.metadata as Record<string, string>;
      if (!ours(metadata) || intent.status !== 'succeeded') continue;
      succeeded.set(metadata.invoice_id, (succeeded.get(metadata.invoice_id) ?? 0) + 1);
    }
    return { requests, succeeded };
  }

  /** Every subscription renewed, every attempt settled, and no renewal job left to run. */
  const quiet = (cohort: Cohort) => {
    let polls = 0;
    return eventually(
      `cohort ${cohort.name} to be quiet`,
      async () => {
        const [renewed] = await sql<{ n: string }>(
          'select count(*) as n from platform.subscription where id in (?) and current_period_start = ?',
          [cohort.subscriptionIds, T0],
        );
        const [open] = await sql<{ n: string }>(
          `select count(*) as n from platform.payment_attempt
            where tenant_id in (?) and status in ('pending', 'unknown')`,
          [cohort.tenantIds],
        );
        const [unattempted] = await sql<{ n: string }>(
          `select count(*) as n from platform.invoice i
            where i.tenant_id in (?) and i.reason = 'subscription_cycle' and i.status = 'open'
              and not exists (select 1 from platform.payment_attempt a where a.invoice_id = i.id)`,
          [cohort.tenantIds],
        );
        const [jobs] = await sql<{ n: string }>(
          `select count(*) as n from pgboss.job
            where name = ? and state in ('created', 'retry', 'active')`,
          [RENEW_QUEUE],
        );
        const done =
          Number(renewed.n) === COHORT &&
          Number(open.n) === 0 &&
          Number(unattempted.n) === 0 &&
          Number(jobs.n) === 0;
        // As the cron would, now and then (not on every poll).
        if (!done && ++polls % 20 === 0) await tick();
        process.stderr.write(`${cohort.name} ${renewed.n} ${open.n} ${unattempted.n} ${jobs.n}\n`);
        return done;
      },
      90_000,
    );
  };

  /** The cohort's end state, in seeding order and without ids. */
  async function endState(cohort: Cohort) {
    const em = t.em();
    const subscriptions = await em.find(Subscription, { id: { $in: cohort.subscriptionIds } });
    const invoices = await em.find(
      Invoice,
      { subscription: { $in: cohort.subscriptionIds }, reason: InvoiceReason.SubscriptionCycle },
      { orderBy: { periodStart: 'asc' } },
    );
    const attempts = await em.find(PaymentAttempt, { tenantId: { $in: cohort.tenantIds } });
    const { succeeded } = gatewayRecord(cohort);
    return cohort.subscriptionIds.map((id) => {
      const subscription = subscriptions.find((s) => s.id === id)!;
      const own = invoices.filter((i) => i.subscription?.id === id);
      return {
        subscription: [
          subscription.status,
          subscription.currentPeriodStart,
          subscription.currentPeriodEnd,
        ],
        invoices: own.map((invoice) => ({
          status: invoice.status,
          total: invoice.total,
          amountPaid: invoice.amountPaid,
          period: [invoice.periodStart, invoice.periodEnd],
          nextAttemptAt: invoice.nextAttemptAt ?? null,
          attempts: attempts
            .filter((a) => a.invoice.id === invoice.id)
            .map((a) => [a.status, a.amount, a.category ?? null]),
          chargedAtGateway: succeeded.get(invoice.id) ?? 0,
        })),
      };
    });
  }

  it(`a run of ${COHORT} renewals SIGKILLed part-way ends, after a restart, as an uninterrupted run does`, async () => {
    // Cohort A: uninterrupted.
    const a = await seed('a');
    const first = await startServer();
    await tick();
    await quiet(a);
    await stop(first, 'SIGTERM');
    const expected = await endState(a);

    // Cohort B: the same renewals; each charge is held at the fake until the worker is killed.
    const b = await seed('b');
    api.failNext('POST /v1/payment_intents', { kind: 'delay', ms: 300 }, KILL_AT);
    const second = await startServer();
    await tick();
    await eventually(
      `charge ${KILL_AT} of cohort B to reach the gateway`,
      () => Promise.resolve(gatewayRecord(b).requests.length >= KILL_AT),
      30_000,
    );
    await stop(second, 'SIGKILL');
    const chargedBeforeKill = [...gatewayRecord(b).succeeded.values()].reduce((x, y) => x + y, 0);
    // The held request still completes at the gateway: the answer is what was lost.
    await sleep(500);
    const chargedByKill = [...gatewayRecord(b).succeeded.values()].reduce((x, y) => x + y, 0);
    const renewedByKill = (
      await sql<{ n: string }>(
        'select count(*) as n from platform.subscription where id in (?) and current_period_start = ?',
        [b.subscriptionIds, T0],
      )
    )[0].n;
    // Some but not all were charged, and one attempt was left pending by the dead worker.
    expect(chargedByKill).toBeGreaterThan(0);
    expect(chargedByKill).toBeLessThan(COHORT);
    const pending = await sql<{ id: string }>(
      "select id from platform.payment_attempt where tenant_id in (?) and status = 'pending'",
      [b.tenantIds],
    );
    expect(pending.length).toBeGreaterThan(0);

    // Time passes before anyone notices (a test cannot wait it out): the dead worker's
    // renewal jobs reach pg-boss's expiry, which fails them for a retry, and its
    // pending attempt outlives the payment service's lease.
    await sql(
      `update pgboss.job set started_on = started_on - interval '${JOB_EXPIRY}' - interval '1 second'
        where name = ? and state = 'active'`,
      [RENEW_QUEUE],
    );
    const expired = await sql<{ id: string }>(
      `select id from pgboss.job where name = ? and state = 'active' and started_on + expire_in < now()`,
      [RENEW_QUEUE],
    );
    expect(expired.length).toBeGreaterThan(0);
    // What pg-boss's maintenance does to an expired job (its first run is minutes after a start).
    await boss.fail(
      RENEW_QUEUE,
      expired.map((job) => job.id),
    );
    await sql(
      `update platform.payment_attempt set created_at = created_at - interval '${ATTEMPT_LEASE}' - interval '1 second'
        where tenant_id in (?) and status = 'pending'`,
      [b.tenantIds],
    );

    // Restarted: the run resumes, the pending attempt is reconciled under its own key.
    const third = await startServer();
    await tick();
    await quiet(b);
    await stop(third, 'SIGTERM');

    const actual = await endState(b);
    expect(actual).toEqual(expected);
    const { requests, succeeded } = gatewayRecord(b);
    const doubleCharges = [...succeeded.values()].filter((n) => n > 1).length;
    expect(doubleCharges).toBe(0);
    const paid = actual.flatMap((s) => s.invoices).filter((i) => i.status === InvoiceStatus.Paid);
    expect(paid.every((i) => i.chargedAtGateway === 1)).toBe(true);
    expect(
      await t.em().count(PaymentAttempt, {
        tenantId: { $in: b.tenantIds },
        status: { $in: [AttemptStatus.Pending, AttemptStatus.Unknown] },
      }),
    ).toBe(0);

    // The figures the closing note quotes.
    // eslint-disable-next-line no-console
    console.log(
      [
        'billing run killed mid-way (SIGKILL) and restarted:',
        `  renewals: ${COHORT} per cohort (${paid.length} paid, ${COHORT - paid.length} declined into dunning)`,
        `  killed after ${chargedBeforeKill} charges answered (${chargedByKill} charged at the gateway once the held request completed; ${renewedByKill} renewals invoiced)`,
        `  attempts left pending by the dead worker: ${pending.length}; renewal jobs it left active: ${expired.length}`,
        `  charge requests at the gateway: ${requests.length}; succeeded charges: ${[...succeeded.values()].reduce((x, y) => x + y, 0)}`,
        `  double charges: ${doubleCharges}`,
        `  end state equal to the uninterrupted cohort: yes`,
      ].join('\n'),
    );
  }, 150_000);
});
