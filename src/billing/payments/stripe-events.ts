import type Stripe from 'stripe';
import { categoryOfDecline } from './decline-codes';
import { GatewayEventData, ParsedGatewayEvent } from './payment-gateway';

type Obj = Record<string, unknown>;
const str = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const num = (value: unknown): number => (typeof value === 'number' ? value : 0);
/** An expandable Stripe field: the id, or the object carrying it. */
const idOf = (value: unknown): string | null =>
  typeof value === 'string' ? value : str((value as Obj | null)?.id);
const metadataOf = (value: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((value as Obj | null) ?? {}))
    if (typeof v === 'string') out[k] = v;
  return out;
};

function paymentError(
  intent: Obj,
): Extract<GatewayEventData, { paymentId: string; error: unknown }>['error'] {
  const error = intent.last_payment_error as Obj | null | undefined;
  if (!error) return null;
  const code = str(error.code);
  const declineCode = str(error.decline_code);
  return {
    category: categoryOfDecline(code, declineCode),
    declineCode: declineCode ?? code,
    message: str(error.message) ?? 'The payment was declined.',
  };
}

/**
 * Reduces a verified Stripe event to what billing acts on. Pure, so every
 * event type we handle is unit-tested from a fixture; an event we do not act
 * on becomes `ignored` (stored, acknowledged, never an error).
 */
export function toGatewayEvent(event: Stripe.Event | Obj): ParsedGatewayEvent {
  const e = event as Obj;
  const object = ((e.data as Obj | undefined)?.object ?? {}) as Obj;
  const type = String(e.type);
  const base = {
    id: String(e.id),
    type,
    occurredAt: new Date(num(e.created) * 1000),
    raw: e,
  };
  const payment = (kind: 'payment.succeeded' | 'payment.failed' | 'payment.requires_action') => ({
    kind,
    paymentId: String(object.id),
    amount: num(object.amount),
    currency: str(object.currency) ?? '',
    metadata: metadataOf(object.metadata),
    error: kind === 'payment.succeeded' ? null : paymentError(object),
  });
  let data: GatewayEventData;
  switch (type) {
    case 'payment_intent.succeeded':
      data = payment('payment.succeeded');
      break;
    case 'payment_intent.payment_failed':
      data = payment('payment.failed');
      break;
    case 'payment_intent.requires_action':
      data = payment('payment.requires_action');
      break;
    case 'setup_intent.succeeded':
      data = {
        kind: 'setup.succeeded',
        setupIntentId: String(object.id),
        customerId: idOf(object.customer),
        paymentMethodId: idOf(object.payment_method),
      };
      break;
    case 'payment_method.detached':
      data = { kind: 'payment_method.detached', paymentMethodId: String(object.id) };
      break;
    case 'charge.refunded':
      data = {
        kind: 'charge.refunded',
        paymentId: idOf(object.payment_intent) ?? '',
        amountRefunded: num(object.amount_refunded),
      };
      break;
    case 'charge.dispute.created':
      data = {
        kind: 'dispute.created',
        paymentId: idOf(object.payment_intent) ?? '',
        amount: num(object.amount),
        reason: str(object.reason) ?? 'unknown',
      };
      break;
    default:
      data = { kind: 'ignored' };
  }
  return { ...base, data };
}
