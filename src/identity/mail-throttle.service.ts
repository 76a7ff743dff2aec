import { Injectable } from '@nestjs/common';
import { RateLimiterAbstract, RateLimiterRes } from 'rate-limiter-flexible';
import { RedisConnection } from '../common/redis';
import { IdentityException } from './identity.exception';

/** Account mails (password reset, email verification) allowed per hour before 429. */
export const MAIL_LIMITS = {
  /** Per address asked for, whether or not it has an account. */
  resetAccount: { points: 3, duration: 3600 },
  /** Per client address: one office behind one NAT may reset a few accounts. */
  resetIp: { points: 20, duration: 3600 },
  /** Per signed-in user asking for the verification mail again. */
  verification: { points: 3, duration: 3600 },
} as const;

/**
 * Keeps account mails from being used to flood a mailbox or probe addresses:
 * counted per address asked for and per client (shared through Redis when
 * configured, in memory otherwise, as LoginThrottle does). The reset budget
 * is spent by every request, whether or not the address has an account, so
 * a 429 says nothing about which addresses exist.
 */
@Injectable()
export class MailThrottle {
  private readonly resetAccount: RateLimiterAbstract;
  private readonly resetIp: RateLimiterAbstract;
  private readonly verification: RateLimiterAbstract;

  constructor(redis: RedisConnection) {
    this.resetAccount = redis.limiter('mail-reset-account', MAIL_LIMITS.resetAccount);
    this.resetIp = redis.limiter('mail-reset-ip', MAIL_LIMITS.resetIp);
    this.verification = redis.limiter('mail-verification', MAIL_LIMITS.verification);
  }

  /** Counts a password-reset request; throws 429 when the client or the address is over. */
  async passwordReset(normalizedEmail: string, ip: string | undefined): Promise<void> {
    if (ip) await spend(this.resetIp, ip);
    await spend(this.resetAccount, normalizedEmail);
  }

  /** Counts a request for the verification mail again; throws 429 when over. */
  async verificationMail(userId: string): Promise<void> {
    await spend(this.verification, userId);
  }
}

async function spend(limiter: RateLimiterAbstract, key: string): Promise<void> {
  try {
    await limiter.consume(key);
  } catch (error) {
    if (!(error instanceof RateLimiterRes)) return; // store down with no insurance: not counted
    throw IdentityException.tooManyAttempts(Math.max(1, Math.ceil(error.msBeforeNext / 1000)));
  }
}
