import { DomainException } from '../../common/errors/domain.exception';

export enum BusinessMetricsErrorCode {
  /** `from` is after `to`. */
  RangeInvalid = 'metrics_range_invalid',
  /** The period is longer than the report allows. */
  RangeTooLong = 'metrics_range_too_long',
  /** The period starts after today: nothing has happened in it yet. */
  RangeInFuture = 'metrics_range_in_future',
}

export class BusinessMetricsException extends DomainException<BusinessMetricsErrorCode> {
  constructor(
    code: BusinessMetricsErrorCode,
    detail: string,
    extensions?: Record<string, unknown>,
  ) {
    super(code, detail, extensions);
  }

  get status(): number {
    switch (this.code) {
      case BusinessMetricsErrorCode.RangeInvalid:
      case BusinessMetricsErrorCode.RangeTooLong:
      case BusinessMetricsErrorCode.RangeInFuture:
        return 400;
    }
  }
}
