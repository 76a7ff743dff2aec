import { Injectable, Logger } from '@nestjs/common';
import { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { RedisConnection } from '../redis';
import { RATE_LIMIT_WINDOW_SECONDS, RateLimitBudget, RateLimitOutcome } from './rate-limit';

/**
 * The API's per-minute budgets per client address, per caller and per
 * tenant. With Redis every replica counts in the same window; when Redis
 * does not answer, each process counts in memory until it does (the budget
 * then holds per replica: degraded, never unlimited, never a refusal caused
 * by our own outage). Without Redis, memory only.
 */
@Injectable()
export class ApiRateLimiter {
  private readonly logger = new Logger(ApiRateLimiter.name);
  private readonly limiters: Partial<Record<RateLimitBudget, RateLimiterAbstract>> = {};

  constructor(@InjectConfig() config: AppConfig, redis: RedisConnection) {
    const budgets: Record<RateLimitBudget, number> = {
      ip: config.rateLimits.ipPerMinute,
      user: config.rateLimits.userPerMinute,
      tenant: config.rateLimits.tenantPerMinute,
    };
    for (const budget of Object.keys(budgets) as RateLimitBudget[]) {
      const points = budgets[budget];
      if (points === 0) continue;
      const options = { points, duration: RATE_LIMIT_WINDOW_SECONDS };
      this.limiters[budget] = redis.limiter(`api-${budget}`, options);
    }
  }

  /** Whether the budget is counted at all (0 in the configuration turns it off). */
  enabled(budget: RateLimitBudget): boolean {
    return this.limiters[budget] !== undefined;
  }

  /** Counts one request against `key`'s budget; undefined when the budget is off. */
  async consume(budget: RateLimitBudget, key: string): Promise<RateLimitOutcome | undefined> {
    const limiter = this.limiters[budget];
    if (!limiter) return undefined;
    const outcome = (res: RateLimiterRes, exceeded: boolean): RateLimitOutcome => ({
      budget,
      limit: limiter.points,
      remaining: Math.max(0, res.remainingPoints),
      resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
      exceeded,
    });
    try {
      return outcome(await limiter.consume(key), false);
    } catch (error) {
      if (error instanceof RateLimiterRes) return outcome(error, true);
      // Both stores failed (cannot happen with the memory insurance, but a
      // limiter must never turn into an outage): let the request through.
      this.logger.warn({ err: error, budget }, 'rate limiter unavailable; request not counted');
      return undefined;
    }
  }
}
