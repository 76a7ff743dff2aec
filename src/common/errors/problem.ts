import { STATUS_CODES } from 'node:http';
import { HttpException } from '@nestjs/common';
import {
  CommonErrorCode,
  CommonException,
  commonCodeForStatus,
  commonErrorStatus,
} from './common.exception';
import { DomainException } from './domain.exception';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** An RFC 9457 problem document, as every error response carries it. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  /** Stable, machine-readable; clients switch on this, never on `detail`. */
  code: string;
  requestId?: string;
  [extension: string]: unknown;
}

export interface ProblemOutcome {
  problem: Problem;
  headers?: Record<string, string>;
  /** Set when the error was not one we meant to throw: log it with its stack. */
  unexpected?: unknown;
}

const GENERIC_DETAIL =
  'An unexpected error occurred. It has been logged; quote the request id when reporting it.';

const TIMEOUT_DETAIL =
  'The database did not answer in time. Try again shortly; quote the request id if it persists.';

/**
 * PostgreSQL's `query_canceled` (57014: the statement timeout fired) and
 * knex's wait for a free pooled connection: the database is too slow or too
 * busy for this request now, not broken. MikroORM wraps both in a
 * DriverException that keeps the code and message (not the name).
 */
export function isDatabaseTimeout(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return (
    (error as { code?: unknown }).code === '57014' ||
    error.message.startsWith('Knex: Timeout acquiring a connection')
  );
}

export const problemType = (code: string): string => `urn:groundwork:problem:${code}`;

/** Turns anything thrown while serving a request into the problem to answer with. */
export function toProblem(error: unknown, requestId?: string): ProblemOutcome {
  const fromDomain = (e: DomainException<string>): Problem => ({
    ...e.extensions,
    type: problemType(e.code),
    title: STATUS_CODES[e.status] ?? 'Error',
    status: e.status,
    detail: e.detail,
    code: e.code,
    requestId,
  });

  if (error instanceof DomainException) {
    const domain = error as DomainException<string>;
    // A 5xx domain error is still a failure of ours: log what caused it.
    return {
      problem: fromDomain(domain),
      headers: domain.headers,
      // 503 is a known state (maintenance, upgrade), not a failure to log.
      unexpected:
        domain.status >= 500 && domain.status !== 503 ? (domain.cause ?? domain) : undefined,
    };
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    if (status >= 500) {
      // Our own failure dressed as HTTP: logged, and its message is not for the client.
      const problem = fromDomain(new CommonException(commonCodeForStatus(status), GENERIC_DETAIL));
      return {
        problem: { ...problem, status, title: STATUS_CODES[status] ?? 'Error' },
        unexpected: error,
      };
    }
    return { problem: fromDomain(fromHttpException(error)) };
  }

  if (isDatabaseTimeout(error)) {
    // The client may retry; on-call needs the statement, so it is logged.
    return {
      problem: fromDomain(new CommonException(CommonErrorCode.DatabaseTimeout, TIMEOUT_DETAIL)),
      headers: { 'retry-after': '1' },
      unexpected: error,
    };
  }

  const internal = new CommonException(CommonErrorCode.InternalError, GENERIC_DETAIL);
  // Something is always logged, even when `undefined` itself was thrown.
  return {
    problem: fromDomain(internal),
    unexpected: error ?? new Error(`${String(error)} was thrown`),
  };
}

/**
 * Nest's own exceptions, and Fastify's rejections (body parsing, media type,
 * size limits), which Nest hands over as HttpExceptions with Fastify's message.
 */
function fromHttpException(error: HttpException): CommonException {
  const status = error.getStatus();
  const body = error.getResponse();
  const raw = typeof body === 'string' ? body : (body as { message?: unknown }).message;
  const message = Array.isArray(raw)
    ? raw.join('; ')
    : typeof raw === 'string'
      ? raw
      : error.message;
  if (status === 400 && /json/i.test(message)) {
    return new CommonException(
      CommonErrorCode.MalformedJson,
      /empty/i.test(message)
        ? 'The body is empty although Content-Type is application/json.'
        : 'The body is not valid JSON.',
    );
  }
  if (status === 413) {
    return new CommonException(
      CommonErrorCode.PayloadTooLarge,
      'The request body is larger than the server accepts.',
    );
  }
  if (status === 415) {
    return new CommonException(
      CommonErrorCode.UnsupportedMediaType,
      `${message.replace(/\.$/, '')}. Send the body as application/json.`,
    );
  }
  const code = commonCodeForStatus(status);
  const detail =
    status === 404 && /^Cannot [A-Z]+ /.test(message)
      ? `No route matches ${message.slice('Cannot '.length)}.`
      : message;
  return new CommonException(
    code,
    commonErrorStatus(code) === status ? detail : `${status}: ${detail}`,
  );
}
