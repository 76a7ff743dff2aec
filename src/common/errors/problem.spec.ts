import {
  BadRequestException,
  ForbiddenException,
  HttpException,
  HttpStatus,
  NotFoundException,
  PayloadTooLargeException,
  UnsupportedMediaTypeException,
} from '@nestjs/common';
import { DriverException } from '@mikro-orm/core';
import { TenancyErrorCode, TenancyException } from '../../tenancy/tenancy.exception';
import { CommonErrorCode, CommonException } from './common.exception';
import { isDatabaseTimeout, PROBLEM_CONTENT_TYPE, problemType, toProblem } from './problem';

const REQUEST_ID = '0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d';
const GENERIC_DETAIL =
  'An unexpected error occurred. It has been logged; quote the request id when reporting it.';

describe('problemType and the content type', () => {
  it('builds a URN from the code', () => {
    expect(problemType('tenant_not_found')).toBe('urn:groundwork:problem:tenant_not_found');
  });

  it('answers with application/problem+json', () => {
    expect(PROBLEM_CONTENT_TYPE).toBe('application/problem+json; charset=utf-8');
  });
});

describe('toProblem with domain exceptions', () => {
  it('maps a CommonException to its status, code, type, title, detail and request id', () => {
    const { problem, unexpected } = toProblem(
      new CommonException(CommonErrorCode.Conflict, 'The invoice is already paid.'),
      REQUEST_ID,
    );

    expect(problem).toEqual({
      type: 'urn:groundwork:problem:conflict',
      title: 'Conflict',
      status: 409,
      detail: 'The invoice is already paid.',
      code: 'conflict',
      requestId: REQUEST_ID,
    });
    expect(unexpected).toBeUndefined();
  });

  it('maps a TenancyException with its own status and code', () => {
    const { problem, unexpected } = toProblem(
      new TenancyException(TenancyErrorCode.TenantNotFound, 'No organisation "acme".'),
      REQUEST_ID,
    );

    expect(problem).toEqual({
      type: 'urn:groundwork:problem:tenant_not_found',
      title: 'Not Found',
      status: 404,
      detail: 'No organisation "acme".',
      code: 'tenant_not_found',
      requestId: REQUEST_ID,
    });
    expect(unexpected).toBeUndefined();
  });

  it.each([
    [TenancyErrorCode.TenantRequired, 400, 'Bad Request'],
    [TenancyErrorCode.SlugInvalid, 400, 'Bad Request'],
    [TenancyErrorCode.TenantSuspended, 403, 'Forbidden'],
    [TenancyErrorCode.SlugReserved, 409, 'Conflict'],
    [TenancyErrorCode.SlugTaken, 409, 'Conflict'],
  ])('gives tenancy code %s the status %d (%s)', (code, status, title) => {
    const { problem } = toProblem(new TenancyException(code, 'x'));

    expect(problem).toMatchObject({ status, title, code, type: problemType(code) });
  });

  it('copies extensions into the problem document', () => {
    const { problem } = toProblem(
      new TenancyException(TenancyErrorCode.SlugTaken, 'The slug "acme" is already taken.', {
        slug: 'acme',
        suggestions: ['acme-1', 'acme-hq'],
      }),
      REQUEST_ID,
    );

    expect(problem).toEqual({
      type: 'urn:groundwork:problem:tenant_slug_taken',
      title: 'Conflict',
      status: 409,
      detail: 'The slug "acme" is already taken.',
      code: 'tenant_slug_taken',
      requestId: REQUEST_ID,
      slug: 'acme',
      suggestions: ['acme-1', 'acme-hq'],
    });
  });

  it('does not let extensions overwrite the standard members', () => {
    const { problem } = toProblem(
      new CommonException(CommonErrorCode.NotFound, 'real detail', {
        status: 200,
        code: 'ok',
        type: 'about:blank',
        title: 'OK',
        detail: 'fake detail',
        requestId: 'forged',
      }),
      REQUEST_ID,
    );

    expect(problem).toMatchObject({
      status: 404,
      code: 'not_found',
      type: 'urn:groundwork:problem:not_found',
      title: 'Not Found',
      detail: 'real detail',
      requestId: REQUEST_ID,
    });
  });

  it('leaves requestId undefined when none is given', () => {
    expect(toProblem(new CommonException(CommonErrorCode.Forbidden, 'no')).problem.requestId).toBe(
      undefined,
    );
  });

  it('reports the cause of a 5xx domain error as unexpected, keeping it out of the problem', () => {
    const cause = new Error('duplicate key value violates unique constraint "x" at 10.0.0.5');
    const { problem, unexpected } = toProblem(
      new TenancyException(
        TenancyErrorCode.ProvisioningFailed,
        'Creating the organisation failed; nothing was kept.',
        {},
        cause,
      ),
      REQUEST_ID,
    );

    expect(problem).toEqual({
      type: 'urn:groundwork:problem:tenant_provisioning_failed',
      title: 'Internal Server Error',
      status: 500,
      detail: 'Creating the organisation failed; nothing was kept.',
      code: 'tenant_provisioning_failed',
      requestId: REQUEST_ID,
    });
    expect(unexpected).toBe(cause);
    expect(JSON.stringify(problem)).not.toContain('10.0.0.5');
  });

  it('reports a 5xx domain error without a cause as unexpected itself', () => {
    const error = new CommonException(CommonErrorCode.InternalError, 'Broken.');
    expect(toProblem(error, REQUEST_ID).unexpected).toBe(error);
  });

  it('does not log a 503 domain error: unavailability is a known state, not a failure', () => {
    const error = new CommonException(CommonErrorCode.ServiceUnavailable, 'Try again shortly.');
    const { problem, unexpected } = toProblem(error, REQUEST_ID);
    expect(problem).toMatchObject({ status: 503, code: 'service_unavailable' });
    expect(unexpected).toBeUndefined();
  });

  it('does not report a 4xx domain error with a cause as unexpected', () => {
    const error = new TenancyException(
      TenancyErrorCode.SlugTaken,
      'taken',
      {},
      new Error('unique violation'),
    );

    expect(toProblem(error).unexpected).toBeUndefined();
  });

  it('maps CommonException.validation with its errors[] extension', () => {
    const { problem } = toProblem(
      CommonException.validation([
        { field: 'name', message: 'name must be a string' },
        { field: 'name', message: 'name must be shorter than or equal to 200 characters' },
        { field: 'items.0.qty', message: 'qty must be positive' },
      ]),
      REQUEST_ID,
    );

    expect(problem).toEqual({
      type: 'urn:groundwork:problem:validation_failed',
      title: 'Bad Request',
      status: 400,
      detail: 'Invalid request: name, items.0.qty.',
      code: 'validation_failed',
      requestId: REQUEST_ID,
      errors: [
        { field: 'name', message: 'name must be a string' },
        { field: 'name', message: 'name must be shorter than or equal to 200 characters' },
        { field: 'items.0.qty', message: 'qty must be positive' },
      ],
    });
  });
});

