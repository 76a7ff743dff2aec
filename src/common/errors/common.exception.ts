import { DomainException, FieldError } from './domain.exception';

/** Errors of the HTTP layer itself, shared by every module. */
export enum CommonErrorCode {
  ValidationFailed = 'validation_failed',
  MalformedJson = 'malformed_json',
  BadRequest = 'bad_request',
  Unauthorized = 'unauthorized',
  Forbidden = 'forbidden',
  NotFound = 'not_found',
  MethodNotAllowed = 'method_not_allowed',
  Conflict = 'conflict',
  PayloadTooLarge = 'payload_too_large',
  UnsupportedMediaType = 'unsupported_media_type',
  UnprocessableEntity = 'unprocessable_entity',
  TooManyRequests = 'too_many_requests',
  InternalError = 'internal_error',
  ServiceUnavailable = 'service_unavailable',
  /** A statement ran past DATABASE_STATEMENT_TIMEOUT_MS, or no pooled connection came free in time. */
  DatabaseTimeout = 'database_timeout',
  /** `Idempotency-Key` is empty, too long, or not printable ASCII. */
  IdempotencyKeyInvalid = 'idempotency_key_invalid',
  /** The route refuses `Idempotency-Key` (its response holds a secret that is never stored). */
  IdempotencyKeyUnsupported = 'idempotency_key_unsupported',
  /** The key was already used for another request (another body or route). */
  IdempotencyKeyReused = 'idempotency_key_reused',
  /** The first request with this key has not finished yet. */
  IdempotencyRequestInProgress = 'idempotency_request_in_progress',
}

export class CommonException extends DomainException<CommonErrorCode> {
  constructor(code: CommonErrorCode, detail: string, extensions?: Record<string, unknown>) {
    super(code, detail, extensions);
  }

  static validation(errors: FieldError[]): CommonException {
    const fields = [...new Set(errors.map((e) => e.field))].join(', ');
    return new CommonException(CommonErrorCode.ValidationFailed, `Invalid request: ${fields}.`, {
      errors,
    });
  }

  get status(): number {
    return commonErrorStatus(this.code);
  }
}

export function commonErrorStatus(code: CommonErrorCode): number {
  switch (code) {
    case CommonErrorCode.ValidationFailed:
    case CommonErrorCode.MalformedJson:
    case CommonErrorCode.BadRequest:
    case CommonErrorCode.IdempotencyKeyInvalid:
    case CommonErrorCode.IdempotencyKeyUnsupported:
      return 400;
    case CommonErrorCode.Unauthorized:
      return 401;
    case CommonErrorCode.Forbidden:
      return 403;
    case CommonErrorCode.NotFound:
      return 404;
    case CommonErrorCode.MethodNotAllowed:
      return 405;
    case CommonErrorCode.Conflict:
    case CommonErrorCode.IdempotencyRequestInProgress:
      return 409;
    case CommonErrorCode.PayloadTooLarge:
      return 413;
    case CommonErrorCode.UnsupportedMediaType:
      return 415;
    case CommonErrorCode.UnprocessableEntity:
    case CommonErrorCode.IdempotencyKeyReused:
      return 422;
    case CommonErrorCode.TooManyRequests:
      return 429;
    case CommonErrorCode.InternalError:
      return 500;
    case CommonErrorCode.ServiceUnavailable:
    case CommonErrorCode.DatabaseTimeout:
      return 503;
  }
}

/** The common code for a bare HTTP status (Nest or Fastify errors that carry no code of ours). */
export function commonCodeForStatus(status: number): CommonErrorCode {
  const byStatus: Record<number, CommonErrorCode> = {
    400: CommonErrorCode.BadRequest,
    401: CommonErrorCode.Unauthorized,
    403: CommonErrorCode.Forbidden,
    404: CommonErrorCode.NotFound,
    405: CommonErrorCode.MethodNotAllowed,
    409: CommonErrorCode.Conflict,
    413: CommonErrorCode.PayloadTooLarge,
    415: CommonErrorCode.UnsupportedMediaType,
    422: CommonErrorCode.UnprocessableEntity,
    429: CommonErrorCode.TooManyRequests,
    503: CommonErrorCode.ServiceUnavailable,
  };
  return (
    byStatus[status] ?? (status >= 500 ? CommonErrorCode.InternalError : CommonErrorCode.BadRequest)
  );
}
