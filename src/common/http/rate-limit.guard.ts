import { CanActivate, ExecutionContext, FactoryProvider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { RequestStore } from '../request-store';
import {
  isRateLimitExempt,
  RateLimitBudget,
  RateLimitOutcome,
  rateLimitExceeded,
  rateLimitHeaders,
  tightest,
} from './rate-limit';
import { ApiRateLimiter } from './rate-limit.service';

const REPORTED = Symbol('groundwork:rate-limit-reported');
type CountedRequest = FastifyRequest & { [REPORTED]?: RateLimitOutcome };

/**
 * Counts the request against one budget and refuses it with 429 when spent.
 * One instance per budget, each placed in the guard chain where its key is
 * known: the address before authentication, the caller after it, the tenant
 * after tenant resolution (see AppModule).
 */
export class RateLimitGuard implements CanActivate {
  constructor(
    private readonly budget: RateLimitBudget,
    private readonly limiter: ApiRateLimiter,
    private readonly cls: ClsService<RequestStore>,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    if (!this.limiter.enabled(this.budget)) return true;
    const http = context.switchToHttp();
    const request = http.getRequest<CountedRequest>();
    if (isRateLimitExempt(request.routeOptions.url ?? request.url)) return true;
    const key = this.keyOf(request);
    if (key === undefined) return true;
    const outcome = await this.limiter.consume(this.budget, key);
    if (!outcome) return true;
    if (outcome.exceeded) throw rateLimitExceeded(outcome);
    // Report the budget nearest its end among those counted so far.
    const reported = tightest(request[REPORTED], outcome);
    request[REPORTED] = reported;
    void http.getResponse<FastifyReply>().headers(rateLimitHeaders(reported));
    return true;
  }

  private keyOf(request: FastifyRequest): string | undefined {
    switch (this.budget) {
      case 'ip':
        // Fastify's address: X-Forwarded-For only from TRUST_PROXY's proxies.
        return request.ip;
      case 'user': {
        const principal = this.cls.get('principal');
        if (!principal) return undefined;
        return principal.kind === 'user' ? `user:${principal.userId}` : `key:${principal.keyId}`;
      }
      case 'tenant':
        return this.cls.get('tenant')?.id;
    }
  }
}

/** The guard of one budget as a global guard, in the position it is listed at. */
export const rateLimitGuard = (budget: RateLimitBudget): FactoryProvider => ({
  provide: APP_GUARD,
  useFactory: (limiter: ApiRateLimiter, cls: ClsService<RequestStore>) =>
    new RateLimitGuard(budget, limiter, cls),
  inject: [ApiRateLimiter, ClsService],
});
