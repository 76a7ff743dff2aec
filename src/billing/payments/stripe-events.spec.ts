import { PaymentErrorCategory as C } from './payment-gateway';
import { toGatewayEvent } from './stripe-events';

/**
 * Fixtures shaped like the events Stripe sends (API version 2026-10-28.endive),
 * trimmed of fields nothing reads but keeping the neighbours a careless
 * transform could read instead (`amount_received`, `charge`, `customer`…).
 */
const CREATED = 1_767_225_600; // 2026-01-01T00:00:00Z

function event(type: string, object: Record<string, unknown>) {
  return {
    id: 'evt_1QabcDEFghiJKLmn',
    object: 'event',
    api_version: '2026-10-28.endive',
    created: CREATED,
    data: { object },
    livemode: false,
    pending_webhooks: 1,
    request: { id: 'req_AbC123', idempotency_key: 'invoice:inv_1:attempt:1' },
    type,
  };
}

function paymentIntent(overrides: Record<string, unknown>) {
  return {
    id: 'pi_3QabcDEF',
    object: 'payment_intent',
    amount: 4900,
    amount_capturable: 0,
    amount_received: 4900,
    capture_method: 'automatic',
    client_secret: 'pi_3QabcDEF_secret_xyz',
    confirmation_method: 'automatic',
    created: CREATED - 5,
    currency: 'eur',
    customer: 'cus_Tenant1',
    description: 'Groundwork Pro, January 2026',
    last_payment_error: null,
    latest_charge: 'ch_3QabcDEF',
    livemode: false,
    metadata: { invoice_id: 'inv_1', tenant_id: 'tenant_1' },
    next_action: null,
    payment_method: 'pm_1Visa',
    payment_method_types: ['card'],
    allowed_payment_method_types: ['card'],
    status: 'succeeded',
    ...overrides,
  };
}

