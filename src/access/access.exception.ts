import { DomainException } from '../common/errors/domain.exception';

export enum AccessErrorCode {
  Forbidden = 'forbidden',
  LastOwner = 'last_owner',
  /** Payment recovery suspended the organisation's writes until it pays. */
  PaymentRequired = 'payment_required',
}

export class AccessException extends DomainException<AccessErrorCode> {
  constructor(code: AccessErrorCode, detail: string) {
    super(code, detail);
  }

  get status(): number {
    switch (this.code) {
      case AccessErrorCode.Forbidden:
        return 403;
      case AccessErrorCode.LastOwner:
        return 409;
      case AccessErrorCode.PaymentRequired:
        return 402;
    }
  }
}
