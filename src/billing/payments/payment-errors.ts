import { BillingErrorCode, BillingException } from '../billing.exception';
import { PaymentError, PaymentErrorCategory } from './payment-gateway';

/** Categories that are the card's answer (the customer can act), not our or the gateway's failure. */
export const DECLINE_CATEGORIES: ReadonlySet<PaymentErrorCategory> = new Set([
  PaymentErrorCategory.CardDeclined,
  PaymentErrorCategory.InsufficientFunds,
  PaymentErrorCategory.ExpiredCard,
  PaymentErrorCategory.AuthenticationRequired,
  PaymentErrorCategory.ProcessingError,
]);

/** What the API client is told about a gateway failure (never the gateway's internals). */
export function toBillingException(error: PaymentError, context = 'The payment'): BillingException {
  const extensions = {
    category: error.category,
    declineCode: error.declineCode,
    gatewayRequestId: error.gatewayRequestId,
  };
  if (DECLINE_CATEGORIES.has(error.category)) {
    return new BillingException(
      BillingErrorCode.PaymentDeclined,
      `${context} was declined: ${error.message}`,
      extensions,
      error,
    );
  }
  switch (error.category) {
    case PaymentErrorCategory.RateLimited:
    case PaymentErrorCategory.GatewayUnavailable: {
      const exception = new BillingException(
        BillingErrorCode.GatewayUnavailable,
        'The payment provider is not answering; nothing was charged twice. Try again in a minute.',
        { category: error.category, gatewayRequestId: error.gatewayRequestId },
        error,
      );
      exception.headers['retry-after'] = '60';
      return exception;
    }
    case PaymentErrorCategory.InvalidRequest:
      return new BillingException(
        BillingErrorCode.PaymentMethodInvalid,
        `The payment provider refused the request: ${error.message}`,
        { category: error.category, gatewayRequestId: error.gatewayRequestId },
        error,
      );
    default:
      return new BillingException(
        BillingErrorCode.GatewayError,
        'The payment provider is misconfigured on our side; we have been alerted.',
        { category: error.category, gatewayRequestId: error.gatewayRequestId },
        error,
      );
  }
}

/** A gateway call wrapped so its failure reaches the client as a billing problem. */
export async function viaGateway<T>(call: () => Promise<T>, context?: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof PaymentError) throw toBillingException(error, context);
    throw error;
  }
}
