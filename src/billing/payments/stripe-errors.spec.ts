import { inspect } from 'node:util';
import Stripe from 'stripe';
import { PaymentError, PaymentErrorCategory as C } from './payment-gateway';
import {
  declinedIntentError,
  declineOfIntent,
  redactSecrets,
  toPaymentError,
} from './stripe-errors';

const { errors } = Stripe;
type Raw = Stripe.StripeRawError;

/** An API error as the SDK builds it from a response: class chosen by status and type. */
function fromResponse(statusCode: number, raw: Raw, headers: Record<string, string> = {}) {
  return errors.StripeError.generate({
    ...raw,
    statusCode,
    requestId: 'req_123',
    headers: { 'request-id': 'req_123', ...headers },
  });
}

/** A transport failure as the SDK builds it: `detail` is the Node error. */
function connectionError(code: string | undefined, message = 'boom') {
  const detail = Object.assign(new Error(message), code ? { code } : {});
  return new errors.StripeConnectionError({
    message: 'An error occurred with our connection to Stripe.',
    detail,
  });
}

const intent = (id: string) => ({ id, object: 'payment_intent' }) as Stripe.PaymentIntent;

describe('toPaymentError', () => {
  describe('card errors (402)', () => {
    it('classifies an insufficient-funds decline, with the PaymentIntent, request id and status', () => {
      const sdkError = fromResponse(402, {
        type: 'card_error',
        code: 'card_declined',
        decline_code: 'insufficient_funds',
        message: 'Your card has insufficient funds.',
        payment_intent: intent('pi_declined'),
      });
      expect(sdkError).toBeInstanceOf(errors.StripeCardError);

      const error = toPaymentError(sdkError);

      expect(error).toBeInstanceOf(PaymentError);
      expect(error).toMatchObject({
        category: C.InsufficientFunds,
        declineCode: 'insufficient_funds',
        retryable: false,
        outcomeUnknown: false,
        gatewayRequestId: 'req_123',
        paymentId: 'pi_declined',
        httpStatus: 402,
        message: 'Stripe: Your card has insufficient funds.',
      });
      expect(error.cause).toBe(sdkError);
    });

    it.each([
      // code, decline_code, category, declineCode reported
      ['expired_card', undefined, C.ExpiredCard, 'expired_card'],
      ['card_declined', 'stolen_card', C.CardDeclined, 'stolen_card'],
      ['card_declined', 'generic_decline', C.CardDeclined, 'generic_decline'],
      [
        'authentication_required',
        'authentication_required',
        C.AuthenticationRequired,
        'authentication_required',
      ],
      [
        'card_declined',
        'authentication_required',
        C.AuthenticationRequired,
        'authentication_required',
      ],
      ['processing_error', undefined, C.ProcessingError, 'processing_error'],
      ['incorrect_cvc', undefined, C.CardDeclined, 'incorrect_cvc'],
    ])('code %s / decline code %s → %s', (code, declineCode, category, reported) => {
      const error = toPaymentError(
        fromResponse(402, { type: 'card_error', code, decline_code: declineCode, message: 'no' }),
      );
      expect(error.category).toBe(category);
      expect(error.declineCode).toBe(reported);
      // The same key replays the same 402: only a new attempt (new key) may succeed.
      expect(error.retryable).toBe(false);
      expect(error.outcomeUnknown).toBe(false);
    });

    it('has no payment id when the decline came without a PaymentIntent (attaching a card)', () => {
      const error = toPaymentError(
        fromResponse(402, { type: 'card_error', code: 'card_declined', message: 'no' }),
      );
      expect(error.paymentId).toBeNull();
      expect(error.declineCode).toBe('card_declined');
    });
  });

  describe('rate limits (429)', () => {
    it('is retryable, and nothing was executed', () => {
      const sdkError = fromResponse(429, {
        type: 'invalid_request_error',
        code: 'rate_limit',
        message: 'Too many requests hit the API too quickly.',
      });
      expect(sdkError).toBeInstanceOf(errors.StripeRateLimitError);
      expect(toPaymentError(sdkError)).toMatchObject({
        category: C.RateLimited,
        retryable: true,
        outcomeUnknown: false,
        httpStatus: 429,
        gatewayRequestId: 'req_123',
      });
    });

    it('also covers the 400 `rate_limit` the SDK classes as a rate limit', () => {
      const sdkError = fromResponse(400, { type: 'invalid_request_error', code: 'rate_limit' });
      expect(sdkError).toBeInstanceOf(errors.StripeRateLimitError);
      expect(toPaymentError(sdkError).category).toBe(C.RateLimited);
    });

    it('follows Stripe-Should-Retry when Stripe gives it', () => {
      const error = toPaymentError(
        fromResponse(
          429,
          { type: 'invalid_request_error', code: 'lock_timeout' },
          {
            'stripe-should-retry': 'false',
          },
        ),
      );
      expect(error.retryable).toBe(false);
    });
  });

  describe('API errors (5xx and others)', () => {
    it.each([500, 502, 503])(
      '%i: gateway unavailable, retryable under the same key, outcome unknown',
      (status) => {
        const sdkError = fromResponse(status, { type: 'api_error', message: 'Something broke' });
        expect(sdkError).toBeInstanceOf(errors.StripeAPIError);
        expect(toPaymentError(sdkError)).toMatchObject({
          category: C.GatewayUnavailable,
          retryable: true,
          outcomeUnknown: true,
          httpStatus: status,
          gatewayRequestId: 'req_123',
        });
      },
    );

    it('takes the request id from the header when the error has none of its own', () => {
      const sdkError = new errors.StripeAPIError({
        type: 'api_error',
        statusCode: 500,
        headers: { 'request-id': 'req_from_header' },
      });
      expect(toPaymentError(sdkError).gatewayRequestId).toBe('req_from_header');
    });

    it('a 500 Stripe says not to retry (it would replay the stored 500) is not retryable', () => {
      const error = toPaymentError(
        fromResponse(500, { type: 'api_error' }, { 'stripe-should-retry': 'false' }),
      );
      expect(error).toMatchObject({ retryable: false, outcomeUnknown: true });
    });

    it('a response that was not JSON: outcome unknown', () => {
      const sdkError = new errors.StripeAPIError({
        message: 'Invalid JSON received from the Stripe API',
        requestId: 'req_bad_json',
      });
      expect(toPaymentError(sdkError)).toMatchObject({
        category: C.GatewayUnavailable,
        outcomeUnknown: true,
        retryable: true,
        httpStatus: null,
        gatewayRequestId: 'req_bad_json',
      });
    });

    it('409 idempotency_key_in_use: the first request still runs; retry later', () => {
      const sdkError = fromResponse(409, {
        type: 'invalid_request_error',
        code: 'idempotency_key_in_use',
        message: 'There is currently another in-progress request using this idempotency key.',
      });
      expect(sdkError).toBeInstanceOf(errors.StripeAPIError);
      expect(toPaymentError(sdkError)).toMatchObject({
        category: C.GatewayUnavailable,
        retryable: true,
        outcomeUnknown: true,
        httpStatus: 409,
      });
    });

    it('409 lock_timeout: a conflict that executed nothing', () => {
      expect(
        toPaymentError(fromResponse(409, { type: 'invalid_request_error', code: 'lock_timeout' })),
      ).toMatchObject({ category: C.GatewayUnavailable, retryable: true, outcomeUnknown: false });
    });

    it('a 4xx without an SDK class of its own is an invalid request', () => {
      const sdkError = fromResponse(405, { type: 'invalid_request_error', message: 'no' });
      expect(sdkError).toBeInstanceOf(errors.StripeAPIError);
      expect(toPaymentError(sdkError)).toMatchObject({
        category: C.InvalidRequest,
        retryable: false,
        outcomeUnknown: false,
      });
    });
  });

  describe('connection errors', () => {
    it.each(['ECONNRESET', 'EPIPE', 'ETIMEDOUT'])(
      '%s (after sending): retryable, outcome unknown',
      (code) => {
        const error = toPaymentError(connectionError(code));
        expect(error).toMatchObject({
          category: C.GatewayUnavailable,
          retryable: true,
          outcomeUnknown: true,
          httpStatus: null,
          gatewayRequestId: null,
        });
        expect(error.message).toContain(code);
      },
    );

    it('without a code: outcome unknown', () => {
      expect(toPaymentError(connectionError(undefined)).outcomeUnknown).toBe(true);
    });

    it.each(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])(
      '%s (never sent): retryable, outcome known',
      (code) => {
        expect(toPaymentError(connectionError(code))).toMatchObject({
          category: C.GatewayUnavailable,
          retryable: true,
          outcomeUnknown: false,
        });
      },
    );

    it('a body cut short after the headers keeps the request id', () => {
      const sdkError = new errors.StripeConnectionError({
        message: 'An error occurred with our connection to Stripe.',
        detail: Object.assign(new Error('aborted'), { code: 'ECONNRESET' }),
        requestId: 'req_half',
      });
      expect(toPaymentError(sdkError)).toMatchObject({
        outcomeUnknown: true,
        gatewayRequestId: 'req_half',
      });
    });
  });

  describe('configuration errors', () => {
    it('401: configuration, not retryable, and the key appears nowhere', () => {
      const sdkError = fromResponse(401, {
        type: 'invalid_request_error',
        message: 'Invalid API Key provided: sk_live_abcdef1234567890',
      });
      expect(sdkError).toBeInstanceOf(errors.StripeAuthenticationError);

      const error = toPaymentError(sdkError);

      expect(error).toMatchObject({
        category: C.Configuration,
        retryable: false,
        outcomeUnknown: false,
        httpStatus: 401,
        gatewayRequestId: 'req_123',
      });
      // Not in the message, and not reachable through the cause either.
      expect(error.cause).toBeUndefined();
      expect(inspect(error, { depth: 10 })).not.toContain('sk_live_');
      expect(JSON.stringify({ ...error, message: error.message })).not.toContain('sk_live_');
    });

    it('403: configuration (a restricted key without the permission)', () => {
      const sdkError = fromResponse(403, {
        type: 'invalid_request_error',
        message: 'The provided key rk_live_abc123 does not have the required permissions.',
      });
      expect(sdkError).toBeInstanceOf(errors.StripePermissionError);
      const error = toPaymentError(sdkError);
      expect(error).toMatchObject({ category: C.Configuration, retryable: false });
      expect(error.message).not.toContain('rk_live_abc123');
    });
  });

  describe('invalid requests', () => {
    it.each([
      [400, 'parameter_missing'],
      [404, 'resource_missing'],
    ])('%i %s: invalid request, not retryable, nothing executed', (status, code) => {
      const sdkError = fromResponse(status, {
        type: 'invalid_request_error',
        code,
        message: 'No such payment_intent',
      });
      expect(sdkError).toBeInstanceOf(errors.StripeInvalidRequestError);
      expect(toPaymentError(sdkError)).toMatchObject({
        category: C.InvalidRequest,
        retryable: false,
        outcomeUnknown: false,
        httpStatus: status,
      });
    });

    it('carries the PaymentIntent an invalid request names', () => {
      const error = toPaymentError(
        fromResponse(400, {
          type: 'invalid_request_error',
          code: 'payment_intent_unexpected_state',
          payment_intent: intent('pi_state'),
        }),
      );
      expect(error.paymentId).toBe('pi_state');
    });

    it('an idempotency error (key reused with other parameters) is not retryable, and the first use may have charged', () => {
      const sdkError = fromResponse(400, {
        type: 'idempotency_error',
        message: 'Keys for idempotent requests can only be used with the same parameters.',
      });
      expect(sdkError).toBeInstanceOf(errors.StripeIdempotencyError);
      expect(toPaymentError(sdkError)).toMatchObject({
        category: C.InvalidRequest,
        retryable: false,
        outcomeUnknown: true,
      });
    });

    it('removes anything that looks like a key from a message', () => {
      const error = toPaymentError(
        fromResponse(400, {
          type: 'invalid_request_error',
          message: 'Bad key sk_test_51Habc and secret whsec_xyz',
        }),
      );
      expect(error.message).toBe('Stripe: Bad key [redacted] and secret [redacted]');
    });
  });

  describe('anything else', () => {
    it('another StripeError class: gateway unavailable, outcome unknown', () => {
      const error = toPaymentError(new errors.StripeInvalidGrantError({ message: 'grant' }));
      expect(error).toMatchObject({
        category: C.GatewayUnavailable,
        outcomeUnknown: true,
        retryable: true,
      });
    });

    it('a plain Error (not from the API): gateway unavailable, outcome unknown, message redacted', () => {
      const cause = new TypeError('cannot read sk_live_secret');
      const error = toPaymentError(cause);
      expect(error).toMatchObject({
        category: C.GatewayUnavailable,
        outcomeUnknown: true,
        gatewayRequestId: null,
        httpStatus: null,
      });
      expect(error.message).toBe('Stripe call failed: cannot read [redacted]');
      expect(error.cause).toBe(cause);
    });

    it('a thrown non-Error value', () => {
      expect(toPaymentError('weird').message).toBe('Stripe call failed: weird');
    });

    it('a PaymentError is returned as is', () => {
      const error = new PaymentError({ category: C.CardDeclined, message: 'already mapped' });
      expect(toPaymentError(error)).toBe(error);
    });
  });
});

