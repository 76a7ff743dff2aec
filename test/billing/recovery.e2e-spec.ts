import { PlatformRole } from '../../src/access/roles';
import {
  CampaignStatus,
  DunningCampaign,
  DunningStepRun,
} from '../../src/billing/entities/dunning-campaign.entity';
import { Invoice, InvoiceStatus } from '../../src/billing/entities/invoice.entity';
import { AttemptTrigger, PaymentAttempt } from '../../src/billing/entities/payment-attempt.entity';
import { Subscription, SubscriptionStatus } from '../../src/billing/entities/subscription.entity';
import { RecoveryService } from '../../src/billing/recovery/recovery.service';
import { OutboxMessage } from '../../src/notifications/entities/outbox-message.entity';
import { Metrics } from '../../src/observability/metrics';
import { createUser, type Actor } from '../support/factories';
import { eventually } from '../support/polling';
import { bootTestApp, TestApp } from '../support/test-app';
import { billingClient, Buyer, iso, PRICES } from './billing-helpers';

/**
 * Payment recovery driven by the test clock, through HTTP: the default policy
 * retries soft declines on days 1, 3, 5 and 7 after the first failure, and
 * runs notify (day 0), remind (3), warn (7), suspend (10) and cancel (30).
 */
describe('payment recovery (dunning)', () => {
  let t: TestApp;
  let staff: Actor;

  beforeAll(async () => {
    t = await bootTestApp();
    staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
  });
  afterAll(() => t.close());
  afterEach(() => client.gateway().clearFaults());

  const client = billingClient(
    () => t,
    () => staff,
  );
  const { api, signUp, advance, addCard } = client;

  /** A Pro monthly subscriber since 10 January 2031, paying with `card` from the first renewal on. */
  async function subscriber(card: string): Promise<Buyer> {
    const buyer = await signUp();
    await advance(buyer.tenantId, '2031-01-10');
    await addCard(buyer.headers, 'pm_card_visa').expect(201);
    await api()
      .post('/v1/billing/subscription')
      .set(buyer.headers)
      .send({ priceId: PRICES.PRO_MONTH, quantity: 1 })
      .expect(201);
    await addCard(buyer.headers, card, true).expect(201);
    return buyer;
  }

  const em = () => t.em().fork();
  const renewalInvoice = (tenantId: string) =>
    em().findOneOrFail(Invoice, { tenantId, periodStart: new Date(iso('2031-02-10')) });
  const campaignOf = (tenantId: string) =>
    em().findOneOrFail(DunningCampaign, { tenantId }, { orderBy: { createdAt: 'desc' } });
  const subscriptionOf = (tenantId: string) =>
    em().findOneOrFail(Subscription, { tenantId }, { orderBy: { createdAt: 'desc' } });
  const attemptsOf = async (invoiceId: string) =>
    (
      await em().find(PaymentAttempt, { invoice: invoiceId }, { orderBy: { attemptNumber: 'asc' } })
    ).map((a) => ({ trigger: a.trigger, status: a.status, at: a.createdAt }));
  const mailsTo = async (tenantId: string) =>
    (
      await em().find(
        OutboxMessage,
        { tenantId, template: { $like: 'billing.recovery.%' } },
        {
          orderBy: { createdAt: 'asc', id: 'asc' },
        },
      )
    ).map((m) => m.template.replace('billing.recovery.', ''));
  const stepsRun = async (campaignId: string) =>
    (await em().find(DunningStepRun, { campaign: campaignId }, { orderBy: { step: 'asc' } })).map(
      (s) => `${s.step}:${s.action}@${s.dueAt.toISOString().slice(0, 10)}`,
    );
  const rename = (buyer: Buyer) =>
    api().patch('/v1/tenant').set(buyer.headers).send({ name: 'Renamed Ltd' });

  it('soft decline: retries on days 1, 3, 5, 7, reminders, suspension (writes 402), card updated → recovered → reactivated', async () => {
    const buyer = await subscriber('pm_card_chargeCustomerFail');

    // The renewal fails: the campaign starts at that moment with the first notice.
    await advance(buyer.tenantId, '2031-02-10');
    const invoice = await renewalInvoice(buyer.tenantId);
    expect(invoice).toMatchObject({ status: InvoiceStatus.Open, attemptCount: 1 });
    expect(invoice.nextAttemptAt?.toISOString()).toBe(iso('2031-02-11'));
    let campaign = await campaignOf(buyer.tenantId);
    expect(campaign).toMatchObject({
      status: CampaignStatus.Active,
      firstCategory: 'card_declined',
      lastFailureClass: 'soft_decline',
      nextStep: 1,
      amountDue: 2900,
    });
    expect(campaign.startedAt.toISOString()).toBe(iso('2031-02-10'));
    expect((await subscriptionOf(buyer.tenantId)).status).toBe(SubscriptionStatus.PastDue);
    expect(await mailsTo(buyer.tenantId)).toEqual(['payment_failed']);

    // Day 4: retries on days 1 and 3 failed; the day-3 reminder went out.
    await advance(buyer.tenantId, '2031-02-14');
    expect((await attemptsOf(invoice.id)).map((a) => `${a.trigger}:${a.status}`)).toEqual([
      'renewal:failed',
      'retry:failed',
      'retry:failed',
    ]);
    expect(await mailsTo(buyer.tenantId)).toEqual(['payment_failed', 'reminder']);

    // Still writable while past due.
    await rename(buyer).expect(200);

    // Day 10: retries 5 and 7 spent, warned on day 7, suspended on day 10.
    await advance(buyer.tenantId, '2031-02-20');
    expect(await attemptsOf(invoice.id)).toHaveLength(5);
    expect((await renewalInvoice(buyer.tenantId)).nextAttemptAt).toBeNull();
    expect(await mailsTo(buyer.tenantId)).toEqual([
      'payment_failed',
      'reminder',
      'suspension_notice',
      'suspended',
    ]);
    campaign = await campaignOf(buyer.tenantId);
    expect(await stepsRun(campaign.id)).toEqual([
      '0:notify@2031-02-10',
      '1:remind@2031-02-13',
      '2:warn@2031-02-17',
      '3:suspend@2031-02-20',
    ]);
    expect((await subscriptionOf(buyer.tenantId)).status).toBe(SubscriptionStatus.Unpaid);

    // Suspended: writes answer 402 problem+json; reads and the billing portal stay open.
    const refused = await rename(buyer).expect(402);
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
    expect(refused.body).toMatchObject({ status: 402, code: 'payment_required' });
    expect(refused.body.detail).toMatch(/unpaid invoice/);
    await api().get('/v1/tenant').set(buyer.headers).expect(200);
    const overview = await api().get('/v1/billing/subscription').set(buyer.headers).expect(200);
    expect(overview.body.subscription.status).toBe('unpaid');
    await api().get('/v1/billing/invoices').set(buyer.headers).expect(200);

    // A new default card: one immediate attempt on the open invoice, which pays it.
    const charged = client.charges(buyer.tenantId).length;
    await addCard(buyer.headers, 'pm_card_mastercard', true).expect(201);
    expect(client.charges(buyer.tenantId).length).toBe(charged + 1);
    expect(await renewalInvoice(buyer.tenantId)).toMatchObject({
      status: InvoiceStatus.Paid,
      amountPaid: 2900,
      nextAttemptAt: null,
    });
    expect((await attemptsOf(invoice.id)).at(-1)).toMatchObject({
      trigger: AttemptTrigger.PaymentMethodUpdated,
      status: 'succeeded',
    });
    campaign = await campaignOf(buyer.tenantId);
    expect(campaign.status).toBe(CampaignStatus.Recovered);
    expect(campaign.endedAt?.toISOString()).toBe(iso('2031-02-20'));
    expect((await subscriptionOf(buyer.tenantId)).status).toBe(SubscriptionStatus.Active);
    expect((await mailsTo(buyer.tenantId)).at(-1)).toBe('recovered');

    // Reactivated at once: writes work again.
    await rename(buyer).expect(200);

    // Later days change nothing for the recovered campaign; the next renewal is charged as usual.
    await advance(buyer.tenantId, '2031-03-12');
    expect(await stepsRun(campaign.id)).toHaveLength(4);
    expect((await campaignOf(buyer.tenantId)).id).toBe(campaign.id);
    const gateway = client.gateway().succeededPaymentsByInvoice();
    expect(gateway.get(invoice.id)).toBe(1);
  });

  it('hard decline (lost card): no automatic retry until the card changes; the first notice asks for a new card', async () => {
    const buyer = await subscriber('pm_card_chargeDeclinedLostCard');
    await advance(buyer.tenantId, '2031-02-10');
    const invoice = await renewalInvoice(buyer.tenantId);
    expect(invoice.nextAttemptAt).toBeNull();
    expect(await campaignOf(buyer.tenantId)).toMatchObject({
      lastFailureClass: 'hard_decline',
      lastDeclineCode: 'lost_card',
    });
    const [notice] = await em().find(OutboxMessage, {
      tenantId: buyer.tenantId,
      template: 'billing.recovery.payment_failed',
    });
    expect(notice.text).toMatch(/new card/i);

    await advance(buyer.tenantId, '2031-02-19');
    expect(await attemptsOf(invoice.id)).toHaveLength(1);

    await addCard(buyer.headers, 'pm_card_visa', true).expect(201);
    expect((await renewalInvoice(buyer.tenantId)).status).toBe(InvoiceStatus.Paid);
    expect((await campaignOf(buyer.tenantId)).status).toBe(CampaignStatus.Recovered);
  });

  it('nobody pays: on day 30 the invoice is uncollectible, the subscription canceled, the plan back to free', async () => {
    const buyer = await subscriber('pm_card_chargeDeclinedInsufficientFunds');
    await advance(buyer.tenantId, '2031-03-12');
    const invoice = await renewalInvoice(buyer.tenantId);
    expect(invoice.status).toBe(InvoiceStatus.Uncollectible);
    expect(invoice.nextAttemptAt).toBeNull();
    const campaign = await campaignOf(buyer.tenantId);
    expect(campaign.status).toBe(CampaignStatus.Canceled);
    expect(await stepsRun(campaign.id)).toEqual([
      '0:notify@2031-02-10',
      '1:remind@2031-02-13',
      '2:warn@2031-02-17',
      '3:suspend@2031-02-20',
      '4:cancel@2031-03-12',
    ]);
    const subscription = await subscriptionOf(buyer.tenantId);
    expect(subscription).toMatchObject({
      status: SubscriptionStatus.Canceled,
      cancelReason: 'payment_failed',
    });
    expect(await attemptsOf(invoice.id)).toHaveLength(5);
    expect((await mailsTo(buyer.tenantId)).at(-1)).toBe('canceled');

    const overview = await api().get('/v1/billing/subscription').set(buyer.headers).expect(200);
    expect(overview.body).toMatchObject({ subscription: null, entitlements: { planCode: 'free' } });
    // No longer suspended: the free plan writes.
    await rename(buyer).expect(200);
  });

  it('"pay now" in the portal during the campaign recovers it', async () => {
    const buyer = await subscriber('pm_card_chargeDeclinedInsufficientFunds');
    await advance(buyer.tenantId, '2031-02-12');
    const invoice = await renewalInvoice(buyer.tenantId);
    // The customer moved money and picks the card in the portal; still the same card, so it fails again…
    await api().post(`/v1/billing/invoices/${invoice.id}/pay`).set(buyer.headers).expect(402);
    expect((await campaignOf(buyer.tenantId)).status).toBe(CampaignStatus.Active);
    // …and the next retry is still planned from the same schedule (day 3).
    expect((await renewalInvoice(buyer.tenantId)).nextAttemptAt?.toISOString()).toBe(
      iso('2031-02-13'),
    );
    await addCard(buyer.headers, 'pm_card_visa', false).expect(201);
    const methods = await api().get('/v1/billing/payment-methods').set(buyer.headers).expect(200);
    const visa = methods.body.find(
      (m: { last4: string; isDefault: boolean }) => m.last4 === '4242' && !m.isDefault,
    );
    await api()
      .post(`/v1/billing/payment-methods/${visa.id}/default`)
      .set(buyer.headers)
      .expect((res) => expect(res.status).toBeLessThan(300));
    expect((await renewalInvoice(buyer.tenantId)).status).toBe(InvoiceStatus.Paid);
    expect((await campaignOf(buyer.tenantId)).status).toBe(CampaignStatus.Recovered);
  });

  it('authentication required: the customer is asked to confirm; confirming pays and recovers', async () => {
    const buyer = await subscriber('pm_card_authenticationRequired');
    await advance(buyer.tenantId, '2031-02-10');
    const invoice = await renewalInvoice(buyer.tenantId);
    expect(invoice.nextAttemptAt).toBeNull();
    expect(await campaignOf(buyer.tenantId)).toMatchObject({
      lastFailureClass: 'needs_authentication',
    });
    expect(await mailsTo(buyer.tenantId)).toEqual(['action_required']);
    const [attempt] = await em().find(PaymentAttempt, { invoice: invoice.id });
    const event = client.gateway().completeAuthentication(attempt.gatewayPaymentId!, true);
    await api()
      .post('/webhooks/stripe')
      .set('stripe-signature', event.signature)
      .set('content-type', 'application/json')
      .send(event.payload)
      .expect(200);
    await eventually(
      'the webhook to pay the invoice',
      async () => (await renewalInvoice(buyer.tenantId)).status === InvoiceStatus.Paid,
    );
    expect((await campaignOf(buyer.tenantId)).status).toBe(CampaignStatus.Recovered);
    expect((await subscriptionOf(buyer.tenantId)).status).toBe(SubscriptionStatus.Active);
  });

  it('a gateway outage at renewal is no decline: no campaign, no mail, tried again an hour later', async () => {
    const buyer = await subscriber('pm_card_visa');
    // The first call and both immediate retries are refused (never sent).
    client.gateway().injectFault('refused', 3);
    await advance(buyer.tenantId, '2031-02-10');
    const invoice = await renewalInvoice(buyer.tenantId);
    expect(invoice.status).toBe(InvoiceStatus.Open);
    expect(invoice.nextAttemptAt?.toISOString()).toBe('2031-02-10T01:00:00.000Z');
    expect(await em().count(DunningCampaign, { tenantId: buyer.tenantId })).toBe(0);
    expect(await mailsTo(buyer.tenantId)).toEqual([]);

    await advance(buyer.tenantId, '2031-02-11');
    expect((await renewalInvoice(buyer.tenantId)).status).toBe(InvoiceStatus.Paid);
    expect(client.gateway().succeededPaymentsByInvoice().get(invoice.id)).toBe(1);
  });

  it('card-expiry pre-dunning: one mail 14 days before the default card lapses, never twice', async () => {
    const buyer = await signUp();
    await addCard(buyer.headers, 'pm_card_visa').expect(201);
    const [card] = (await api().get('/v1/billing/payment-methods').set(buyer.headers).expect(200))
      .body as { expMonth: number; expYear: number }[];
    // Valid through the end of its expiry month: it lapses on the 1st of the next.
    const lapses = new Date(Date.UTC(card.expYear, card.expMonth, 1));
    const daysBefore = (n: number) => new Date(lapses.getTime() - n * 86_400_000);
    const recovery = t.app.get(RecoveryService);
    const notices = () =>
      em().count(OutboxMessage, {
        tenantId: buyer.tenantId,
        template: 'billing.recovery.card_expiring',
      });

    await advance(buyer.tenantId, daysBefore(15).toISOString().slice(0, 10));
    await recovery.sendCardExpiryNotices();
    expect(await notices()).toBe(0);

    await advance(buyer.tenantId, daysBefore(13).toISOString().slice(0, 10));
    await recovery.sendCardExpiryNotices();
    await recovery.sendCardExpiryNotices();
    expect(await notices()).toBe(1);
    const [mail] = await em().find(OutboxMessage, {
      tenantId: buyer.tenantId,
      template: 'billing.recovery.card_expiring',
    });
    expect(mail.text).toContain('4242');
    expect(mail.html).toContain('/billing');
  });

  it('metrics: attempts by outcome and category, organisations by dunning step, steps run', async () => {
    const buyer = await subscriber('pm_card_chargeDeclinedInsufficientFunds');
    await advance(buyer.tenantId, '2031-02-14');
    const text = await t.app.get(Metrics).registry.metrics();
    expect(text).toMatch(
      /groundwork_payment_attempts_total\{outcome="failed",category="insufficient_funds"\} [1-9]/,
    );
    expect(text).toMatch(
      /groundwork_payment_attempts_total\{outcome="succeeded",category="none"\} [1-9]/,
    );
    expect(text).toMatch(/groundwork_dunning_tenants\{step="remind"\} [1-9]/);
    expect(text).toMatch(/groundwork_dunning_steps_total\{action="notify"\} [1-9]/);
    expect(text).toMatch(
      /groundwork_dunning_campaigns_started_total\{category="insufficient_funds"\} [1-9]/,
    );
  });
});