describe('toGatewayEvent', () => {
  it('payment_intent.succeeded → payment.succeeded', () => {
    const raw = event('payment_intent.succeeded', paymentIntent({}));

    expect(toGatewayEvent(raw)).toEqual({
      id: 'evt_1QabcDEFghiJKLmn',
      type: 'payment_intent.succeeded',
      occurredAt: new Date('2026-01-01T00:00:00Z'),
      raw,
      data: {
        kind: 'payment.succeeded',
        paymentId: 'pi_3QabcDEF',
        amount: 4900,
        currency: 'eur',
        metadata: { invoice_id: 'inv_1', tenant_id: 'tenant_1' },
        error: null,
      },
    });
  });

  it('payment_intent.payment_failed → payment.failed, with the decline from last_payment_error', () => {
    const raw = event(
      'payment_intent.payment_failed',
      paymentIntent({
        status: 'requires_payment_method',
        amount_received: 0,
        payment_method: null,
        last_payment_error: {
          type: 'card_error',
          code: 'card_declined',
          decline_code: 'insufficient_funds',
          charge: 'ch_3QabcDEF',
          doc_url: 'https://docs.stripe.com/error-codes/card-declined',
          message: 'Your card has insufficient funds.',
          payment_method: { id: 'pm_1Visa', object: 'payment_method', type: 'card' },
        },
      }),
    );

    expect(toGatewayEvent(raw).data).toEqual({
      kind: 'payment.failed',
      paymentId: 'pi_3QabcDEF',
      amount: 4900,
      currency: 'eur',
      metadata: { invoice_id: 'inv_1', tenant_id: 'tenant_1' },
      error: {
        category: C.InsufficientFunds,
        declineCode: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
      },
    });
  });

  it('payment_intent.payment_failed off-session for want of authentication', () => {
    const raw = event(
      'payment_intent.payment_failed',
      paymentIntent({
        status: 'requires_payment_method',
        last_payment_error: {
          type: 'card_error',
          code: 'authentication_required',
          decline_code: 'authentication_required',
          message: 'Your card was declined. This transaction requires authentication.',
        },
      }),
    );

    expect(toGatewayEvent(raw).data).toMatchObject({
      kind: 'payment.failed',
      error: { category: C.AuthenticationRequired, declineCode: 'authentication_required' },
    });
  });

  it('payment_intent.payment_failed with only a code (no decline code)', () => {
    const raw = event(
      'payment_intent.payment_failed',
      paymentIntent({
        status: 'requires_payment_method',
        last_payment_error: {
          type: 'card_error',
          code: 'expired_card',
          message: 'Your card has expired.',
        },
      }),
    );

    expect(toGatewayEvent(raw).data).toMatchObject({
      error: {
        category: C.ExpiredCard,
        declineCode: 'expired_card',
        message: 'Your card has expired.',
      },
    });
  });

  it('payment_intent.requires_action → payment.requires_action, no error', () => {
    const raw = event(
      'payment_intent.requires_action',
      paymentIntent({
        status: 'requires_action',
        amount_received: 0,
        next_action: { type: 'use_stripe_sdk', use_stripe_sdk: {} },
      }),
    );

    expect(toGatewayEvent(raw).data).toEqual({
      kind: 'payment.requires_action',
      paymentId: 'pi_3QabcDEF',
      amount: 4900,
      currency: 'eur',
      metadata: { invoice_id: 'inv_1', tenant_id: 'tenant_1' },
      error: null,
    });
  });

  it('setup_intent.succeeded → setup.succeeded with the customer and payment method', () => {
    const raw = event('setup_intent.succeeded', {
      id: 'seti_1QabcDEF',
      object: 'setup_intent',
      client_secret: 'seti_1QabcDEF_secret_xyz',
      created: CREATED - 60,
      customer: 'cus_Tenant1',
      last_setup_error: null,
      latest_attempt: 'setatt_1QabcDEF',
      livemode: false,
      metadata: {},
      payment_method: 'pm_1Visa',
      payment_method_types: ['card'],
      status: 'succeeded',
      usage: 'off_session',
    });

    expect(toGatewayEvent(raw).data).toEqual({
      kind: 'setup.succeeded',
      setupIntentId: 'seti_1QabcDEF',
      customerId: 'cus_Tenant1',
      paymentMethodId: 'pm_1Visa',
    });
  });

  it('setup_intent.succeeded with expanded customer and payment method objects', () => {
    const raw = event('setup_intent.succeeded', {
      id: 'seti_2',
      object: 'setup_intent',
      customer: { id: 'cus_Tenant2', object: 'customer' },
      payment_method: { id: 'pm_2', object: 'payment_method', type: 'card' },
      status: 'succeeded',
    });

    expect(toGatewayEvent(raw).data).toEqual({
      kind: 'setup.succeeded',
      setupIntentId: 'seti_2',
      customerId: 'cus_Tenant2',
      paymentMethodId: 'pm_2',
    });
  });

  it('payment_method.detached → payment_method.detached', () => {
    const raw = event('payment_method.detached', {
      id: 'pm_1Visa',
      object: 'payment_method',
      type: 'card',
      card: { brand: 'visa', last4: '4242', exp_month: 12, exp_year: 2029 },
      customer: null,
      created: CREATED - 3600,
      livemode: false,
      metadata: {},
    });

    expect(toGatewayEvent(raw).data).toEqual({
      kind: 'payment_method.detached',
      paymentMethodId: 'pm_1Visa',
    });
  });

  it('charge.refunded → charge.refunded, the PaymentIntent and the total refunded', () => {
    const raw = event('charge.refunded', {
      id: 'ch_3QabcDEF',
      object: 'charge',
      amount: 4900,
      amount_captured: 4900,
      amount_refunded: 1500,
      currency: 'eur',
      customer: 'cus_Tenant1',
      captured: true,
      paid: true,
      payment_intent: 'pi_3QabcDEF',
      refunded: false,
      status: 'succeeded',
      metadata: { invoice_id: 'inv_1' },
    });

    expect(toGatewayEvent(raw).data).toEqual({
      kind: 'charge.refunded',
      paymentId: 'pi_3QabcDEF',
      amountRefunded: 1500,
    });
  });

  it('charge.dispute.created → dispute.created', () => {
    const raw = event('charge.dispute.created', {
      id: 'du_1QabcDEF',
      object: 'dispute',
      amount: 4900,
      charge: 'ch_3QabcDEF',
      currency: 'eur',
      payment_intent: 'pi_3QabcDEF',
      reason: 'fraudulent',
      status: 'needs_response',
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
    });

    expect(toGatewayEvent(raw).data).toEqual({
      kind: 'dispute.created',
      paymentId: 'pi_3QabcDEF',
      amount: 4900,
      reason: 'fraudulent',
    });
  });

  it('charge.dispute.created with the PaymentIntent expanded', () => {
    const raw = event('charge.dispute.created', {
      id: 'du_2',
      object: 'dispute',
      amount: 100,
      payment_intent: { id: 'pi_expanded', object: 'payment_intent' },
      reason: 'product_not_received',
    });

    expect(toGatewayEvent(raw).data).toMatchObject({ paymentId: 'pi_expanded' });
  });

  it('an event type billing does not act on is ignored, but kept whole', () => {
    const raw = event('customer.updated', {
      id: 'cus_Tenant1',
      object: 'customer',
      email: 'billing@tenant.example',
    });

    const parsed = toGatewayEvent(raw);

    expect(parsed.data).toEqual({ kind: 'ignored' });
    expect(parsed.id).toBe('evt_1QabcDEFghiJKLmn');
    expect(parsed.type).toBe('customer.updated');
    expect(parsed.occurredAt.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(parsed.raw).toBe(raw);
  });

  it('keeps only string metadata values', () => {
    const raw = event(
      'payment_intent.succeeded',
      paymentIntent({ metadata: { invoice_id: 'inv_1', weird: 3, nothing: null } }),
    );

    expect(toGatewayEvent(raw).data).toMatchObject({ metadata: { invoice_id: 'inv_1' } });
  });
});
