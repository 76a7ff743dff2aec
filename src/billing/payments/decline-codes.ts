import { PaymentErrorCategory } from './payment-gateway';

/**
 * Stripe's card-error `code` and `decline_code` reduced to our category. One
 * table for both adapters, so a simulated decline reads exactly like a real
 * one. Anything unknown is a plain `card_declined`.
 */
const BY_CODE: Record<string, PaymentErrorCategory> = {
  insufficient_funds: PaymentErrorCategory.InsufficientFunds,
  expired_card: PaymentErrorCategory.ExpiredCard,
  authentication_required: PaymentErrorCategory.AuthenticationRequired,
  card_not_authenticated: PaymentErrorCategory.AuthenticationRequired,
  processing_error: PaymentErrorCategory.ProcessingError,
  try_again_later: PaymentErrorCategory.ProcessingError,
  issuer_not_available: PaymentErrorCategory.ProcessingError,
  reenter_transaction: PaymentErrorCategory.ProcessingError,
};

export function categoryOfDecline(
  code: string | null | undefined,
  declineCode: string | null | undefined,
): PaymentErrorCategory {
  return (
    (declineCode ? BY_CODE[declineCode] : undefined) ??
    (code ? BY_CODE[code] : undefined) ??
    PaymentErrorCategory.CardDeclined
  );
}
