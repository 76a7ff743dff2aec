import {
  CommonErrorCode,
  CommonException,
  commonCodeForStatus,
  commonErrorStatus,
} from './common.exception';
import { DomainException } from './domain.exception';

const EXPECTED_STATUS: Record<CommonErrorCode, number> = {
  [CommonErrorCode.ValidationFailed]: 400,
  [CommonErrorCode.MalformedJson]: 400,
  [CommonErrorCode.BadRequest]: 400,
  [CommonErrorCode.Unauthorized]: 401,
  [CommonErrorCode.Forbidden]: 403,
  [CommonErrorCode.NotFound]: 404,
  [CommonErrorCode.MethodNotAllowed]: 405,
  [CommonErrorCode.Conflict]: 409,
  [CommonErrorCode.PayloadTooLarge]: 413,
  [CommonErrorCode.UnsupportedMediaType]: 415,
  [CommonErrorCode.UnprocessableEntity]: 422,
  [CommonErrorCode.TooManyRequests]: 429,
  [CommonErrorCode.InternalError]: 500,
  [CommonErrorCode.ServiceUnavailable]: 503,
  [CommonErrorCode.DatabaseTimeout]: 503,
  [CommonErrorCode.IdempotencyKeyInvalid]: 400,
  [CommonErrorCode.IdempotencyKeyUnsupported]: 400,
  [CommonErrorCode.IdempotencyKeyReused]: 422,
  [CommonErrorCode.IdempotencyRequestInProgress]: 409,
};

const ALL_CODES = Object.values(CommonErrorCode);

describe('commonErrorStatus', () => {
  it('has an expectation for every code of the enum', () => {
    expect(Object.keys(EXPECTED_STATUS).sort()).toEqual([...ALL_CODES].sort());
  });

  it.each(ALL_CODES)('gives %s its HTTP status', (code) => {
    expect(commonErrorStatus(code)).toBe(EXPECTED_STATUS[code]);
  });

  it.each(ALL_CODES)('gives %s an error status (4xx or 5xx)', (code) => {
    const status = commonErrorStatus(code);
    expect(Number.isInteger(status)).toBe(true);
    expect(status).toBeGreaterThanOrEqual(400);
    expect(status).toBeLessThan(600);
  });
});

describe('commonCodeForStatus', () => {
  it.each([
    [400, CommonErrorCode.BadRequest],
    [401, CommonErrorCode.Unauthorized],
    [403, CommonErrorCode.Forbidden],
    [404, CommonErrorCode.NotFound],
    [405, CommonErrorCode.MethodNotAllowed],
    [409, CommonErrorCode.Conflict],
    [413, CommonErrorCode.PayloadTooLarge],
    [415, CommonErrorCode.UnsupportedMediaType],
    [422, CommonErrorCode.UnprocessableEntity],
    [429, CommonErrorCode.TooManyRequests],
    [503, CommonErrorCode.ServiceUnavailable],
  ])('maps %d to %s', (status, code) => {
    expect(commonCodeForStatus(status)).toBe(code);
  });

  it('round-trips every status it maps', () => {
    for (const status of [400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503]) {
      expect(commonErrorStatus(commonCodeForStatus(status))).toBe(status);
    }
  });

  it.each([402, 406, 408, 410, 418, 451, 499])(
    'falls back to bad_request for the unmapped client error %d',
    (status) => {
      expect(commonCodeForStatus(status)).toBe(CommonErrorCode.BadRequest);
    },
  );

  it.each([500, 501, 502, 504, 507, 599])(
    'falls back to internal_error for the unmapped server error %d',
    (status) => {
      expect(commonCodeForStatus(status)).toBe(CommonErrorCode.InternalError);
    },
  );

  it('maps 503 to service_unavailable rather than the 5xx fallback', () => {
    expect(commonCodeForStatus(503)).toBe(CommonErrorCode.ServiceUnavailable);
  });
});

describe('CommonException', () => {
  it('is a DomainException and an Error with its code, detail, status and name', () => {
    const error = new CommonException(CommonErrorCode.Forbidden, 'Not yours.', { hint: 'ask' });

    expect(error).toBeInstanceOf(DomainException);
    expect(error).toBeInstanceOf(Error);
    expect(error.code).toBe('forbidden');
    expect(error.detail).toBe('Not yours.');
    expect(error.message).toBe('Not yours.');
    expect(error.status).toBe(403);
    expect(error.name).toBe('CommonException');
    expect(error.extensions).toEqual({ hint: 'ask' });
    expect(error.cause).toBeUndefined();
  });

  it('defaults extensions to an empty object', () => {
    expect(new CommonException(CommonErrorCode.NotFound, 'x').extensions).toEqual({});
  });

  it.each(ALL_CODES)('derives the status of %s from commonErrorStatus', (code) => {
    expect(new CommonException(code, 'x').status).toBe(EXPECTED_STATUS[code]);
  });

  it('builds a validation error listing each field once, in first-seen order', () => {
    const errors = [
      { field: 'name', message: 'name must be a string' },
      { field: 'address.city', message: 'city should not be empty' },
      { field: 'name', message: 'name is too long' },
    ];
    const error = CommonException.validation(errors);

    expect(error.code).toBe(CommonErrorCode.ValidationFailed);
    expect(error.status).toBe(400);
    expect(error.detail).toBe('Invalid request: name, address.city.');
    expect(error.extensions).toEqual({ errors });
  });
});
