import { Injectable } from '@nestjs/common';
import { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { RedisConnection } from '../common/redis';
import { IdentityException } from './identity.exception';
import { LOGIN_LIMITS } from './login-throttle.service';

/**
 * Brute-force protection for second-factor codes, with the sign-in limits:
 * wrong codes (and wrong passwords on the two-factor routes) are counted per
 * user and per client address, in Redis when configured. A six-digit code
 * has a million values; ten tries per quarter hour keep guessing hopeless.
 */
@Injectable()
export class TwoFactorThrottle {
  private readonly user: RateLimiterAbstract;
  private readonly ip: RateLimiterAbstract;

  constructor(redis: RedisConnection) {
    this.user = redis.limiter('2fa-user', LOGIN_LIMITS.account);
    this.ip = redis.limiter('2fa-ip', LOGIN_LIMITS.ip);
  }

  /** Throws 429 when the user or the address is over its limit. */
  async check(userId: string | null, ip: string): Promise<void> {
    const [byUser, byIp] = await Promise.all([
      userId ? this.user.get(userId) : null,
      this.ip.get(ip),
    ]);
    const waits = (
      [
        [byUser, LOGIN_LIMITS.account.points],
        [byIp, LOGIN_LIMITS.ip.points],
      ] as const
    )
      .filter(([res, points]) => res !== null && res.consumedPoints >= points)
      .map(([res]) => (res as RateLimiterRes).msBeforeNext);
    if (waits.length > 0)
      throw IdentityException.tooManyAttempts(Math.max(1, Math.ceil(Math.max(...waits) / 1000)));
  }

  /** Counts a failure; without a user (an unknown challenge), against the address only. */
  async failed(userId: string | null, ip: string): Promise<void> {
    await Promise.all([
      userId ? this.user.consume(userId).catch(() => undefined) : undefined,
      this.ip.consume(ip).catch(() => undefined),
    ]);
  }

  async succeeded(userId: string): Promise<void> {
    await this.user.delete(userId).catch(() => undefined);
  }
}
