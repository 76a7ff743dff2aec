import type { OpenAPIObject } from '@nestjs/swagger';
import {
  documentRateLimits,
  isRateLimitExempt,
  RateLimitOutcome,
  rateLimitExceeded,
  rateLimitHeaders,
  tightest,
} from './rate-limit';

const outcome = (over: Partial<RateLimitOutcome> = {}): RateLimitOutcome => ({
  budget: 'user',
  limit: 600,
  remaining: 10,
  resetSeconds: 42,
  exceeded: false,
  ...over,
});

describe('isRateLimitExempt', () => {
  it.each(['/health', '/health/live', '/health/ready', '/metrics', '/webhooks/stripe'])(
    'exempts %s',
    (path) => expect(isRateLimitExempt(path)).toBe(true),
  );
  it.each(['/v1/tenant', '/v1/auth/login', '/v1/health', '/healthz', '/v1/metrics', '/webhooks'])(
    'counts %s',
    (path) => expect(isRateLimitExempt(path)).toBe(false),
  );
});

describe('rateLimitHeaders', () => {
  it('reports limit, remaining, seconds to reset and the policy', () => {
    expect(rateLimitHeaders(outcome())).toEqual({
      'ratelimit-limit': '600',
      'ratelimit-remaining': '10',
      'ratelimit-reset': '42',
      'ratelimit-policy': '600;w=60',
    });
  });
});

describe('tightest', () => {
  it('reports the budget with the fewest requests left', () => {
    const user = outcome({ remaining: 10 });
    const tenant = outcome({ budget: 'tenant', limit: 3000, remaining: 3 });
    expect(tightest(undefined, user)).toBe(user);
    expect(tightest(user, tenant)).toBe(tenant);
    expect(tightest(tenant, user)).toBe(tenant);
  });

  it('prefers an exceeded budget over any other', () => {
    const exceeded = outcome({ remaining: 0, exceeded: true });
    expect(tightest(exceeded, outcome({ remaining: 0 }))).toBe(exceeded);
  });
});

describe('rateLimitExceeded', () => {
  it('is a 429 too_many_requests naming the budget, with Retry-After and RateLimit-*', () => {
    const error = rateLimitExceeded(outcome({ budget: 'tenant', remaining: 0, exceeded: true }));
    expect(error.status).toBe(429);
    expect(error.code).toBe('too_many_requests');
    expect(error.extensions).toEqual({ rateLimit: 'tenant' });
    expect(error.detail).toMatch(/for this organisation: at most 600 a minute/);
    expect(error.headers).toMatchObject({ 'retry-after': '42', 'ratelimit-remaining': '0' });
  });
});

describe('documentRateLimits', () => {
  const doc = (): OpenAPIObject => ({
    openapi: '3.0.0',
    info: { title: 't', version: '1' },
    paths: {
      '/v1/tenant': {
        get: { responses: { '200': { description: 'OK' } } },
        patch: { responses: { '200': { description: 'OK' } } },
      },
      '/v1/auth/login': {
        post: { responses: { '429': { description: 'kept as declared' } } },
      },
      '/webhooks/stripe': { post: { responses: { '200': { description: 'OK' } } } },
    },
  });

  it('adds a 429 problem with its headers to every limited operation, not to exempt ones', () => {
    const source = doc();
    const out = documentRateLimits(source);
    const tooMany = out.paths['/v1/tenant'].get!.responses['429'] as {
      headers: Record<string, unknown>;
      content: Record<string, unknown>;
    };
    expect(Object.keys(tooMany.headers)).toEqual([
      'Retry-After',
      'RateLimit-Limit',
      'RateLimit-Remaining',
      'RateLimit-Reset',
      'RateLimit-Policy',
    ]);
    expect(Object.keys(tooMany.content)).toEqual(['application/problem+json']);
    expect(out.paths['/v1/tenant'].patch!.responses['429']).toBeDefined();
    expect(out.paths['/v1/auth/login'].post!.responses['429']).toEqual({
      description: 'kept as declared',
    });
    expect(out.paths['/webhooks/stripe'].post!.responses['429']).toBeUndefined();
    // The input is left as it was.
    expect(source.paths['/v1/tenant'].get!.responses['429']).toBeUndefined();
  });
});
