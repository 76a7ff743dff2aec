import { createHash } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { OpenAPIObject } from '@nestjs/swagger';
import { CommonErrorCode, CommonException } from '../errors/common.exception';
import type { Principal } from '../principal';

/*
 * The pure parts of `Idempotency-Key` handling: reading the key, whose it is,
 * what request it was first sent with, and how the OpenAPI document shows it.
 * The interceptor (idempotency.interceptor.ts) and the store
 * (idempotency.service.ts) build on these.
 */

/** Request header, as Node.js lower-cases it. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Response header on an answer that is a stored one, not a new execution. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';
/** How long a key is remembered; after that it may be used again for anything. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
/** Marks, in the generated document, an operation that refuses the header (with the reason). */
export const IDEMPOTENCY_UNSUPPORTED_EXTENSION = 'x-idempotency-key-unsupported';

const KEY_MAX_LENGTH = 255;
const PRINTABLE_ASCII = /^[\x20-\x7e]+$/;

/** The key of a request, or a 400 problem saying what a key must look like. */
export function parseIdempotencyKey(header: string | string[]): string {
  if (Array.isArray(header)) {
    throw new CommonException(
      CommonErrorCode.IdempotencyKeyInvalid,
      'Send one Idempotency-Key header, not several.',
    );
  }
  const problem =
    header.length === 0
      ? 'the one sent is empty'
      : header.length > KEY_MAX_LENGTH
        ? `the one sent has ${header.length}`
        : !PRINTABLE_ASCII.test(header)
          ? 'the one sent has others'
          : undefined;
  if (problem) {
    // The key itself is not echoed: clients sometimes put tokens where they should not.
    throw new CommonException(
      CommonErrorCode.IdempotencyKeyInvalid,
      `Idempotency-Key must be 1 to ${KEY_MAX_LENGTH} printable ASCII characters (a random UUID makes a good key); ${problem}.`,
    );
  }
  return header;
}

/**
 * Whose key it is: the caller and the organisation acted for. The same key
 * from another user, API key or tenant is another key.
 */
export function idempotencyScope(principal: Principal, tenantId: string | undefined): string {
  const caller =
    principal.kind === 'user' ? `user:${principal.userId}` : `api_key:${principal.keyId}`;
  return `${caller}:tenant:${tenantId ?? '-'}`;
}

/**
 * JSON with the keys of every object sorted, no whitespace: two bodies that
 * mean the same (keys in another order, other spacing) have the same text.
 * Follows JSON.stringify otherwise (undefined members are dropped, undefined
 * in an array and non-finite numbers become null).
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return JSON.stringify(value ?? null) ?? 'null';
  }
  const withToJson = value as { toJSON?: () => unknown };
  if (typeof withToJson.toJSON === 'function') return canonicalJson(withToJson.toJSON());
  if (Array.isArray(value)) {
    return `[${value.map((item) => (isSkipped(item) ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  const record = value as Record<string, unknown>;
  const members = Object.keys(record)
    .sort()
    .filter((key) => !isSkipped(record[key]))
    .map((key) => `${JSON.stringify(key)}:${canonicalJson(record[key])}`);
  return `{${members.join(',')}}`;
}

const isSkipped = (value: unknown): boolean =>
  value === undefined || typeof value === 'function' || typeof value === 'symbol';

/**
 * SHA-256 (hex) of the method, the path as requested (with its query) and the
 * canonical body: a repeat must be the same request, not merely the same key.
 * No body and an empty body hash alike.
 */
export function idempotencyRequestHash(method: string, url: string, body: unknown): string {
  const canonicalBody = body === undefined ? '' : canonicalJson(body);
  return createHash('sha256')
    .update(`${method.toUpperCase()}\n${url}\n${canonicalBody}`)
    .digest('hex');
}

const problemResponse = (status: number) => ({
  description: STATUS_CODES[status] ?? String(status),
  content: {
    'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDto' } },
  },
});

/**
 * Documents `Idempotency-Key` on every POST operation the interceptor covers:
 * those that need credentials (public ones ignore the header) and do not
 * refuse it. Operations that refuse it say why in their description instead.
 * Returns a new document; the one given is left as it is.
 */
export function documentIdempotencyKey(source: OpenAPIObject): OpenAPIObject {
  const document = structuredClone(source);
  for (const item of Object.values(document.paths)) {
    const operation = item.post as
      (NonNullable<typeof item.post> & Record<string, unknown>) | undefined;
    if (!operation) continue;
    const unsupported = operation[IDEMPOTENCY_UNSUPPORTED_EXTENSION];
    if (typeof unsupported === 'string') {
      delete operation[IDEMPOTENCY_UNSUPPORTED_EXTENSION];
      const note = `Does not accept \`Idempotency-Key\` (400 \`idempotency_key_unsupported\`): ${unsupported}`;
      operation.description = operation.description ? `${operation.description}\n\n${note}` : note;
      continue;
    }
    if (!operation.security?.length) continue;
    operation.parameters = [
      ...(operation.parameters ?? []),
      {
        name: 'Idempotency-Key',
        in: 'header',
        required: false,
        description:
          'Makes a retry safe. For 24 hours, the same key with the same body returns the first ' +
          'response again (with `Idempotent-Replayed: true`) instead of running the request twice; ' +
          'the same key with another body gets 422 `idempotency_key_reused`, and a repeat while ' +
          'the first request still runs gets 409 `idempotency_request_in_progress`. Keys are ' +
          'per caller and organisation. Server errors (5xx) are not kept: retry with the same key.',
        schema: {
          type: 'string',
          minLength: 1,
          maxLength: KEY_MAX_LENGTH,
          pattern: '^[\\x20-\\x7E]+$',
        },
      },
    ];
    for (const status of [400, 409, 422]) {
      operation.responses[String(status)] ??= problemResponse(status);
    }
  }
  return document;
}
