import { randomUUID } from 'node:crypto';
import { PlatformRole } from '../../src/access/roles';
import { BillingCustomer } from '../../src/billing/entities/billing-customer.entity';
import {
  CampaignStatus,
  DunningCampaign,
  DunningStepRun,
} from '../../src/billing/entities/dunning-campaign.entity';
import { Invoice, InvoiceStatus } from '../../src/billing/entities/invoice.entity';
import { PaymentAttempt } from '../../src/billing/entities/payment-attempt.entity';
import { PaymentMethod } from '../../src/billing/entities/payment-method.entity';
import { Plan } from '../../src/billing/entities/plan.entity';
import { RecoveryPolicy } from '../../src/billing/entities/recovery-policy.entity';
import { Subscription, SubscriptionStatus } from '../../src/billing/entities/subscription.entity';
import { TEST_CARDS } from '../../src/billing/payments/simulated.gateway';
import { OutboxMessage } from '../../src/notifications/entities/outbox-message.entity';
import { PlatformAuditEvent } from '../../src/tenancy/audit/platform-audit-event.entity';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';
import { billingClient, Body, Buyer, iso, PRICES } from './billing-helpers';

const STARTER_MONTH = '0193a000-0000-7000-8001-000000000021'; // USD 1200 / month
const PROBLEM = /application\/problem\+json/;

/**
 * Staff tools for payment recovery, through HTTP with the test clock: the
 * dunning queue, retry now, pause and resume, write-off, recovery figures and
 * the recovery policies. The default policy retries soft declines on days 1,
 * 3, 5 and 7 and runs notify (0), remind (3), warn (7), suspend (10), cancel (30).
 */
