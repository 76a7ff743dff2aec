import { STATUS_CODES } from 'node:http';
import type { OpenAPIObject } from '@nestjs/swagger';
import { CommonErrorCode, CommonException } from '../errors/common.exception';

/*
 * The pure parts of the API's rate limits: which routes they cover, which
 * budget a request is counted against, the headers that report it and how
 * the OpenAPI document shows them. The limiter (rate-limit.service.ts) and
 * the guard (rate-limit.guard.ts) build on these. Design: ADR 0020.
 */

/** The budgets, each per minute and counted in a fixed one-minute window. */
export type RateLimitBudget = 'ip' | 'user' | 'tenant';
export const RATE_LIMIT_WINDOW_SECONDS = 60;

/** How a budget stands after counting one request. */
export interface RateLimitOutcome {
  budget: RateLimitBudget;
  limit: number;
  remaining: number;
  /** Seconds until the window restarts (at least 1). */
  resetSeconds: number;
  /** Over the budget: the request is refused. */
  exceeded: boolean;
}

/**
 * `RateLimit-*` as in the IETF httpapi draft (limit, remaining, seconds to
 * reset, and the policy `<limit>;w=<window>`), for the budget closest to its
 * end; `Retry-After` on 429 as RFC 9110 defines it.
 */
export const RATE_LIMIT_RESPONSE_HEADERS = [
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'ratelimit-policy',
] as const;

/**
 * Not counted: probes and scrapes (Kubernetes and Prometheus must never be
 * told to back off), and Stripe's webhooks (signed, and a 429 would only delay
 * billing events Stripe retries for days from addresses many tenants share).
 */
export function isRateLimitExempt(path: string): boolean {
  return (
    path === '/health' ||
    path.startsWith('/health/') ||
    path === '/metrics' ||
    path.startsWith('/webhooks/')
  );
}

export function rateLimitHeaders(outcome: RateLimitOutcome): Record<string, string> {
  return {
    'ratelimit-limit': String(outcome.limit),
    'ratelimit-remaining': String(outcome.remaining),
    'ratelimit-reset': String(outcome.resetSeconds),
    'ratelimit-policy': `${outcome.limit};w=${RATE_LIMIT_WINDOW_SECONDS}`,
  };
}

/** Of several budgets counted for one request, the one to report: the nearest to its end. */
export function tightest(a: RateLimitOutcome | undefined, b: RateLimitOutcome): RateLimitOutcome {
  if (!a) return b;
  if (a.exceeded !== b.exceeded) return a.exceeded ? a : b;
  return b.remaining < a.remaining ? b : a;
}

const WHOSE: Record<RateLimitBudget, string> = {
  ip: 'from this address',
  user: 'by this user or API key',
  tenant: 'for this organisation',
};

/** The 429 problem for an exceeded budget, with `Retry-After` and the `RateLimit-*` headers. */
export function rateLimitExceeded(outcome: RateLimitOutcome): CommonException {
  const error = new CommonException(
    CommonErrorCode.TooManyRequests,
    `Too many requests ${WHOSE[outcome.budget]}: at most ${outcome.limit} a minute. ` +
      `Retry after ${outcome.resetSeconds} s.`,
    { rateLimit: outcome.budget },
  );
  Object.assign(error.headers, rateLimitHeaders(outcome), {
    'retry-after': String(outcome.resetSeconds),
  });
  return error;
}

const integerHeader = (description: string) => ({ description, schema: { type: 'integer' } });

/**
 * Documents the 429 problem, with its headers, on every operation the
 * limits cover. Returns a new document; the one given is left as it is.
 */
export function documentRateLimits(source: OpenAPIObject): OpenAPIObject {
  const document = structuredClone(source);
  for (const [path, item] of Object.entries(document.paths)) {
    if (isRateLimitExempt(path)) continue;
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (!operation) continue;
      operation.responses['429'] ??= {
        description:
          `${STATUS_CODES[429]}: a per-minute budget (per client address, per user or API key, ` +
          'per organisation) is spent. Every response carries `RateLimit-*` for the budget ' +
          'nearest its end.',
        headers: {
          'Retry-After': integerHeader('Seconds until the budget renews.'),
          'RateLimit-Limit': integerHeader('Requests allowed per window.'),
          'RateLimit-Remaining': integerHeader('Requests left in this window.'),
          'RateLimit-Reset': integerHeader('Seconds until the window restarts.'),
          'RateLimit-Policy': {
            description: '`<limit>;w=<window seconds>`',
            schema: { type: 'string' },
          },
        },
        content: {
          'application/problem+json': { schema: { $ref: '#/components/schemas/ProblemDto' } },
        },
      };
    }
  }
  return document;
}
