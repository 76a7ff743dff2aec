import Stripe from 'stripe';
import { categoryOfDecline } from './decline-codes';
import { PaymentError, PaymentErrorCategory } from './payment-gateway';

const { errors } = Stripe;

/**
 * Connection failures that happen before a byte of the request leaves this
 * machine (nothing listening, no route, no DNS answer): Stripe cannot have
 * acted on the request. Every other transport failure (a reset, a timeout, a
 * response cut short) may come after Stripe received and executed it.
 */
const NEVER_SENT_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** API keys and webhook secrets, should Stripe ever echo one (it masks most of it, not all). */
const SECRET_PATTERN = /\b(?:sk|rk)_(?:test|live)_[A-Za-z0-9*]+|\bwhsec_[A-Za-z0-9*]+/g;

/** The message without anything that looks like a key. */
export function redactSecrets(message: string): string {
  return message.replace(SECRET_PATTERN, '[redacted]');
}

type StripeError = InstanceType<typeof errors.StripeError>;

function requestIdOf(error: StripeError): string | null {
  return error.requestId ?? error.headers?.['request-id'] ?? null;
}

/** Stripe's own advice on retrying (`Stripe-Should-Retry`), when it gives one. */
function shouldRetryHeader(error: StripeError): boolean | undefined {
  const value = error.headers?.['stripe-should-retry'];
  return value === 'true' ? true : value === 'false' ? false : undefined;
}

/** The Node error code under a StripeConnectionError (`detail`), if any. */
function transportCodeOf(error: StripeError): string | undefined {
  const detail = error.detail as { code?: unknown } | string | undefined;
  return typeof detail === 'object' && typeof detail?.code === 'string' ? detail.code : undefined;
}

/**
 * Classifies anything the Stripe SDK throws as a PaymentError. Pure, so every
 * branch is unit-tested with the SDK's own error classes.
 *
 * `retryable` means "the same call, under the same idempotency key, may
 * succeed": a card decline is never retryable that way (Stripe replays the
 * stored 402 for that key); the dunning schedule retries with a new attempt
 * key instead. `outcomeUnknown` means Stripe may have acted on the request,
 * so the caller must reconcile before doing anything else.
 */