describe('toProblem with Nest and Fastify HTTP exceptions', () => {
  it('turns an unmatched route into not_found naming the method and path', () => {
    const { problem, unexpected } = toProblem(new NotFoundException('Cannot GET /x'), REQUEST_ID);

    expect(problem).toEqual({
      type: 'urn:groundwork:problem:not_found',
      title: 'Not Found',
      status: 404,
      detail: 'No route matches GET /x.',
      code: 'not_found',
      requestId: REQUEST_ID,
    });
    expect(unexpected).toBeUndefined();
  });

  it('keeps the query string of an unmatched route', () => {
    expect(toProblem(new NotFoundException('Cannot DELETE /v1/a?b=c')).problem.detail).toBe(
      'No route matches DELETE /v1/a?b=c.',
    );
  });

  it('keeps the message of a 404 that is not about routing', () => {
    expect(toProblem(new NotFoundException('Invoice gone')).problem).toMatchObject({
      status: 404,
      code: 'not_found',
      detail: 'Invoice gone',
    });
  });

  it('turns a 415 into unsupported_media_type asking for JSON', () => {
    const { problem } = toProblem(
      new HttpException('Unsupported Media Type: text/plain', HttpStatus.UNSUPPORTED_MEDIA_TYPE),
      REQUEST_ID,
    );

    expect(problem).toEqual({
      type: 'urn:groundwork:problem:unsupported_media_type',
      title: 'Unsupported Media Type',
      status: 415,
      detail: 'Unsupported Media Type: text/plain. Send the body as application/json.',
      code: 'unsupported_media_type',
      requestId: REQUEST_ID,
    });
  });

  it('does not double the full stop of a 415 message that has one', () => {
    expect(
      toProblem(new UnsupportedMediaTypeException('Unsupported Media Type.')).problem.detail,
    ).toBe('Unsupported Media Type. Send the body as application/json.');
  });

  it.each([
    ['Fastify', new HttpException('Request body is too large', 413)],
    ['Nest', new PayloadTooLargeException()],
  ])('turns a %s 413 into payload_too_large', (_label, error) => {
    expect(toProblem(error, REQUEST_ID).problem).toEqual({
      type: 'urn:groundwork:problem:payload_too_large',
      title: 'Payload Too Large',
      status: 413,
      detail: 'The request body is larger than the server accepts.',
      code: 'payload_too_large',
      requestId: REQUEST_ID,
    });
  });

  it.each([
    [
      'Fastify',
      new HttpException(
        "Body is not valid JSON but content-type is set to 'application/json'",
        400,
      ),
    ],
    ['Nest', new BadRequestException("Expected property name or '}' in JSON at position 1")],
  ])('turns a %s invalid-JSON 400 into malformed_json', (_label, error) => {
    const { problem, unexpected } = toProblem(error, REQUEST_ID);

    expect(problem).toEqual({
      type: 'urn:groundwork:problem:malformed_json',
      title: 'Bad Request',
      status: 400,
      detail: 'The body is not valid JSON.',
      code: 'malformed_json',
      requestId: REQUEST_ID,
    });
    expect(unexpected).toBeUndefined();
  });

  it('says the body is empty when a JSON message mentions an empty body', () => {
    expect(
      toProblem(new BadRequestException('Unexpected end of JSON input: empty body')).problem,
    ).toMatchObject({
      code: 'malformed_json',
      detail: 'The body is empty although Content-Type is application/json.',
    });
  });

  it('joins array messages (class-validator style) with semicolons', () => {
    const { problem } = toProblem(
      new BadRequestException(['name must be a string', 'slug should not be empty']),
      REQUEST_ID,
    );

    expect(problem).toEqual({
      type: 'urn:groundwork:problem:bad_request',
      title: 'Bad Request',
      status: 400,
      detail: 'name must be a string; slug should not be empty',
      code: 'bad_request',
      requestId: REQUEST_ID,
    });
  });

  it('uses the message of a Nest exception with an object body', () => {
    expect(toProblem(new ForbiddenException('Not your invoice')).problem).toMatchObject({
      status: 403,
      code: 'forbidden',
      title: 'Forbidden',
      detail: 'Not your invoice',
    });
  });

  it('falls back to the exception message when the body has no message', () => {
    const error = new HttpException({ reason: 'x' }, 409);

    expect(toProblem(error).problem).toMatchObject({
      status: 409,
      code: 'conflict',
      detail: error.message,
    });
  });

  it.each([
    [401, 'unauthorized'],
    [405, 'method_not_allowed'],
    [422, 'unprocessable_entity'],
    [429, 'too_many_requests'],
  ])('maps a bare %d to %s keeping its message', (status, code) => {
    expect(toProblem(new HttpException('msg', status)).problem).toMatchObject({
      status,
      code,
      detail: 'msg',
      type: problemType(code),
    });
  });

  it('maps a 4xx without a common code to bad_request, keeping the original status in the detail', () => {
    expect(toProblem(new HttpException('Gone for good', 410)).problem).toMatchObject({
      status: 400,
      code: 'bad_request',
      detail: '410: Gone for good',
    });
  });

  it('maps a bare 503 to service_unavailable, keeping the status but not the message', () => {
    const { problem, unexpected } = toProblem(new HttpException('msg', 503));
    expect(problem).toMatchObject({
      status: 503,
      code: 'service_unavailable',
      type: problemType('service_unavailable'),
    });
    expect(problem.detail).not.toContain('msg');
    expect(unexpected).toBeInstanceOf(HttpException);
  });

  it('maps a 5xx without a common code to internal_error with its own status, hiding its message', () => {
    const { problem } = toProblem(new HttpException('Upstream failed', 502));
    expect(problem).toMatchObject({ status: 502, code: 'internal_error', title: 'Bad Gateway' });
    expect(problem.detail).not.toContain('Upstream');
  });

  it('reports 5xx HTTP exceptions as unexpected (logged), but not 4xx ones', () => {
    expect(toProblem(new HttpException('x', 502)).unexpected).toBeInstanceOf(HttpException);
    expect(toProblem(new HttpException('x', 404)).unexpected).toBeUndefined();
  });
});

