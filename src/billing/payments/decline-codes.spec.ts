import { categoryOfDecline } from './decline-codes';
import { PaymentErrorCategory as C } from './payment-gateway';

describe('categoryOfDecline', () => {
  it.each([
    ['card_declined', 'insufficient_funds', C.InsufficientFunds],
    ['card_declined', 'generic_decline', C.CardDeclined],
    ['card_declined', 'stolen_card', C.CardDeclined],
    ['expired_card', null, C.ExpiredCard],
    ['card_declined', 'expired_card', C.ExpiredCard],
    ['authentication_required', null, C.AuthenticationRequired],
    ['card_declined', 'authentication_required', C.AuthenticationRequired],
    ['processing_error', null, C.ProcessingError],
    ['card_declined', 'try_again_later', C.ProcessingError],
    ['incorrect_cvc', null, C.CardDeclined],
    [null, null, C.CardDeclined],
  ])('code %s, decline code %s → %s', (code, declineCode, category) => {
    expect(categoryOfDecline(code, declineCode)).toBe(category);
  });
});