describe('admin payment recovery', () => {
  let t: TestApp;
  let admin: Actor;
  let support: Actor;
  let owner: Org;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    support = await createUser(t.app, { platformRole: PlatformRole.Support });
    owner = await createOrg(t.app);
  });
  afterAll(() => t.close());

  const client = billingClient(
    () => t,
    () => admin,
  );
  const { api, signUp, advance, addCard } = client;
  const em = () => t.em().fork();

  /** A monthly subscriber since the 10th of January `year`, paying with `card` from the first renewal on. */
  async function subscriber(
    card: string,
    options: { year?: number; priceId?: string; day?: string } = {},
  ): Promise<Buyer> {
    const year = options.year ?? 2031;
    const buyer = await signUp();
    await advance(buyer.tenantId, `${year}-01-${options.day ?? '10'}`);
    await addCard(buyer.headers, 'pm_card_visa').expect(201);
    await api()
      .post('/v1/billing/subscription')
      .set(buyer.headers)
      .send({ priceId: options.priceId ?? PRICES.PRO_MONTH, quantity: 1 })
      .expect(201);
    await addCard(buyer.headers, card, true).expect(201);
    return buyer;
  }

  /** A subscriber whose renewal on `year`-02-10 failed: its campaign, fresh. */
  async function failing(
    card: string,
    options: { year?: number; priceId?: string } = {},
  ): Promise<{ buyer: Buyer; campaign: DunningCampaign }> {
    const buyer = await subscriber(card, options);
    await advance(buyer.tenantId, `${options.year ?? 2031}-02-10`);
    return { buyer, campaign: await campaignOf(buyer.tenantId) };
  }

  const campaignOf = (tenantId: string) =>
    em().findOneOrFail(DunningCampaign, { tenantId }, { orderBy: { createdAt: 'desc' } });
  const invoiceOf = (campaign: DunningCampaign) =>
    em().findOneOrFail(Invoice, { id: campaign.invoice.id });
  const subscriptionOf = (tenantId: string) =>
    em().findOneOrFail(Subscription, { tenantId }, { orderBy: { createdAt: 'desc' } });
  const attemptsOf = async (invoiceId: string) =>
    (
      await em().find(PaymentAttempt, { invoice: invoiceId }, { orderBy: { attemptNumber: 'asc' } })
    ).map((a) => `${a.trigger}:${a.status}`);
  const stepsRun = async (campaignId: string) =>
    (await em().find(DunningStepRun, { campaign: campaignId }, { orderBy: { step: 'asc' } })).map(
      (s) => `${s.action}@${s.ranAt.toISOString().slice(0, 10)}`,
    );
  const mailsTo = async (tenantId: string) =>
    (
      await em().find(
        OutboxMessage,
        { tenantId, template: { $like: 'billing.recovery.%' } },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      )
    ).map((m) => m.template.replace('billing.recovery.', ''));
  const audits = (action: string, where: Record<string, unknown> = {}) =>
    em().find(PlatformAuditEvent, { action, ...where }, { orderBy: { at: 'asc', id: 'asc' } });
  const rename = (buyer: Buyer) =>
    api().patch('/v1/tenant').set(buyer.headers).send({ name: 'Renamed Ltd' });

  const queue = async (query: Record<string, unknown>): Promise<Body> =>
    (await api().get('/v1/admin/billing/dunning').query(query).set(admin.headers).expect(200)).body;
  const post = (path: string, body?: object) =>
    api()
      .post(`/v1/admin/billing/${path}`)
      .set(admin.headers)
      .send(body ?? {});

  function expectProblem(res: { headers: Record<string, string>; body: Body }, code: string) {
    expect(res.headers['content-type']).toMatch(PROBLEM);
    expect(res.body.code).toBe(code);
    expect(typeof res.body.detail).toBe('string');
  }

  describe('who may call', () => {
    const id = randomUUID();
    type Method = 'get' | 'post' | 'patch' | 'put';
    const reads: [Method, string][] = [
      ['get', '/v1/admin/billing/dunning'],
      ['get', '/v1/admin/billing/recovery'],
      ['get', '/v1/admin/billing/recovery-policies'],
      ['get', `/v1/admin/billing/recovery-policies/${id}`],
    ];
    const writes: [Method, string][] = [
      ['post', `/v1/admin/billing/dunning/${id}/retry`],
      ['post', `/v1/admin/billing/dunning/${id}/pause`],
      ['post', `/v1/admin/billing/dunning/${id}/resume`],
      ['post', `/v1/admin/billing/dunning/${id}/mark-uncollectible`],
      ['post', '/v1/admin/billing/recovery-policies'],
      ['patch', `/v1/admin/billing/recovery-policies/${id}`],
      ['put', `/v1/admin/billing/plans/${id}/recovery-policy`],
    ];
    const call = (method: Method, path: string) => api()[method](path);

    it.each([...reads, ...writes])(
      '%s %s: 401 anonymous, 403 for a tenant owner',
      async (method, path) => {
        const anonymous = await call(method, path).send({}).expect(401);
        expect(anonymous.headers['content-type']).toMatch(PROBLEM);
        const tenantOwner = await call(method, path).set(owner.headers).send({}).expect(403);
        expect(tenantOwner.headers['content-type']).toMatch(PROBLEM);
      },
    );

    it.each(writes)('%s %s: platform support may not write (403)', async (method, path) => {
      await call(method, path)
        .set(support.headers)
        .send({ reason: 'x', policyId: null })
        .expect(403);
    });

    it('platform support reads the queue, the figures and the policies', async () => {
      await api().get('/v1/admin/billing/dunning').set(support.headers).expect(200);
      await api().get('/v1/admin/billing/recovery').set(support.headers).expect(200);
      const list = await api()
        .get('/v1/admin/billing/recovery-policies')
        .set(support.headers)
        .expect(200);
      const policy = list.body.items[0] as { id: string };
      await api()
        .get(`/v1/admin/billing/recovery-policies/${policy.id}`)
        .set(support.headers)
        .expect(200);
    });
  });

  describe('unknown and malformed ids', () => {
    it.each(['retry', 'pause', 'resume', 'mark-uncollectible'])(
      'POST dunning/:id/%s: 404 campaign_not_found, 400 for a non-uuid',
      async (action) => {
        const res = await post(`dunning/${randomUUID()}/${action}`, { reason: 'test' }).expect(404);
        expectProblem(res, 'campaign_not_found');
        await post(`dunning/not-a-uuid/${action}`, { reason: 'test' }).expect(400);
      },
    );

    it('recovery policies and plans: 404 with their own codes', async () => {
      const unknown = randomUUID();
      expectProblem(
        await api()
          .get(`/v1/admin/billing/recovery-policies/${unknown}`)
          .set(admin.headers)
          .expect(404),
        'recovery_policy_not_found',
      );
      expectProblem(
        await api()
          .patch(`/v1/admin/billing/recovery-policies/${unknown}`)
          .set(admin.headers)
          .send({ name: 'x' })
          .expect(404),
        'recovery_policy_not_found',
      );
      expectProblem(
        await api()
          .put(`/v1/admin/billing/plans/${unknown}/recovery-policy`)
          .set(admin.headers)
          .send({ policyId: null })
          .expect(404),
        'plan_not_found',
      );
      const starter = await em().findOneOrFail(Plan, { code: 'starter' });
      expectProblem(
        await api()
          .put(`/v1/admin/billing/plans/${starter.id}/recovery-policy`)
          .set(admin.headers)
          .send({ policyId: unknown })
          .expect(404),
        'recovery_policy_not_found',
      );
      await api().get('/v1/admin/billing/recovery-policies/nope').set(admin.headers).expect(400);
    });
  });

  describe('GET /v1/admin/billing/dunning', () => {
    let early: { buyer: Buyer; campaign: DunningCampaign };
    let late: { buyer: Buyer; campaign: DunningCampaign };

    beforeAll(async () => {
      // Fails on 10 February: remind falls on the 13th.
      late = await failing('pm_card_chargeDeclinedInsufficientFunds');
      // Fails on 5 February: remind falls on the 8th, sooner.
      const buyer = await subscriber('pm_card_chargeCustomerFail', { day: '05' });
      await advance(buyer.tenantId, '2031-02-05');
      early = { buyer, campaign: await campaignOf(buyer.tenantId) };
    });

    it('lists running campaigns with the invoice as it is now and what comes next', async () => {
      const page = await queue({ tenantId: late.buyer.tenantId });
      const invoice = await invoiceOf(late.campaign);
      expect(page).toEqual({
        items: [
          {
            campaignId: late.campaign.id,
            tenantId: late.buyer.tenantId,
            tenantName: 'Buyers Ltd',
            invoiceId: invoice.id,
            invoiceNumber: invoice.number,
            amountDue: 2900,
            currency: 'usd',
            status: 'active',
            failureClass: 'soft_decline',
            firstCategory: 'insufficient_funds',
            lastCategory: 'insufficient_funds',
            lastDeclineCode: 'insufficient_funds',
            startedAt: iso('2031-02-10'),
            lastAction: 'notify',
            nextAction: 'remind',
            nextActionAt: iso('2031-02-13'),
            nextAttemptAt: iso('2031-02-11'),
            pausedAt: null,
            endedAt: null,
          },
        ],
        nextCursor: null,
      });
      expect(invoice.number).toEqual(expect.any(String));
    });

    it('puts the soonest next action first and pages through every row exactly once', async () => {
      const all = (await queue({ limit: 100 })).items as {
        campaignId: string;
        nextActionAt: string | null;
      }[];
      const ids = all.map((row) => row.campaignId);
      expect(ids.indexOf(early.campaign.id)).toBeGreaterThanOrEqual(0);
      expect(ids.indexOf(early.campaign.id)).toBeLessThan(ids.indexOf(late.campaign.id));
      const times = all.map((row) => (row.nextActionAt ? Date.parse(row.nextActionAt) : Infinity));
      expect(times).toEqual([...times].sort((a, b) => a - b));

      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const page: Body = await queue(cursor ? { limit: 1, cursor } : { limit: 1 });
        paged.push(...(page.items as { campaignId: string }[]).map((row) => row.campaignId));
        cursor = page.nextCursor as string | null;
      } while (cursor && paged.length <= ids.length);
      expect(paged).toEqual(ids);
    });

    it('filters by status and last action', async () => {
      const notified = await queue({ tenantId: early.buyer.tenantId, lastAction: 'notify' });
      expect(notified.items).toHaveLength(1);
      expect(await queue({ tenantId: early.buyer.tenantId, lastAction: 'remind' })).toEqual({
        items: [],
        nextCursor: null,
      });
      expect(await queue({ tenantId: early.buyer.tenantId, lastAction: 'none' })).toEqual({
        items: [],
        nextCursor: null,
      });
      expect((await queue({ tenantId: early.buyer.tenantId, status: 'paused' })).items).toEqual([]);
      expect(
        (await queue({ tenantId: early.buyer.tenantId, status: 'active' })).items,
      ).toHaveLength(1);
    });

    it('refuses bad filters with a 400 problem', async () => {
      for (const query of [
        { status: 'nope' },
        { lastAction: 'explode' },
        { tenantId: 'x' },
        { limit: 101 },
        { cursor: 'x' },
      ]) {
        const res = await api()
          .get('/v1/admin/billing/dunning')
          .query(query)
          .set(admin.headers)
          .expect(400);
        expectProblem(res, 'validation_failed');
      }
    });
  });

  describe('POST dunning/:id/pause and resume', () => {
    it('pause stops steps and retries while time passes; resume moves the schedule on by the time paused', async () => {
      const { buyer, campaign } = await failing('pm_card_chargeDeclinedInsufficientFunds');
      const invoice = await invoiceOf(campaign);

      const paused = await post(`dunning/${campaign.id}/pause`).expect(200);
      expect(paused.body).toMatchObject({
        campaignId: campaign.id,
        status: 'paused',
        pausedAt: iso('2031-02-10'),
        nextAction: 'remind',
        nextActionAt: null,
        nextAttemptAt: null,
      });
      expectProblem(
        await post(`dunning/${campaign.id}/pause`).expect(409),
        'campaign_already_paused',
      );
      expect(await queue({ tenantId: buyer.tenantId, status: 'paused' })).toMatchObject({
        items: [{ campaignId: campaign.id }],
      });

      // Ten days pass: no retry, no reminder, no suspension.
      await advance(buyer.tenantId, '2031-02-20');
      expect(await attemptsOf(invoice.id)).toEqual(['renewal:failed']);
      expect(await stepsRun(campaign.id)).toEqual(['notify@2031-02-10']);
      expect(await mailsTo(buyer.tenantId)).toEqual(['payment_failed']);
      expect((await subscriptionOf(buyer.tenantId)).status).toBe(SubscriptionStatus.PastDue);

      // Resumed on the 20th: day 1 of the schedule is now the 21st, day 3 the 23rd.
      const resumed = await post(`dunning/${campaign.id}/resume`).expect(200);
      expect(resumed.body).toMatchObject({
        status: 'active',
        pausedAt: null,
        nextAction: 'remind',
        nextActionAt: iso('2031-02-23'),
        nextAttemptAt: iso('2031-02-21'),
      });
      expectProblem(await post(`dunning/${campaign.id}/resume`).expect(409), 'campaign_not_paused');

      await advance(buyer.tenantId, '2031-02-24');
      expect(await attemptsOf(invoice.id)).toEqual([
        'renewal:failed',
        'retry:failed',
        'retry:failed',
      ]);
      expect(await stepsRun(campaign.id)).toEqual(['notify@2031-02-10', 'remind@2031-02-23']);

      const [pausedEvent] = await audits('billing.dunning.paused', { tenantId: buyer.tenantId });
      expect(pausedEvent).toMatchObject({
        actorType: 'platform_staff',
        actorId: admin.user.id,
        data: { campaignId: campaign.id, invoiceId: invoice.id },
      });
      const [resumedEvent] = await audits('billing.dunning.resumed', { tenantId: buyer.tenantId });
      expect(resumedEvent.data).toMatchObject({ pausedForMs: 10 * 86_400_000 });
    });
  });

  describe('POST dunning/:id/retry', () => {
    it('charges now: a failure keeps the schedule; a card fixed at the gateway pays and recovers', async () => {
      const { buyer, campaign } = await failing('pm_card_chargeCustomerFail');
      const invoice = await invoiceOf(campaign);

      const failed = await post(`dunning/${campaign.id}/retry`).expect(200);
      expect(failed.body).toEqual({
        outcome: 'failed',
        attemptId: expect.any(String),
        category: 'card_declined',
        declineCode: 'generic_decline',
        invoiceStatus: 'open',
        campaignStatus: 'active',
      });
      expect((await invoiceOf(campaign)).nextAttemptAt?.toISOString()).toBe(iso('2031-02-11'));

      // A working card that is not the default is not what gets charged.
      await addCard(buyer.headers, 'pm_card_visa', false).expect(201);
      expect((await post(`dunning/${campaign.id}/retry`).expect(200)).body).toMatchObject({
        outcome: 'failed',
        campaignStatus: 'active',
      });

      // The issuer fixes the default card itself (as a card updater would): the same
      // payment method now pays. Only the simulated gateway's state changes.
      const customer = await em().findOneOrFail(BillingCustomer, { tenantId: buyer.tenantId });
      const method = await em().findOneOrFail(PaymentMethod, {
        id: customer.defaultPaymentMethodId!,
      });
      const gatewayMethods = (
        client.gateway() as unknown as { methods: Map<string, { card: unknown }> }
      ).methods;
      gatewayMethods.get(method.gatewayId)!.card = TEST_CARDS.pm_card_visa;

      const paid = await post(`dunning/${campaign.id}/retry`).expect(200);
      expect(paid.body).toMatchObject({
        outcome: 'paid',
        invoiceStatus: 'paid',
        campaignStatus: 'recovered',
      });
      expect(await attemptsOf(invoice.id)).toEqual([
        'renewal:failed',
        'admin_retry:failed',
        'admin_retry:failed',
        'admin_retry:succeeded',
      ]);
      expect((await subscriptionOf(buyer.tenantId)).status).toBe(SubscriptionStatus.Active);
      expect((await mailsTo(buyer.tenantId)).at(-1)).toBe('recovered');

      const events = await audits('billing.dunning.retried', { tenantId: buyer.tenantId });
      expect(events.map((e) => e.data.outcome)).toEqual(['failed', 'failed', 'paid']);
      expect(events[2]).toMatchObject({ actorType: 'platform_staff', actorId: admin.user.id });

      // Ended: nothing more to retry, pause or write off, and nothing recorded for it.
      for (const action of ['retry', 'pause', 'resume']) {
        expectProblem(
          await post(`dunning/${campaign.id}/${action}`).expect(409),
          'campaign_not_running',
        );
      }
      expect(await audits('billing.dunning.retried', { tenantId: buyer.tenantId })).toHaveLength(3);
    });
  });

  describe('POST dunning/:id/mark-uncollectible', () => {
    it('needs a reason; ends the campaign and lets the suspended organisation write again', async () => {
      const { buyer, campaign } = await failing('pm_card_chargeDeclinedInsufficientFunds');
      await advance(buyer.tenantId, '2031-02-20');
      expect((await subscriptionOf(buyer.tenantId)).status).toBe(SubscriptionStatus.Unpaid);
      await rename(buyer).expect(402);

      for (const body of [
        {},
        { reason: '' },
        { reason: '   ' },
        { reason: 'x'.repeat(501) },
        { reason: 7 },
        { reason: 'ok', extra: 1 },
      ]) {
        const res = await post(`dunning/${campaign.id}/mark-uncollectible`, body).expect(400);
        expectProblem(res, 'validation_failed');
      }
      expect((await campaignOf(buyer.tenantId)).status).toBe(CampaignStatus.Active);
      expect(await audits('billing.dunning.written_off', { tenantId: buyer.tenantId })).toEqual([]);

      const res = await post(`dunning/${campaign.id}/mark-uncollectible`, {
        reason: '  Customer went bankrupt  ',
      }).expect(200);
      expect(res.body).toMatchObject({
        campaignId: campaign.id,
        status: 'written_off',
        nextAction: null,
        nextActionAt: null,
        nextAttemptAt: null,
        endedAt: iso('2031-02-20'),
      });
      expect((await invoiceOf(campaign)).status).toBe(InvoiceStatus.Uncollectible);
      expect((await subscriptionOf(buyer.tenantId)).status).toBe(SubscriptionStatus.Active);
      // Entitlements were refreshed at once: no 402 from the cache.
      await rename(buyer).expect(200);

      const [event] = await audits('billing.dunning.written_off', { tenantId: buyer.tenantId });
      expect(event).toMatchObject({
        actorType: 'platform_staff',
        data: { campaignId: campaign.id, amountDue: 2900, reason: 'Customer went bankrupt' },
      });
      expectProblem(
        await post(`dunning/${campaign.id}/mark-uncollectible`, { reason: 'again' }).expect(409),
        'campaign_not_running',
      );
      expect(
        await audits('billing.dunning.written_off', { tenantId: buyer.tenantId }),
      ).toHaveLength(1);

      // Later days run nothing more for it.
      await advance(buyer.tenantId, '2031-03-09');
      expect(await stepsRun(campaign.id)).toHaveLength(4);
    });
  });

  describe('GET /v1/admin/billing/recovery', () => {
    const figures = async (query: Record<string, string>): Promise<Body> =>
      (await api().get('/v1/admin/billing/recovery').query(query).set(admin.headers).expect(200))
        .body;

    it('is exact to the cent for a known history', async () => {
      // February 2033, this file's window: four campaigns.
      // A (USD 2900, insufficient funds) recovered after the first notice.
      const a = await failing('pm_card_chargeDeclinedInsufficientFunds', { year: 2033 });
      await addCard(a.buyer.headers, 'pm_card_visa', true).expect(201);
      // B (USD 2900, insufficient funds): nobody pays; canceled on day 30.
      const b = await failing('pm_card_chargeDeclinedInsufficientFunds', { year: 2033 });
      await advance(b.buyer.tenantId, '2033-03-12');
      // C (EUR 2700, insufficient funds): written off after the reminder.
      const c = await failing('pm_card_chargeDeclinedInsufficientFunds', {
        year: 2033,
        priceId: PRICES.PRO_EUR_MONTH,
      });
      await advance(c.buyer.tenantId, '2033-02-14');
      await post(`dunning/${c.campaign.id}/mark-uncollectible`, { reason: 'test' }).expect(200);
      // D (USD 1200 starter, card declined): recovered after the reminder.
      const d = await failing('pm_card_chargeCustomerFail', { year: 2033, priceId: STARTER_MONTH });
      await advance(d.buyer.tenantId, '2033-02-14');
      await addCard(d.buyer.headers, 'pm_card_mastercard', true).expect(201);

      expect((await campaignOf(a.buyer.tenantId)).status).toBe(CampaignStatus.Recovered);
      expect((await campaignOf(b.buyer.tenantId)).status).toBe(CampaignStatus.Canceled);
      expect((await campaignOf(d.buyer.tenantId)).status).toBe(CampaignStatus.Recovered);

      const body = await figures({ from: iso('2033-02-01'), to: iso('2033-03-01') });
      expect(body).toEqual({
        from: iso('2033-02-01'),
        to: iso('2033-03-01'),
        currencies: [
          {
            currency: 'eur',
            failedAmount: 2700,
            recoveredAmount: 0,
            recoveryRate: 0,
            counts: { started: 1, recovered: 0, canceled: 0, writtenOff: 1, closed: 0, running: 0 },
          },
          {
            currency: 'usd',
            failedAmount: 7000,
            recoveredAmount: 4100,
            recoveryRate: 0.5857,
            counts: { started: 3, recovered: 2, canceled: 1, writtenOff: 0, closed: 0, running: 0 },
          },
        ],
        byCategory: [
          { category: 'insufficient_funds', started: 3, recovered: 1, rate: 0.3333 },
          { category: 'card_declined', started: 1, recovered: 1, rate: 1 },
        ],
        byStep: [
          { lastAction: 'notify', recovered: 1 },
          { lastAction: 'remind', recovered: 1 },
        ],
      });

      // [from, to): a campaign started on `to` is left out, one started on `from` counted.
      expect(
        (await figures({ from: iso('2033-02-01'), to: iso('2033-02-10') })).currencies,
      ).toEqual([]);
      const onFrom = await figures({ from: iso('2033-02-10'), to: iso('2033-02-11') });
      expect(
        onFrom.currencies.map((row: { counts: { started: number } }) => row.counts.started),
      ).toEqual([1, 3]);
    });

    it('defaults to the last 30 days by the real clock', async () => {
      const before = Date.now();
      const body = await figures({});
      const to = Date.parse(body.to as string);
      expect(to).toBeGreaterThanOrEqual(before - 1000);
      expect(to).toBeLessThanOrEqual(Date.now() + 1000);
      expect(to - Date.parse(body.from as string)).toBe(30 * 86_400_000);
    });

    it('refuses a window that does not run forwards (422) and dates that are not dates (400)', async () => {
      for (const query of [
        { from: iso('2033-03-01'), to: iso('2033-02-01') },
        { from: iso('2033-03-01'), to: iso('2033-03-01') },
      ]) {
        const res = await api()
          .get('/v1/admin/billing/recovery')
          .query(query)
          .set(admin.headers)
          .expect(422);
        expectProblem(res, 'recovery_range_invalid');
        expect(res.body.detail).toMatch(/must be before/);
      }
      const res = await api()
        .get('/v1/admin/billing/recovery')
        .query({ from: 'last tuesday' })
        .set(admin.headers)
        .expect(400);
      expectProblem(res, 'validation_failed');
    });
  });

  describe('recovery policies', () => {
    const policies = '/v1/admin/billing/recovery-policies';
    const gentle = () => ({
      code: `gentle-${randomUUID().slice(0, 8)}`,
      name: 'Gentle recovery',
      retryDays: [2, 4],
      steps: [
        { day: 0, action: 'notify' },
        { day: 5, action: 'remind' },
        { day: 20, action: 'cancel' },
      ],
      cardExpiryNoticeDays: 7,
    });
    interface PolicyItem {
      id: string;
      code: string;
      isDefault: boolean;
    }
    const list = async (): Promise<PolicyItem[]> =>
      (await api().get(policies).set(admin.headers).expect(200)).body.items as PolicyItem[];

    it('lists the seeded default with the plans using it', async () => {
      const items = await list();
      expect(items[0]).toMatchObject({
        code: 'default',
        isDefault: true,
        retryDays: [1, 3, 5, 7],
        steps: [
          { day: 0, action: 'notify' },
          { day: 3, action: 'remind' },
          { day: 7, action: 'warn' },
          { day: 10, action: 'suspend' },
          { day: 30, action: 'cancel' },
        ],
        cardExpiryNoticeDays: 14,
        planCodes: [],
      });
      expect(items.filter((p) => p.isDefault)).toHaveLength(1);
    });

    it('creates a policy (201, audited); a taken code is 409', async () => {
      const body = gentle();
      const res = await api().post(policies).set(admin.headers).send(body).expect(201);
      expect(res.body).toMatchObject({ ...body, isDefault: false, planCodes: [] });
      const [event] = await audits('billing.recovery_policy.created', {
        data: { code: body.code },
      });
      expect(event).toMatchObject({ tenantId: null, actorId: admin.user.id });
      expect(
        (await api().get(`${policies}/${res.body.id}`).set(admin.headers).expect(200)).body,
      ).toEqual(res.body);

      const taken = await api()
        .post(policies)
        .set(admin.headers)
        .send({ ...gentle(), code: body.code })
        .expect(409);
      expectProblem(taken, 'recovery_policy_code_taken');
    });

    it('refuses malformed bodies (400) and rules that cannot run (422), writing nothing', async () => {
      const before = await em().count(RecoveryPolicy, {});
      const auditsBefore = await em().count(PlatformAuditEvent, {
        action: { $like: 'billing.recovery_policy.%' },
      });
      const malformed: [Record<string, unknown>, string][] = [
        [{ ...gentle(), code: 'Not A Slug' }, 'code'],
        [{ ...gentle(), code: 'x' }, 'code'],
        [{ ...gentle(), name: '  ' }, 'name'],
        [{ ...gentle(), steps: [{ day: 0, action: 'explode' }] }, 'steps.0.action'],
        [{ ...gentle(), steps: [{ day: 1.5, action: 'notify' }] }, 'steps.0.day'],
        [{ ...gentle(), steps: 'notify' }, 'steps'],
        [{ ...gentle(), retryDays: ['one'] }, 'retryDays'],
        [{ ...gentle(), cardExpiryNoticeDays: undefined }, 'cardExpiryNoticeDays'],
        [{ ...gentle(), isDefault: true }, 'isDefault'],
      ];
      for (const [body, field] of malformed) {
        const res = await api().post(policies).set(admin.headers).send(body).expect(400);
        expectProblem(res, 'validation_failed');
        expect(res.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      }

      const invalid = await api()
        .post(policies)
        .set(admin.headers)
        .send({
          ...gentle(),
          retryDays: [3, 2, 40],
          steps: [
            { day: 0, action: 'cancel' },
            { day: 5, action: 'warn' },
          ],
          cardExpiryNoticeDays: 90,
        })
        .expect(422);
      expectProblem(invalid, 'recovery_policy_invalid');
      expect(invalid.body.problems).toEqual(
        expect.arrayContaining([
          'retry days must be strictly increasing',
          'cancel must be the last step',
          'a warn step needs a suspend step after it',
          'every retry must fall on or before the cancel step',
          'card expiry notice must be 0 to 60 days',
        ]),
      );
      expect(invalid.body.detail).toMatch(/^Invalid recovery policy: /);
      const empty = await api()
        .post(policies)
        .set(admin.headers)
        .send({ ...gentle(), steps: [] })
        .expect(422);
      expect(empty.body.problems).toEqual(['a campaign needs at least one step']);

      expect(await em().count(RecoveryPolicy, {})).toBe(before);
      expect(
        await em().count(PlatformAuditEvent, { action: { $like: 'billing.recovery_policy.%' } }),
      ).toBe(auditsBefore);
    });

    it('edits name and rules; invalid edits change nothing; one default at a time', async () => {
      const created = (await api().post(policies).set(admin.headers).send(gentle()).expect(201))
        .body;
      const path = `${policies}/${created.id}`;

      const renamed = await api()
        .patch(path)
        .set(admin.headers)
        .send({ name: 'Softer', retryDays: [1, 2, 3] })
        .expect(200);
      expect(renamed.body).toMatchObject({
        name: 'Softer',
        retryDays: [1, 2, 3],
        steps: created.steps,
      });
      const [event] = await audits('billing.recovery_policy.updated', {
        data: { policyId: created.id },
      });
      expect(event.data).toMatchObject({
        changes: {
          name: { from: 'Gentle recovery', to: 'Softer' },
          retryDays: { from: [2, 4], to: [1, 2, 3] },
        },
      });

      // Checked whole: new steps against the stored retry days (a retry after the cancel step).
      const refused = await api()
        .patch(path)
        .set(admin.headers)
        .send({
          name: 'Never saved',
          steps: [
            { day: 0, action: 'notify' },
            { day: 2, action: 'cancel' },
          ],
        })
        .expect(422);
      expect(refused.body.problems).toEqual(['every retry must fall on or before the cancel step']);
      await api().patch(path).set(admin.headers).send({ isDefault: false }).expect(400);
      await api()
        .patch(path)
        .set(admin.headers)
        .send({ steps: [{ day: 0 }] })
        .expect(400);
      expect((await api().get(path).set(admin.headers).expect(200)).body).toEqual(renamed.body);

      // Making it the default unsets the seeded one, in the same transaction.
      const seeded = (await list()).find((p) => p.code === 'default')!;
      const promoted = await api()
        .patch(path)
        .set(admin.headers)
        .send({ isDefault: true })
        .expect(200);
      expect(promoted.body.isDefault).toBe(true);
      const items = await list();
      expect(items.filter((p) => p.isDefault).map((p) => p.id)).toEqual([created.id]);
      const promotions = await audits('billing.recovery_policy.updated', {
        data: { policyId: created.id },
      });
      expect(promotions.at(-1)?.data).toMatchObject({
        changes: { isDefault: { from: false, to: true } },
        undefaulted: ['default'],
      });

      // And back, so the rest of this file runs on the seeded policy.
      await api()
        .patch(`${policies}/${seeded.id}`)
        .set(admin.headers)
        .send({ isDefault: true })
        .expect(200);
      expect((await list()).filter((p) => p.isDefault).map((p) => p.code)).toEqual(['default']);
    });

    it("a plan's own policy starts its campaigns; editing it later leaves running campaigns alone", async () => {
      const starter = await em().findOneOrFail(Plan, { code: 'starter' });
      const policy = (await api().post(policies).set(admin.headers).send(gentle()).expect(201))
        .body;
      const route = `/v1/admin/billing/plans/${starter.id}/recovery-policy`;

      for (const body of [{}, { policyId: 'x' }, { policyId: 5 }]) {
        expectProblem(
          await api().put(route).set(admin.headers).send(body).expect(400),
          'validation_failed',
        );
      }
      const set = await api()
        .put(route)
        .set(admin.headers)
        .send({ policyId: policy.id })
        .expect(200);
      expect(set.body).toMatchObject({
        planId: starter.id,
        planCode: 'starter',
        policyId: policy.id,
        effectivePolicy: { id: policy.id, planCodes: ['starter'] },
      });
      expect(
        (await api().get(`${policies}/${policy.id}`).set(admin.headers).expect(200)).body.planCodes,
      ).toEqual(['starter']);
      const [event] = await audits('billing.plan.recovery_policy_set', {
        data: { planId: starter.id, to: policy.id },
      });
      expect(event).toMatchObject({ tenantId: null, data: { from: null, toCode: policy.code } });

      try {
        // A starter subscriber fails under the plan's policy: remind on day 5, not 3.
        const { buyer, campaign } = await failing('pm_card_chargeDeclinedInsufficientFunds', {
          year: 2035,
          priceId: STARTER_MONTH,
        });
        expect(campaign.policy?.id).toBe(policy.id);
        const [row] = (await queue({ tenantId: buyer.tenantId })).items;
        expect(row).toMatchObject({
          nextAction: 'remind',
          nextActionAt: iso('2035-02-15'),
          nextAttemptAt: iso('2035-02-12'),
        });

        // The policy changes; the running campaign keeps the rules it started with.
        await api()
          .patch(`${policies}/${policy.id}`)
          .set(admin.headers)
          .send({
            steps: [
              { day: 0, action: 'notify' },
              { day: 1, action: 'remind' },
              { day: 9, action: 'cancel' },
            ],
          })
          .expect(200);
        expect((await queue({ tenantId: buyer.tenantId })).items[0]).toMatchObject({
          nextActionAt: iso('2035-02-15'),
        });
        await advance(buyer.tenantId, '2035-02-16');
        expect(await stepsRun(campaign.id)).toEqual(['notify@2035-02-10', 'remind@2035-02-15']);
      } finally {
        const reset = await api()
          .put(route)
          .set(admin.headers)
          .send({ policyId: null })
          .expect(200);
        expect(reset.body).toMatchObject({
          policyId: null,
          effectivePolicy: { code: 'default', isDefault: true },
        });
      }
      const events = await audits('billing.plan.recovery_policy_set', {
        data: { planId: starter.id },
      });
      expect(events.at(-1)?.data).toMatchObject({ from: policy.id, to: null });
    });
  });
});