describe('toProblem with unknown errors', () => {
  it.each([
    ['an Error', new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2')],
    ['a TypeError', new TypeError("Cannot read properties of undefined (reading 'id')")],
    ['a string', 'select * from secrets failed'],
    ['a plain object', { statusCode: 404, message: 'looks like http' }],
  ])('turns %s into a generic 500 internal_error and reports it as unexpected', (_label, error) => {
    const { problem, unexpected } = toProblem(error, REQUEST_ID);

    expect(problem).toEqual({
      type: 'urn:groundwork:problem:internal_error',
      title: 'Internal Server Error',
      status: 500,
      detail: GENERIC_DETAIL,
      code: 'internal_error',
      requestId: REQUEST_ID,
    });
    expect(unexpected).toBe(error);
  });

  it.each([
    ['null', null],
    ['undefined', undefined],
  ])('still reports something to log when %s is thrown', (label, error) => {
    const { problem, unexpected } = toProblem(error, REQUEST_ID);
    expect(problem.code).toBe('internal_error');
    expect(unexpected).toBeInstanceOf(Error);
    expect((unexpected as Error).message).toBe(`${label} was thrown`);
  });

  it('maps an empty JSON body rejected by Fastify to malformed_json', () => {
    const { problem } = toProblem(
      new HttpException("Body cannot be empty when content-type is set to 'application/json'", 400),
      REQUEST_ID,
    );
    expect(problem.code).toBe('malformed_json');
    expect(problem.detail).toBe('The body is empty although Content-Type is application/json.');
  });

  it('shows none of the internals of an unknown error', () => {
    const error = new Error('connect ECONNREFUSED 10.0.0.5:5432 password=hunter2');
    const body = JSON.stringify(toProblem(error, REQUEST_ID).problem);

    expect(body).not.toContain('hunter2');
    expect(body).not.toContain('ECONNREFUSED');
    expect(body).not.toContain('problem.spec.ts');
  });
});

describe('toProblem with database timeouts', () => {
  /** What MikroORM throws: pg's error (with its SQLSTATE) wrapped in a DriverException. */
  const driverError = (message: string, code?: string): DriverException =>
    new DriverException(Object.assign(new Error(message), { code }));

  it.each([
    ['the statement timeout', driverError('canceling statement due to statement timeout', '57014')],
    [
      'a full pool',
      driverError('Knex: Timeout acquiring a connection. The pool is probably full.'),
    ],
  ])('answers %s with a 503 database_timeout to retry, logged, without the SQL', (_, error) => {
    const { problem, headers, unexpected } = toProblem(error, REQUEST_ID);

    expect(problem).toEqual({
      type: 'urn:groundwork:problem:database_timeout',
      title: 'Service Unavailable',
      status: 503,
      detail:
        'The database did not answer in time. Try again shortly; quote the request id if it persists.',
      code: 'database_timeout',
      requestId: REQUEST_ID,
    });
    expect(headers).toEqual({ 'retry-after': '1' });
    expect(unexpected).toBe(error);
  });

  it('leaves other database errors a generic 500', () => {
    const error = driverError('relation "x" does not exist', '42P01');
    expect(isDatabaseTimeout(error)).toBe(false);
    expect(toProblem(error, REQUEST_ID).problem.code).toBe('internal_error');
  });
});
