import { DomainException } from '../common/errors/domain.exception';

export enum AccessErrorCode {
  Forbidden = 'forbidden',
  LastOwner = 'last_owner',
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
    }
  }
}
