import { randomBytes } from 'node:crypto';
import { ClsService } from 'nestjs-cls';
import type { Histogram } from 'prom-client';
import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { Clock, ManualClock } from '../../src/common/clock';
import { OutboxMessage } from '../../src/notifications/entities/outbox-message.entity';
import { Metrics } from '../../src/observability/metrics';
import { iso, PRICES } from '../billing/billing-helpers';
import {
  createUser,
  TEST_PASSWORD,
  uniqueEmail,
  uniqueSlug,
  type Actor,
} from '../support/factories';
import { erroredFields, expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

type Headers = Record<string, string>;

/** An organisation signed up through the API, and how its owner signs in again. */
interface Account {
  tenantId: string;
  email: string;
  headers: Headers;
}

interface Figure {
  key: string;
  currency: string | null;
  value: number | null;
  unit: string;
  target: { op: string; value: number } | null;
  met: boolean | null;
  basis: { numerator: number; denominator: number } | null;
}

const ROUTE = '/v1/admin/metrics/business';

/** The calls both suites share: sign-up, sign-in, test clock, cards, subscriptions. */
function client(t: () => TestApp, clock: ManualClock) {
  const api = () => request(t().server);
  let staff: Actor | undefined;
  let staffIssuedAt = 0;
  /** A platform admin whose session is fresh by the app's clock (sessions last 30 days). */
  const admin = async (): Promise<Headers> => {
    const now = clock.now().getTime();
    if (!staff || now - staffIssuedAt > 20 * 86_400_000) {
      staff = await createUser(t().app, { platformRole: PlatformRole.Admin });
      staffIssuedAt = now;
    }
    return staff.headers;
  };
  return {
    api,
    admin,
    /** Midnight UTC of `day` for the app (sign-ups, sessions, tickets, attempts are stamped with it). */
    at(day: string): void {
      clock.set(new Date(iso(day)));
    },
    async signUp(): Promise<Account> {
      const email = uniqueEmail('owner');
      const res = await api()
        .post('/v1/auth/signup')
        .send({
          email,
          password: TEST_PASSWORD,
          name: 'Ada Owner',
          organizationName: 'Metrics Ltd',
          organizationSlug: uniqueSlug('metrics'),
        })
        .expect(201);
      const tenantId = res.body.tenantId as string;
      return {
        tenantId,
        email,
        headers: { Authorization: `Bearer ${res.body.accessToken}`, 'X-Tenant-Id': tenantId },
      };
    },
    /** A new session for the owner at the app's time (an earlier one may have expired). */
    async signIn(account: Account): Promise<void> {
      const res = await api()
        .post('/v1/auth/login')
        .send({ email: account.email, password: TEST_PASSWORD })
        .expect(200);
      account.headers = {
        Authorization: `Bearer ${res.body.accessToken}`,
        'X-Tenant-Id': account.tenantId,
      };
    },
    /** The tenant's billing time to midnight of `day`, running what falls due. */
    async advance(account: Account, day: string): Promise<void> {
      await api()
        .post(`/v1/admin/billing/test-clocks/${account.tenantId}/advance`)
        .set(await admin())
        .send({ to: iso(day) })
        .expect(200);
    },
    async card(account: Account, paymentMethodId: string, makeDefault = true): Promise<void> {
      await api()
        .post('/v1/billing/payment-methods')
        .set(account.headers)
        .send({ paymentMethodId, makeDefault })
        .expect(201);
    },
    async subscribe(account: Account, priceId: string, quantity = 1, trial = false): Promise<void> {
      await api()
        .post('/v1/billing/subscription')
        .set(account.headers)
        .send(trial ? { priceId, quantity, trial } : { priceId, quantity })
        .expect(201);
    },
    async change(account: Account, body: { priceId?: string; quantity?: number }): Promise<void> {
      const res = await api()
        .post('/v1/billing/subscription/change')
        .set(account.headers)
        .send(body);
      expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({
        status: 200,
        body: null,
      });
    },
    async ticket(account: Account): Promise<void> {
      await api()
        .post('/v1/support/tickets')
        .set(account.headers)
        .send({ subject: 'Where is my invoice?', description: 'I cannot find it.' })
        .expect(201);
    },
    async report(
      from: string,
      to: string,
    ): Promise<{ figures: Figure[]; body: Record<string, unknown> }> {
      const res = await api()
        .get(ROUTE)
        .query({ from, to })
        .set(await admin());
      expect({ status: res.status, body: res.status === 200 ? null : res.body }).toEqual({
        status: 200,
        body: null,
      });
      return { figures: res.body.figures as Figure[], body: res.body };
    },
  };
}

const pick = (figures: Figure[], key: string, currency: string | null = null): Figure => {
  const found = figures.find((f) => f.key === key && f.currency === currency);
  if (!found) throw new Error(`no figure ${key} ${currency ?? ''}`);
  return found;
};
const values = (figures: Figure[], currency: string | null, keys: string[]) =>
  Object.fromEntries(keys.map((key) => [key, pick(figures, key, currency).value]));

/**
 * Business metrics over a history built day by day with a manual app clock
 * (sign-ups, sessions, tickets, charge attempts) and per-tenant test clocks
 * (billing: renewals, trials, retries, dunning). Every figure is checked
 * exactly against what the history says it must be.
 */
describe('GET /v1/admin/metrics/business', () => {
  let t: TestApp;
  const clock = new ManualClock(new Date(iso('2030-12-01')));
  const c = client(() => t, clock);
  let support: Actor;
  let owner: Account;

  beforeAll(async () => {
    t = await bootTestApp({ override: (b) => b.overrideProvider(Clock).useValue(clock) });
    await history();
  }, 180_000);
  afterAll(() => t.close());

  /** The verification link mailed to `to` (the outbox: no SMTP in tests). */
  async function verifyEmail(to: string): Promise<void> {
    const [message] = await t
      .em()
      .find(
        OutboxMessage,
        { to, template: 'auth.verify_email' },
        { orderBy: { createdAt: 'desc' }, limit: 1 },
      );
    const token = /token=([A-Za-z0-9_-]{43})/.exec(message?.text ?? '')?.[1];
    expect(token).toBeDefined();
    await c.api().post('/v1/auth/verify-email').send({ token }).expect(204);
  }

  /**
   * December 2030: seven paying or trialing organisations (O1, O3–O8).
   * January 2031 (the period under test): six sign-ups (N1–N6), renewals,
   * an upgrade, a downgrade, a churn, two dunning campaigns ending, trials
   * ending, tickets. February: two late first payments.
   */
  async function history(): Promise<void> {
    const { at, signUp, signIn, advance, card, subscribe, change, ticket } = c;

    at('2030-12-01'); // O1: Pro monthly, 1 seat (2 900 USD)
    const o1 = await signUp();
    await advance(o1, '2030-12-01');
    await card(o1, 'pm_card_visa');
    await subscribe(o1, PRICES.PRO_MONTH);

    at('2030-12-02'); // O6: Starter monthly (1 200 USD); its renewal will fail
    const o6 = await signUp();
    await advance(o6, '2030-12-02');
    await card(o6, 'pm_card_visa');
    await subscribe(o6, PRICES.STARTER_MONTH);
    await card(o6, 'pm_card_chargeCustomerFail');

    at('2030-12-10'); // O3: Pro monthly, 2 seats (5 800 USD); a ticket in December
    const o3 = await signUp();
    await advance(o3, '2030-12-10');
    await card(o3, 'pm_card_visa');
    await subscribe(o3, PRICES.PRO_MONTH, 2);
    await ticket(o3);

    at('2030-12-15'); // O4: Pro monthly in EUR (2 700 EUR)
    const o4 = await signUp();
    await advance(o4, '2030-12-15');
    await card(o4, 'pm_card_visa');
    await subscribe(o4, PRICES.PRO_EUR_MONTH);

    at('2030-12-20'); // O5: Starter monthly (1 200 USD); its renewal will fail, then recover
    const o5 = await signUp();
    await advance(o5, '2030-12-20');
    await card(o5, 'pm_card_visa');
    await subscribe(o5, PRICES.STARTER_MONTH);
    await card(o5, 'pm_card_chargeCustomerFail');

    at('2030-12-25'); // O7: a Starter trial with a card: ends on 8 January and pays
    const o7 = await signUp();
    await advance(o7, '2030-12-25');
    await card(o7, 'pm_card_visa');
    await subscribe(o7, PRICES.STARTER_MONTH, 1, true);

    at('2030-12-28'); // O8: Starter monthly in EUR (1 100 EUR); its renewal will fail and stay unpaid
    const o8 = await signUp();
    await advance(o8, '2030-12-28');
    await card(o8, 'pm_card_visa');
    await subscribe(o8, PRICES.STARTER_EUR_MONTH);
    await card(o8, 'pm_card_chargeCustomerFail');

    // ---- January ----
    at('2031-01-01');
    await advance(o1, '2031-01-01'); // renewal paid (attempt 1 ✓)

    at('2031-01-02');
    const n1 = await signUp();
    await verifyEmail(n1.email); // the link is valid for a day

    at('2031-01-03'); // N2: Pro trial with a card, ends 17 January and pays
    const n2 = await signUp();
    await advance(n2, '2031-01-03');
    await card(n2, 'pm_card_visa');
    await subscribe(n2, PRICES.PRO_MONTH, 1, true);

    at('2031-01-04');
    // O6: the 2 January renewal and the day-1 retry fail (✗ ✗); staff end it: churned.
    await advance(o6, '2031-01-04');
    await c
      .api()
      .post(`/v1/admin/billing/tenants/${o6.tenantId}/subscription/cancel`)
      .set(await c.admin())
      .send({ reason: 'Asked by phone' })
      .expect(200);
    // N3: a Starter trial without a card, cancelled: it ends on 18 January unpaid.
    const n3 = await signUp();
    await advance(n3, '2031-01-04');
    await subscribe(n3, PRICES.STARTER_MONTH, 1, true);
    await c
      .api()
      .post('/v1/billing/subscription/cancel')
      .set(n3.headers)
      .send({ reason: 'too_expensive' })
      .expect(200);

    at('2031-01-05'); // N1 pays a yearly Pro for 2 seats (58 000: not a multiple of 12 per month) and onboards fully
    await advance(n1, '2031-01-05');
    await card(n1, 'pm_card_visa');
    await subscribe(n1, PRICES.PRO_YEAR, 2); // ✓
    await c
      .api()
      .post('/v1/tenant/invitations')
      .set(n1.headers)
      .send({ email: uniqueEmail('teammate'), role: 'member' })
      .expect(201);
    await ticket(n1);
    await c.api().post('/v1/tenant/api-keys').set(n1.headers).send({ name: 'CI' }).expect(201);

    at('2031-01-06');
    const n4 = await signUp();
    at('2031-01-07');
    const n5 = await signUp();

    at('2031-01-08');
    const n6 = await signUp();
    await c
      .api()
      .post(`/v1/admin/tenants/${n6.tenantId}/suspend`)
      .set(await c.admin())
      .send({ reason: 'Signed up with a stolen card' })
      .expect(200);
    await advance(o7, '2031-01-08'); // O7's trial ends and pays ✓

    at('2031-01-10');
    await advance(o3, '2031-01-10'); // renewal ✓

    at('2031-01-15');
    await advance(o4, '2031-01-15'); // EUR renewal ✓
    await advance(o3, '2031-01-15');
    await signIn(o3);
    await change(o3, { priceId: PRICES.STARTER_MONTH, quantity: 2 }); // downgrade: credit waits, no charge

    at('2031-01-16');
    await advance(o1, '2031-01-16');
    await signIn(o1);
    await change(o1, { quantity: 3 }); // upgrade, prorated and charged ✓
    await ticket(o1);
    await ticket(o1);
    await ticket(o1);

    at('2031-01-17');
    await advance(n2, '2031-01-17'); // N2's trial ends and pays ✓
    await ticket(n2);

    at('2031-01-18');
    await advance(n3, '2031-01-18'); // N3's trial ends: cancelled, nothing paid

    at('2031-01-20');
    await advance(o5, '2031-01-20'); // renewal fails ✗

    at('2031-01-24');
    await advance(o5, '2031-01-24'); // retries on days 1 and 3 fail ✗ ✗
    await signIn(o5);
    await card(o5, 'pm_card_visa'); // a new default card is charged at once ✓: recovered

    at('2031-01-28');
    await advance(o8, '2031-01-28'); // renewal fails ✗: past due, its campaign still running

    // ---- February: first payments on day 30 (counts) and day 31 (too late) of two January sign-ups ----
    at('2031-02-05');
    await advance(n4, '2031-02-05');
    await signIn(n4);
    await card(n4, 'pm_card_visa');
    await subscribe(n4, PRICES.STARTER_MONTH);

    at('2031-02-07');
    await advance(n5, '2031-02-07');
    await signIn(n5);
    await card(n5, 'pm_card_visa');
    await subscribe(n5, PRICES.STARTER_MONTH);

    support = await createUser(t.app, { platformRole: PlatformRole.Support });
    owner = n1;
  }

  it('January 2031: every rate, exactly, with its basis and target', async () => {
    const { figures, body } = await c.report('2031-01-01', '2031-01-31');
    expect(body).toMatchObject({
      from: '2031-01-01',
      to: '2031-01-31',
      periodStart: iso('2031-01-01'),
      periodEnd: iso('2031-02-01'),
    });
    const rate = (key: string) => {
      const { value, unit, target, met, basis } = pick(figures, key);
      return { value, unit, target, met, basis };
    };
    // N1..N6 signed up; N1 (day 3), N2 (day 14, its trial), N4 (day 30 exactly) paid in time; N5 on day 31.
    expect(rate('subscription_conversion_rate')).toEqual({
      value: 0.5,
      unit: 'ratio',
      target: { op: '>', value: 0.05 },
      met: true,
      basis: { numerator: 3, denominator: 6 },
    });
    // O7 and N2 paid at the end of their trials; N3 cancelled.
    expect(rate('trial_conversion_rate')).toEqual({
      value: 0.6667,
      unit: 'ratio',
      target: null,
      met: null,
      basis: { numerator: 2, denominator: 3 },
    });
    // Only N1 did all six steps.
    expect(rate('onboarding_completion_rate')).toEqual({
      value: 0.1667,
      unit: 'ratio',
      target: { op: '>', value: 0.9 },
      met: false,
      basis: { numerator: 1, denominator: 6 },
    });
    // ✓ O1 ×2, N1, O7, O3, O4, N2, O5; ✗ O6 ×2, O5 ×3, O8. December and February attempts are outside.
    expect(rate('payment_success_rate')).toEqual({
      value: 0.5714,
      unit: 'ratio',
      target: { op: '>', value: 0.98 },
      met: false,
      basis: { numerator: 8, denominator: 14 },
    });
    // O5 recovered on 24 January; O6's campaign closed when staff ended it on 4 January; O8's runs on.
    expect(rate('dunning_recovery_rate')).toEqual({
      value: 0.5,
      unit: 'ratio',
      target: null,
      met: null,
      basis: { numerator: 1, denominator: 2 },
    });
    // The admin recovery report reads the same campaigns by the month they started in (O6, O5 in
    // USD; O8, still running, in EUR): the same statuses, another question (docs/metrics).
    const recovery = await c
      .api()
      .get('/v1/admin/billing/recovery')
      .query({ from: iso('2031-01-01'), to: iso('2031-02-01') })
      .set(await c.admin())
      .expect(200);
    expect(
      (recovery.body.currencies as { currency: string; counts: Record<string, number> }[]).map(
        ({ currency, counts }) => ({ currency, ...counts }),
      ),
    ).toEqual([
      {
        currency: 'eur',
        started: 1,
        recovered: 0,
        canceled: 0,
        writtenOff: 0,
        closed: 0,
        running: 1,
      },
      {
        currency: 'usd',
        started: 2,
        recovered: 1,
        canceled: 0,
        writtenOff: 0,
        closed: 1,
        running: 0,
      },
    ]);
    // Tickets: O1 ×3, N1, N2 (O3's was in December). Signed in: N1–N5 and O1, O3, O5
    // (N6's organisation is suspended; staff belong to none).
    expect(rate('support_tickets_per_100_active_users')).toEqual({
      value: 62.5,
      unit: 'tickets_per_100_users',
      target: { op: '<', value: 5 },
      met: false,
      basis: { numerator: 5, denominator: 8 },
    });
  });

  it('January 2031: MRR, ARR, ARPA and net revenue churn per currency, to the cent', async () => {
    const { figures } = await c.report('2031-01-01', '2031-01-31');
    const keys = [
      'mrr',
      'arr',
      'arpa',
      'paying_accounts',
      'net_revenue_churn_rate',
      'mrr_at_start',
      'churned_mrr',
      'contraction_mrr',
      'expansion_mrr',
      'new_mrr',
    ];
    // Start (end of 31 December): O1 2 900, O3 5 800, O5 1 200, O6 1 200 (O7 trialing) = 11 100.
    // End (end of 31 January): O1 8 700 (3 seats), O3 2 400 (downgraded), O5 1 200, O7 1 200,
    // N1 58 000 / 12 = 4 833.33, N2 2 900 → 254 800 / 12 = 21 233.33 → 21 233; ARR exact 254 800;
    // ARPA 254 800 / (12 × 6) = 3 538.89 → 3 539. Churned O6 1 200, contraction O3 3 400,
    // expansion O1 5 800: (1 200 + 3 400 − 5 800) / 11 100 = −0.1081. New: O7, N1, N2 = 8 933.33.
    expect(values(figures, 'usd', keys)).toEqual({
      mrr: 21_233,
      arr: 254_800,
      arpa: 3539,
      paying_accounts: 6,
      net_revenue_churn_rate: -0.1081,
      mrr_at_start: 11_100,
      churned_mrr: 1200,
      contraction_mrr: 3400,
      expansion_mrr: 5800,
      new_mrr: 8933,
    });
    // O4 2 700 and O8 1 100 at both ends: O8's unpaid renewal (past due, in dunning) still counts.
    expect(values(figures, 'eur', keys)).toEqual({
      mrr: 3800,
      arr: 45_600,
      arpa: 1900,
      paying_accounts: 2,
      net_revenue_churn_rate: 0,
      mrr_at_start: 3800,
      churned_mrr: 0,
      contraction_mrr: 0,
      expansion_mrr: 0,
      new_mrr: 0,
    });
    expect(pick(figures, 'mrr', 'usd')).toMatchObject({
      unit: 'minor_units',
      target: null,
      met: null,
    });
    // Never summed across currencies.
    expect(figures.filter((f) => f.key === 'mrr').map((f) => f.currency)).toEqual(['eur', 'usd']);
  });

  it('December 2030 ends where January starts; a month with nothing to compare has no churn rate', async () => {
    const { figures } = await c.report('2030-12-01', '2030-12-31');
    expect(
      values(figures, 'usd', ['mrr', 'mrr_at_start', 'new_mrr', 'net_revenue_churn_rate']),
    ).toEqual({ mrr: 11_100, mrr_at_start: 0, new_mrr: 11_100, net_revenue_churn_rate: null });
    // O1, O6, O3, O4, O5, O8 subscribed: six first charges, all paid; O3's ticket.
    expect(pick(figures, 'payment_success_rate').basis).toEqual({ numerator: 6, denominator: 6 });
    expect(pick(figures, 'payment_success_rate').met).toBe(true);
    expect(pick(figures, 'support_tickets_per_100_active_users').basis?.numerator).toBe(1);
    // Nothing ended in December: no basis, no value, no verdict.
    expect(pick(figures, 'dunning_recovery_rate')).toMatchObject({
      value: null,
      met: null,
      basis: { numerator: 0, denominator: 0 },
    });
  });

  it('a period reaching past now ends now', async () => {
    // The app's clock is at 7 February 2031.
    const { body, figures } = await c.report('2031-02-01', '2031-02-28');
    expect(body).toMatchObject({ periodStart: iso('2031-02-01'), periodEnd: iso('2031-02-07') });
    // N4's payment on the 5th counts; N5's (the 7th, at the very end) is not before the end.
    expect(pick(figures, 'payment_success_rate').basis).toEqual({ numerator: 1, denominator: 1 });
  });

  it('HTTP latency: average and p95 of the histogram since start, probes left out, as histogram_quantile', async () => {
    const histogram = t.app
      .get(Metrics)
      .registry.getSingleMetric('groundwork_http_request_duration_seconds') as Histogram;
    histogram.reset();
    const labels = (route: string) => ({ method: 'GET', route, status_code: '200' });
    for (const seconds of [0.02, 0.04, 0.2]) histogram.observe(labels('/v1/tenant'), seconds);
    histogram.observe(
      { ...labels('/v1/support/tickets'), method: 'POST', status_code: '201' },
      0.3,
    );
    histogram.observe(labels('/health/ready'), 9);
    histogram.observe(labels('/health'), 9);
    const { figures, body } = await c.report('2031-01-01', '2031-01-31');
    // Four requests, 0.56 s in all: 140 ms. p95: rank 3.8 falls in (0.25, 0.5] holding one: 0.25 + 0.25 × 0.8.
    expect(pick(figures, 'http_latency_average_ms')).toMatchObject({
      value: 140,
      unit: 'ms',
      target: { op: '<', value: 300 },
      met: true,
    });
    expect(pick(figures, 'http_latency_p95_ms')).toMatchObject({
      value: 450,
      unit: 'ms',
      target: null,
    });
    expect(new Date(body.latencySince as string).getTime()).toBeLessThan(Date.now());
  });

  it('platform support may read it; a tenant owner may not; nobody anonymous', async () => {
    const query = { from: '2031-01-01', to: '2031-01-31' };
    const ok = await c.api().get(ROUTE).query(query).set(support.headers);
    expect(ok.status).toBe(200);
    expectProblem(await c.api().get(ROUTE).query(query), 401, 'unauthenticated');
    await c.signIn(owner);
    expectProblem(await c.api().get(ROUTE).query(query).set(owner.headers), 403, 'forbidden');
  });

  it('refuses a missing, malformed or impossible day, a reversed or too long period, and a future one', async () => {
    const get = async (query: Record<string, string>) =>
      c
        .api()
        .get(ROUTE)
        .query(query)
        .set(await c.admin());
    let body = expectProblem(await get({ to: '2031-01-31' }), 400, 'validation_failed');
    expect(erroredFields(body)).toEqual(['from']);
    body = expectProblem(
      await get({ from: '2031-02-29', to: '31/03/2031' }),
      400,
      'validation_failed',
    );
    expect(erroredFields(body)).toEqual(['from', 'to']);
    // PostgreSQL has no year 0; nothing in Groundwork predates 1970.
    body = expectProblem(
      await get({ from: '0000-01-01', to: '1969-12-31' }),
      400,
      'validation_failed',
    );
    expect(erroredFields(body)).toEqual(['from', 'to']);
    body = expectProblem(
      await get({ from: '2031-01-01T00:00:00Z', to: '2031-01-31' }),
      400,
      'validation_failed',
    );
    expect(erroredFields(body)).toEqual(['from']);

    body = expectProblem(
      await get({ from: '2031-01-31', to: '2031-01-01' }),
      400,
      'metrics_range_invalid',
    );
    expect(body.detail).toMatch(/must not be after/);

    // 2028 is a leap year: 366 days are allowed, 367 are not.
    expect((await get({ from: '2028-01-01', to: '2028-12-31' })).status).toBe(200);
    body = expectProblem(
      await get({ from: '2028-01-01', to: '2029-01-01' }),
      400,
      'metrics_range_too_long',
    );
    expect(body).toMatchObject({ days: 367, maxDays: 366 });

    body = expectProblem(
      await get({ from: '2031-02-08', to: '2031-02-09' }),
      400,
      'metrics_range_in_future',
    );
    expect(body.detail).toMatch(/after today \(2031-02-07\)/);
  });
});

/**
 * One report, the same statements however many organisations there are:
 * statements are attributed to the request by its CLS id (its request id).
 */
describe('business metrics statement count', () => {
  let t: TestApp;
  let cls: ClsService;
  const byRequest = new Map<string, string[]>();
  const clock = new ManualClock(new Date(iso('2031-03-01')));
  const c = client(() => t, clock);

  beforeAll(async () => {
    t = await bootTestApp({
      override: (b) => b.overrideProvider(Clock).useValue(clock),
      orm: {
        onQuery: (line) => {
          if (!cls?.isActive()) return;
          const id = cls.getId();
          if (typeof id !== 'string' || !id.startsWith('bm-')) return;
          byRequest.set(id, [...(byRequest.get(id) ?? []), line]);
        },
      },
    });
    cls = t.app.get(ClsService);
  }, 120_000);
  afterAll(() => t.close());

  async function payingOrganisations(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const account = await c.signUp();
      await c.card(account, 'pm_card_visa');
      await c.subscribe(account, PRICES.STARTER_MONTH);
      await c.ticket(account);
    }
  }

  /** The statements of one report, six hours on (the period is today: it ends now). */
  async function statements(): Promise<string[]> {
    clock.advance(6 * 3_600_000);
    const headers = await c.admin();
    const query = { from: '2031-03-01', to: '2031-03-01' };
    await c.api().get(ROUTE).query(query).set(headers).expect(200); // warms the caller's caches
    const requestId = `bm-${randomBytes(6).toString('hex')}`;
    await c.api().get(ROUTE).query(query).set(headers).set('X-Request-Id', requestId).expect(200);
    return byRequest.get(requestId) ?? [];
  }

  it('is the same with 2 and with 6 organisations, and never names a tenant schema', async () => {
    await payingOrganisations(2);
    const two = await statements();
    await payingOrganisations(4);
    const six = await statements();
    const { figures } = await c.report('2031-03-01', '2031-03-01');
    expect(pick(figures, 'paying_accounts', 'usd').value).toBe(6);
    expect(pick(figures, 'subscription_conversion_rate').basis).toEqual({
      numerator: 6,
      denominator: 6,
    });
    expect(pick(figures, 'support_tickets_per_100_active_users').basis).toEqual({
      numerator: 6,
      denominator: 6,
    });
    expect(six.length).toBe(two.length);
    // The snapshot's transaction around six aggregates; the pipeline's own checks are cached.
    expect(six).toHaveLength(8);
    expect(six[0]).toMatch(/start transaction isolation level repeatable read read only/);
    expect(six[7]).toMatch(/commit/);
    expect(
      six.filter((q) =>
        /platform\.(tenant|subscription|payment_attempt|dunning_campaign|support_queue|invoice_line)\b/.test(
          q,
        ),
      ).length,
    ).toBe(6);
    expect(six.some((q) => /"?tenant_[0-9a-f]{6,}/.test(q))).toBe(false);
  });
});

/**
 * A trial that ends without a card gets an open invoice and goes past due,
 * but it never paid: it is not recurring revenue, unlike a paying customer's
 * renewal awaiting payment.
 */
describe('business metrics: a trial that lapses unpaid', () => {
  let t: TestApp;
  const clock = new ManualClock(new Date(iso('2031-03-01')));
  const c = client(() => t, clock);

  beforeAll(async () => {
    t = await bootTestApp({ override: (b) => b.overrideProvider(Clock).useValue(clock) });
  }, 120_000);
  afterAll(() => t.close());

  it('counts the paying customer in MRR and not the lapsed trial', async () => {
    const paying = await c.signUp();
    await c.card(paying, 'pm_card_visa');
    await c.subscribe(paying, PRICES.STARTER_MONTH);
    const lapsed = await c.signUp();
    await c.subscribe(lapsed, PRICES.STARTER_MONTH, 1, true);
    // The trial ends on 15 March: its first invoice is issued, cannot be charged, stays open.
    await c.advance(lapsed, '2031-03-20');
    const open = await t
      .em()
      .getConnection()
      .execute<{ status: string; total: number }[]>(
        `select status, total::int as total from platform.invoice where tenant_id = ? and total > 0`,
        [lapsed.tenantId],
      );
    expect(open).toEqual([{ status: 'open', total: 1200 }]);

    c.at('2031-03-21');
    const { figures } = await c.report('2031-03-01', '2031-03-20');
    expect(values(figures, 'usd', ['mrr', 'paying_accounts', 'new_mrr'])).toEqual({
      mrr: 1200,
      paying_accounts: 1,
      new_mrr: 1200,
    });
    expect(pick(figures, 'trial_conversion_rate').basis).toEqual({ numerator: 0, denominator: 1 });
  });
});
