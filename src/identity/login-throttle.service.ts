import { Injectable } from '@nestjs/common';
import { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { RedisConnection } from '../common/redis';
import { IdentityException } from './identity.exception';

/** Failed sign-ins allowed per window before 429, per account and per client address. */
export const LOGIN_LIMITS = {
  account: { points: 10, duration: 15 * 60, blockDuration: 15 * 60 },
  ip: { points: 50, duration: 15 * 60, blockDuration: 15 * 60 },
} as const;

/**
 * Brute-force protection for sign-in: failures are counted per account and
 * per address (in Redis when configured, shared by replicas; in memory
 * otherwise, and as Redis' stand-in when it is unreachable). Over the limit,
 * every attempt gets 429 with Retry-After, whatever the password.
 */
@Injectable()
export class LoginThrottle {
  private readonly account: RateLimiterAbstract;
  private readonly ip: RateLimiterAbstract;

  constructor(redis: RedisConnection) {
    this.account = redis.limiter('login-account', LOGIN_LIMITS.account);
    this.ip = redis.limiter('login-ip', LOGIN_LIMITS.ip);
  }

  /** Throws 429 when either key is over its limit. */
  async check(email: string, ip: string): Promise<void> {
    const [byAccount, byIp] = await Promise.all([this.account.get(email), this.ip.get(ip)]);
    const blocked = [
      [byAccount, LOGIN_LIMITS.account.points],
      [byIp, LOGIN_LIMITS.ip.points],
    ] as const;
    const waits = blocked
      .filter(([res, points]) => res !== null && res.consumedPoints >= points)
      .map(([res]) => (res as RateLimiterRes).msBeforeNext);
    if (waits.length > 0)
      throw IdentityException.tooManyAttempts(Math.max(1, Math.ceil(Math.max(...waits) / 1000)));
  }

  async failed(email: string, ip: string): Promise<void> {
    // consume() rejects once over the limit; the next check() reports it.
    await Promise.all([
      this.account.consume(email).catch(() => undefined),
      this.ip.consume(ip).catch(() => undefined),
    ]);
  }

  async succeeded(email: string): Promise<void> {
    await this.account.delete(email).catch(() => undefined);
  }
}