export function toPaymentError(error: unknown): PaymentError {
  if (error instanceof PaymentError) return error;
  if (!(error instanceof errors.StripeError)) {
    // Not from the API: a bug, or a failure inside the SDK after the request
    // may have gone out. Nothing says it was not sent.
    const detail = error instanceof Error ? error.message : String(error);
    return new PaymentError({
      category: PaymentErrorCategory.GatewayUnavailable,
      message: `Stripe call failed: ${redactSecrets(detail)}`,
      retryable: true,
      outcomeUnknown: true,
      cause: error,
    });
  }

  const base = {
    message: `Stripe: ${redactSecrets(error.message || error.type)}`,
    gatewayRequestId: requestIdOf(error),
    httpStatus: error.statusCode ?? null,
    paymentId: error.payment_intent?.id ?? null,
    cause: error,
  };
  const advisedRetry = shouldRetryHeader(error);

  if (error instanceof errors.StripeCardError) {
    // The SDK turns a missing decline_code into ''.
    const declineCode = error.decline_code || null;
    return new PaymentError({
      ...base,
      category: categoryOfDecline(error.code, declineCode),
      declineCode: declineCode ?? error.code ?? null,
      retryable: false,
      outcomeUnknown: false,
    });
  }

  if (error.code === 'idempotency_key_in_use') {
    // Another request with this key is still executing (HTTP 409): it may yet
    // succeed, and once it ends the same key replays its result.
    return new PaymentError({
      ...base,
      category: PaymentErrorCategory.GatewayUnavailable,
      retryable: true,
      outcomeUnknown: true,
    });
  }

  if (error instanceof errors.StripeRateLimitError) {
    // Refused before execution (rate limit, or `lock_timeout` on a busy object).
    return new PaymentError({
      ...base,
      category: PaymentErrorCategory.RateLimited,
      retryable: advisedRetry ?? true,
      outcomeUnknown: false,
    });
  }

  if (
    error instanceof errors.StripeAuthenticationError ||
    error instanceof errors.StripePermissionError
  ) {
    // The key is wrong or lacks a permission; the message names no key, and
    // the SDK error (whose raw message may hold a masked key) is not kept.
    const { cause: _cause, ...withoutCause } = base;
    return new PaymentError({
      ...withoutCause,
      message:
        error instanceof errors.StripeAuthenticationError
          ? 'Stripe rejected the API key (check STRIPE_SECRET_KEY)'
          : `The Stripe API key may not do this (${base.message})`,
      category: PaymentErrorCategory.Configuration,
      retryable: false,
      outcomeUnknown: false,
    });
  }

  if (error instanceof errors.StripeIdempotencyError) {
    // The key was first used with other parameters: repeating the call gets the
    // same 400 forever, so not retryable. That first request did execute, and
    // may have moved money: the caller must look before choosing a new key.
    return new PaymentError({
      ...base,
      category: PaymentErrorCategory.InvalidRequest,
      retryable: false,
      outcomeUnknown: true,
    });
  }

  if (error instanceof errors.StripeInvalidRequestError) {
    // Failed validation (400) or names a missing object (404): not executed.
    return new PaymentError({
      ...base,
      category: PaymentErrorCategory.InvalidRequest,
      retryable: false,
      outcomeUnknown: false,
    });
  }

  if (error instanceof errors.StripeConnectionError) {
    const code = transportCodeOf(error);
    const neverSent = code !== undefined && NEVER_SENT_CODES.has(code);
    return new PaymentError({
      ...base,
      message: `Stripe unreachable${code ? ` (${code})` : ''}: ${base.message}`,
      category: PaymentErrorCategory.GatewayUnavailable,
      retryable: true,
      outcomeUnknown: !neverSent,
    });
  }

  if (error instanceof errors.StripeAPIError) {
    const status = error.statusCode;
    if (status === 409) {
      // A conflict (e.g. `lock_timeout`): Stripe saves no result and did not execute.
      return new PaymentError({
        ...base,
        category: PaymentErrorCategory.GatewayUnavailable,
        retryable: advisedRetry ?? true,
        outcomeUnknown: false,
      });
    }
    if (status !== undefined && status < 500) {
      // A 4xx the SDK has no class for (405, 410, …): our request is wrong.
      return new PaymentError({
        ...base,
        category: PaymentErrorCategory.InvalidRequest,
        retryable: false,
        outcomeUnknown: false,
      });
    }
    // A 5xx, or a response that was not JSON: Stripe may have executed it.
    // Retrying under the same key is safe (never a second charge), though
    // Stripe replays a 500 it stored for that key, hence the header's advice.
    return new PaymentError({
      ...base,
      category: PaymentErrorCategory.GatewayUnavailable,
      retryable: advisedRetry ?? true,
      outcomeUnknown: true,
    });
  }

  // Any other StripeError (OAuth, v2 API, a class added after this was written).
  return new PaymentError({
    ...base,
    category: PaymentErrorCategory.GatewayUnavailable,
    retryable: advisedRetry ?? true,
    outcomeUnknown: true,
  });
}

/** A PaymentIntent's `last_payment_error` as our decline triple, or null. */
export function declineOfIntent(
  intent: Pick<Stripe.PaymentIntent, 'last_payment_error'>,
): { category: PaymentErrorCategory; declineCode: string | null; message: string } | null {
  const error = intent.last_payment_error;
  if (!error) return null;
  const code = error.code ?? null;
  const declineCode = error.decline_code || null;
  return {
    category: categoryOfDecline(code, declineCode),
    declineCode: declineCode ?? code,
    message: redactSecrets(error.message ?? 'The payment was declined.'),
  };
}

/**
 * A PaymentIntent Stripe answered with 200 but left in `requires_payment_method`
 * after confirming: the attempt failed, exactly like a 402.
 */
export function declinedIntentError(
  intent: Stripe.PaymentIntent,
  gatewayRequestId: string | null,
  httpStatus: number | null,
): PaymentError {
  const decline = declineOfIntent(intent);
  return new PaymentError({
    category: decline?.category ?? PaymentErrorCategory.CardDeclined,
    message: `Stripe: ${decline?.message ?? 'The payment was declined.'}`,
    declineCode: decline?.declineCode ?? null,
    retryable: false,
    outcomeUnknown: false,
    gatewayRequestId,
    paymentId: intent.id,
    httpStatus,
  });
}