describe('declineOfIntent / declinedIntentError', () => {
  const failed = {
    id: 'pi_failed',
    object: 'payment_intent',
    status: 'requires_payment_method',
    last_payment_error: {
      type: 'card_error',
      code: 'card_declined',
      decline_code: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    },
  } as Stripe.PaymentIntent;

  it('reads the last payment error', () => {
    expect(declineOfIntent(failed)).toEqual({
      category: C.InsufficientFunds,
      declineCode: 'insufficient_funds',
      message: 'Your card has insufficient funds.',
    });
    expect(declineOfIntent({ last_payment_error: null })).toBeNull();
  });

  it('falls back to the code when there is no decline code', () => {
    expect(
      declineOfIntent({
        last_payment_error: { type: 'card_error', code: 'expired_card' },
      }),
    ).toMatchObject({ category: C.ExpiredCard, declineCode: 'expired_card' });
  });

  it('builds the decline a 200 with a failed PaymentIntent stands for', () => {
    expect(declinedIntentError(failed, 'req_9', 200)).toMatchObject({
      category: C.InsufficientFunds,
      declineCode: 'insufficient_funds',
      paymentId: 'pi_failed',
      gatewayRequestId: 'req_9',
      httpStatus: 200,
      retryable: false,
      outcomeUnknown: false,
    });
  });
});

describe('redactSecrets', () => {
  it.each(['sk_live_abc', 'sk_test_********1234', 'rk_live_x9', 'whsec_abc'])('hides %s', (key) => {
    expect(redactSecrets(`key ${key}.`)).toBe('key [redacted].');
  });
  it('leaves ids alone', () => {
    expect(redactSecrets('pi_123 cus_456 req_789')).toBe('pi_123 cus_456 req_789');
  });
});
