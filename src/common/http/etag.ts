import { createHash } from 'node:crypto';
import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';

/*
 * Conditional GET (RFC 9110 §13): public reads carry an entity tag, and a
 * client that sends it back in `If-None-Match` gets `304 Not Modified`
 * without the body while it is current.
 */

/**
 * A strong entity tag: a hash of the body exactly as it is serialised, so
 * equal bodies share a tag across processes and restarts.
 */
export function strongEtag(body: unknown): string {
  return `"${hashOf(body)}"`;
}

/**
 * A weak entity tag (`W/"…"`): for a representation that stays the same to
 * the reader while incidental parts of it (counters) move, so the tag is a
 * hash of the parts that matter.
 */
export function weakEtag(significant: unknown): string {
  return `W/"${hashOf(significant)}"`;
}

function hashOf(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value)).digest('base64url');
}

/**
 * Whether `If-None-Match` names the current representation (RFC 9110 §13.1.2):
 * `*`, or any listed tag equal to `etag` under the weak comparison.
 */
export function ifNoneMatchHits(header: string | string[] | undefined, etag: string): boolean {
  if (header === undefined) return false;
  const value = Array.isArray(header) ? header.join(', ') : header;
  if (value.trim() === '*') return true;
  const opaque = (tag: string) => tag.replace(/^W\//, '');
  const current = opaque(etag);
  return (value.match(/(?:W\/)?"[^"]*"/g) ?? []).some((tag) => opaque(tag) === current);
}

/**
 * Answers a read conditionally: sets `ETag` and `Cache-Control` (a 304
 * carries the headers a 200 would, RFC 9110 §15.4.5), and returns `undefined`
 * with status 304 when the client already holds this representation, else the
 * body. For handlers with `@Res({ passthrough: true })`: Nest keeps a status
 * set before returning, and Fastify sends no body with a 304.
 */
export function conditionalGet<T>(
  request: FastifyRequest,
  reply: FastifyReply,
  body: T,
  etag: string,
  cacheControl: string,
): T | undefined {
  void reply.header('etag', etag).header('cache-control', cacheControl);
  if (!ifNoneMatchHits(request.headers['if-none-match'], etag)) return body;
  void reply.status(304);
  return undefined;
}

/** The response headers of a conditional read, for `@ApiOkResponse({ headers })`. */
export function conditionalHeaders(cacheControl: string) {
  return {
    ETag: { description: 'Entity tag of the body.', schema: { type: 'string' } },
    'Cache-Control': { description: cacheControl, schema: { type: 'string' } },
  };
}

/** OpenAPI for a conditional read: the `If-None-Match` header and the 304 answer. */
export function ApiConditionalGet(cacheControl: string): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: 'If-None-Match',
      required: false,
      description: 'An `ETag` from an earlier response: 304 without a body while it is current.',
    }),
    ApiResponse({
      status: 304,
      description: 'Not Modified: `If-None-Match` names the current `ETag`. No body.',
      headers: conditionalHeaders(cacheControl),
    }),
  );
}
