import { Injectable } from '@nestjs/common';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { ClsService } from 'nestjs-cls';
import { Clock } from '../common/clock';
import { UserPrincipal } from '../common/principal';
import { RequestStore } from '../common/request-store';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { OutboxService } from '../notifications/outbox.service';
import { assertPasswordAcceptable, hashPassword, normalizeEmail } from './credentials';
import { EmailToken, EmailTokenPurpose } from './entities/email-token.entity';
import { RefreshToken } from './entities/refresh-token.entity';
import { User } from './entities/user.entity';
import { IdentityErrorCode, IdentityException } from './identity.exception';
import { MailThrottle } from './mail-throttle.service';
import { randomToken, tokenHash } from './secret-token';
import { TokenService } from './token.service';

const TTL_MS: Record<EmailTokenPurpose, number> = {
  [EmailTokenPurpose.VerifyEmail]: 48 * 3600_000,
  [EmailTokenPurpose.ResetPassword]: 3600_000,
};

/**
 * Email verification and password reset: single-use, expiring tokens, mailed
 * through the outbox in the same transaction that creates them.
 */
@Injectable()
export class AccountService {
  constructor(
    private readonly em: EntityManager,
    private readonly outbox: OutboxService,
    private readonly clock: Clock,
    private readonly tokens: TokenService,
    @InjectConfig() private readonly config: AppConfig,
    private readonly throttle: MailThrottle,
    private readonly cls: ClsService<RequestStore>,
  ) {}

  /** Adds a verification mail for `user` to the caller's unit of work. */
  sendVerification(em: EntityManager, user: User): void {
    const token = this.issue(em, user.id, EmailTokenPurpose.VerifyEmail);
    this.outbox.enqueue(em, {
      to: user.email,
      subject: 'Confirm your email address',
      text:
        `Hello ${user.name},\n\nConfirm your email address for Groundwork by opening this link ` +
        `(valid for 48 hours):\n\n${this.config.http.publicUrl}/verify-email?token=${token}\n`,
      template: 'auth.verify_email',
    });
  }

  async requestVerification(principal: UserPrincipal): Promise<void> {
    const em = this.em.fork();
    const user = await em.findOne(User, { id: principal.userId });
    if (!user)
      throw new IdentityException(IdentityErrorCode.UserNotFound, 'Your account no longer exists.');
    if (user.emailVerifiedAt) return;
    await this.throttle.verificationMail(user.id);
    this.sendVerification(em, user);
    await em.flush();
  }

  async verifyEmail(token: string): Promise<void> {
    await this.em.fork().transactional(async (em) => {
      const row = await this.consume(em, token, EmailTokenPurpose.VerifyEmail);
      const user = await em.findOneOrFail(User, { id: row.userId });
      if (!user.emailVerifiedAt) {
        user.emailVerifiedAt = this.clock.now();
        user.updatedAt = user.emailVerifiedAt;
      }
    });
  }

  /**
   * Always the same answer, whether or not the address has an account (no
   * enumeration); a reset mail goes out only when it does.
   */
  async forgotPassword(rawEmail: string): Promise<void> {
    const email = normalizeEmail(rawEmail);
    // Counted before the address is looked up: a 429 tells nothing about it.
    await this.throttle.passwordReset(email, this.cls.get('ip'));
    const em = this.em.fork();
    const user = await em.findOne(User, { email });
    if (!user) return;
    const token = this.issue(em, user.id, EmailTokenPurpose.ResetPassword);
    this.outbox.enqueue(em, {
      to: user.email,
      subject: 'Reset your password',
      text:
        `Hello ${user.name},\n\nSomeone asked to reset your Groundwork password. If it was you, open this ` +
        `link within the hour:\n\n${this.config.http.publicUrl}/reset-password?token=${token}\n\n` +
        'If it was not you, ignore this message: your password stays as it is.\n',
      template: 'auth.reset_password',
    });
    await em.flush();
  }

  /** Sets a new password and ends every session of the account. */
  async resetPassword(token: string, password: string): Promise<void> {
    await this.em.fork().transactional(async (em) => {
      const row = await this.consume(em, token, EmailTokenPurpose.ResetPassword);
      const user = await em.findOneOrFail(User, { id: row.userId });
      assertPasswordAcceptable(password, { email: user.email, names: [user.name] });
      user.passwordHash = await hashPassword(password);
      user.updatedAt = this.clock.now();
      // The mailbox was proven, so the address is verified too.
      user.emailVerifiedAt ??= this.clock.now();
      await em.nativeUpdate(
        RefreshToken,
        { userId: user.id, revokedAt: null },
        { revokedAt: this.clock.now(), revokedReason: 'password_reset' },
      );
    });
    this.tokens.forgetSessions();
  }

  private issue(em: EntityManager, userId: string, purpose: EmailTokenPurpose): string {
    const token = randomToken();
    const now = this.clock.now();
    em.create(EmailToken, {
      userId,
      purpose,
      tokenHash: tokenHash(token),
      createdAt: now,
      expiresAt: new Date(now.getTime() + TTL_MS[purpose]),
    });
    return token;
  }

  private async consume(
    em: EntityManager,
    token: string,
    purpose: EmailTokenPurpose,
  ): Promise<EmailToken> {
    const row = await em.findOne(
      EmailToken,
      { tokenHash: tokenHash(token), purpose },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (!row || row.usedAt) {
      throw new IdentityException(
        IdentityErrorCode.InvalidToken,
        'This link is not valid or was already used.',
      );
    }
    if (row.expiresAt <= this.clock.now()) {
      throw new IdentityException(
        IdentityErrorCode.TokenExpired,
        'This link has expired; ask for a new one.',
      );
    }
    row.usedAt = this.clock.now();
    return row;
  }
}
