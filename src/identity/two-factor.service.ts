import { Injectable } from '@nestjs/common';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../common/clock';
import { CommonException } from '../common/errors/common.exception';
import { UserPrincipal } from '../common/principal';
import { SharedCache, SharedCaches } from '../common/cache/shared-caches';
import { verifyPassword } from './credentials';
import {
  DisableTwoFactorDto,
  RecoveryCodesDto,
  SecondFactorProofDto,
  TwoFactorSetupDto,
  TwoFactorStatusDto,
} from './dtos/two-factor.dto';
import { LoginChallenge } from './entities/login-challenge.entity';
import { RecoveryCode } from './entities/recovery-code.entity';
import { TwoFactor } from './entities/two-factor.entity';
import { User } from './entities/user.entity';
import { IdentityErrorCode, IdentityException } from './identity.exception';
import { randomToken, tokenHash } from './secret-token';
import {
  checkTotp,
  newRecoveryCode,
  newTotpSecret,
  RECOVERY_CODE_COUNT,
  recoveryCodeHash,
  TOTP_PARAMETERS,
  totpUri,
} from './totp';
import { TwoFactorThrottle } from './two-factor-throttle.service';

export const LOGIN_CHALLENGE_TTL_SECONDS = 5 * 60;
/** Wrong codes one challenge takes before it is burnt (the per-user throttle still applies). */
export const LOGIN_CHALLENGE_MAX_ATTEMPTS = 5;
const STATUS_CACHE_MS = 5_000;

type Proof = 'totp' | 'recovery_code';
type Verdict = { ok: true; used: Proof } | { ok: false; reason: 'invalid' | 'used' };

/**
 * TOTP two-factor authentication: enrolment (setup, confirm with a first
 * code), recovery codes, disabling, and the second step of sign-in. Codes
 * work once (the last accepted time step is kept); recovery codes once each;
 * wrong ones count towards a per-user and per-address throttle.
 */
@Injectable()
export class TwoFactorService {
  private readonly enabled: SharedCache<boolean>;

  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly throttle: TwoFactorThrottle,
    caches: SharedCaches,
  ) {
    this.enabled = caches.create('two-factor', STATUS_CACHE_MS, 50_000);
  }

  /**
   * Whether the user has two-factor authentication on; for the organisation
   * requirement, on every tenant-scoped request (cached, dropped on every
   * replica on change).
   */
  enabledFor(userId: string): Promise<boolean> {
    return this.enabled.getOrLoad(userId, () => this.enabledNow(userId));
  }

  /** Uncached, for sign-in: a factor turned on at another replica counts at once. */
  async enabledNow(userId: string): Promise<boolean> {
    return (await this.em.fork().count(TwoFactor, { userId, enabledAt: { $ne: null } })) > 0;
  }

  async status(principal: UserPrincipal): Promise<TwoFactorStatusDto> {
    const em = this.em.fork();
    const row = await em.findOne(TwoFactor, { userId: principal.userId });
    const remaining = row?.enabledAt
      ? await em.count(RecoveryCode, { userId: principal.userId, usedAt: null })
      : 0;
    return {
      enabled: !!row?.enabledAt,
      pending: !!row && !row.enabledAt,
      enabledAt: row?.enabledAt?.toISOString() ?? null,
      recoveryCodesRemaining: remaining,
    };
  }

  /**
   * A new secret, pending until a code confirms it (a setup started again
   * replaces the pending one). Needs the password: a stolen access token
   * alone must not be able to bind the account to someone else's phone.
   */
  async setup(principal: UserPrincipal, password: string, ip: string): Promise<TwoFactorSetupDto> {
    await this.throttle.check(principal.userId, ip);
    const em = this.em.fork();
    const user = await this.user(em, principal.userId, true);
    if (!(await verifyPassword(user.passwordHash, password))) {
      await this.throttle.failed(principal.userId, ip);
      throw this.wrongPassword();
    }
    const secret = newTotpSecret();
    await em.transactional(async (tx) => {
      const row = await tx.findOne(
        TwoFactor,
        { userId: user.id },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (row?.enabledAt) {
        throw new IdentityException(
          IdentityErrorCode.TwoFactorAlreadyEnabled,
          'Two-factor authentication is already on; disable it first to move to another authenticator.',
        );
      }
      const now = this.clock.now();
      if (row) {
        tx.assign(row, { secret, lastUsedStep: null, updatedAt: now });
      } else {
        tx.create(TwoFactor, { userId: user.id, secret, createdAt: now, updatedAt: now });
      }
    });
    return { otpauthUri: totpUri(secret, user.email), secret, ...TOTP_PARAMETERS };
  }

  /** Turns a pending setup on with its first code, and returns the recovery codes (once). */
  async confirm(principal: UserPrincipal, code: string, ip: string): Promise<RecoveryCodesDto> {
    await this.throttle.check(principal.userId, ip);
    const outcome = await this.em.fork().transactional(async (em) => {
      const row = await this.lockRow(em, principal.userId);
      if (!row || row.enabledAt) {
        throw new IdentityException(
          IdentityErrorCode.TwoFactorNotPending,
          row
            ? 'Two-factor authentication is already on.'
            : 'Start with POST /v1/auth/2fa/setup: there is no setup to confirm.',
        );
      }
      const verdict = this.verifyTotp(row, code);
      if (!verdict.ok) return verdict;
      row.enabledAt = this.clock.now();
      row.updatedAt = row.enabledAt;
      return { ok: true as const, codes: await this.replaceRecoveryCodes(em, row.userId) };
    });
    if (!outcome.ok) throw await this.refused(outcome.reason, principal.userId, ip);
    await this.throttle.succeeded(principal.userId);
    this.enabled.invalidate(principal.userId);
    return { recoveryCodes: outcome.codes };
  }

  /** New recovery codes (the old ones stop working); needs a current code. */
  async regenerateRecoveryCodes(
    principal: UserPrincipal,
    code: string,
    ip: string,
  ): Promise<RecoveryCodesDto> {
    await this.throttle.check(principal.userId, ip);
    const outcome = await this.em.fork().transactional(async (em) => {
      const row = await this.enabledRow(em, principal.userId);
      const verdict = this.verifyTotp(row, code);
      if (!verdict.ok) return verdict;
      return { ok: true as const, codes: await this.replaceRecoveryCodes(em, row.userId) };
    });
    if (!outcome.ok) throw await this.refused(outcome.reason, principal.userId, ip);
    await this.throttle.succeeded(principal.userId);
    return { recoveryCodes: outcome.codes };
  }

  /** Turns two-factor authentication off, with the password or a code (authenticator or recovery). */
  async disable(principal: UserPrincipal, dto: DisableTwoFactorDto, ip: string): Promise<void> {
    const given = [dto.password, dto.code, dto.recoveryCode].filter((v) => v !== undefined);
    if (given.length !== 1) {
      throw CommonException.validation([
        { field: 'password', message: 'give exactly one of password, code or recoveryCode' },
      ]);
    }
    await this.throttle.check(principal.userId, ip);
    const outcome = await this.em.fork().transactional(async (em) => {
      const row = await this.enabledRow(em, principal.userId);
      if (dto.password !== undefined) {
        const user = await this.user(em, principal.userId, true);
        if (!(await verifyPassword(user.passwordHash, dto.password)))
          return { ok: false as const, reason: 'password' as const };
      } else {
        const verdict = await this.verify(em, row, dto);
        if (!verdict.ok) return verdict;
      }
      await em.nativeDelete(RecoveryCode, { userId: row.userId });
      em.remove(row);
      return { ok: true as const };
    });
    if (!outcome.ok) {
      if (outcome.reason === 'password') {
        await this.throttle.failed(principal.userId, ip);
        throw this.wrongPassword();
      }
      throw await this.refused(outcome.reason, principal.userId, ip);
    }
    await this.throttle.succeeded(principal.userId);
    this.enabled.invalidate(principal.userId);
  }

  /** Adds a sign-in challenge for `userId` to the caller's unit of work; returns its token. */
  startChallenge(em: EntityManager, userId: string): string {
    const token = randomToken();
    const now = this.clock.now();
    em.create(LoginChallenge, {
      userId,
      tokenHash: tokenHash(token),
      createdAt: now,
      expiresAt: new Date(now.getTime() + LOGIN_CHALLENGE_TTL_SECONDS * 1000),
    });
    return token;
  }

  /**
   * The second step of sign-in: checks the challenge and the code, spends
   * both, and runs `complete` (which issues the tokens) in the same
   * transaction. A wrong code counts against the challenge and the throttle
   * and changes nothing else.
   */
  async redeemChallenge<T>(
    challenge: string,
    proof: SecondFactorProofDto,
    ip: string,
    complete: (em: EntityManager, user: User) => Promise<T>,
  ): Promise<T> {
    assertOneProof(proof);
    // The throttle is per user, and the user is known from the challenge only.
    const found = await this.em
      .fork()
      .findOne(LoginChallenge, { tokenHash: tokenHash(challenge) }, { fields: ['userId'] });
    await this.throttle.check(found?.userId ?? null, ip);
    const outcome = await this.em.fork().transactional(async (em) => {
      const row = await em.findOne(
        LoginChallenge,
        { tokenHash: tokenHash(challenge) },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      const now = this.clock.now();
      if (!row || row.usedAt) return { kind: 'invalid_challenge' as const };
      if (row.expiresAt <= now) return { kind: 'expired' as const };
      const factor = await this.lockRow(em, row.userId);
      const user = await em.findOne(User, { id: row.userId });
      if (!factor?.enabledAt || !user) return { kind: 'invalid_challenge' as const };
      const verdict = await this.verify(em, factor, proof);
      if (!verdict.ok) {
        row.attempts += 1;
        // Burnt after a few wrong codes: the caller signs in with the password again.
        if (row.attempts >= LOGIN_CHALLENGE_MAX_ATTEMPTS) row.usedAt = now;
        return { kind: 'refused' as const, reason: verdict.reason, userId: row.userId };
      }
      row.usedAt = now;
      return { kind: 'ok' as const, result: await complete(em, user), userId: row.userId };
    });
    switch (outcome.kind) {
      case 'ok':
        await this.throttle.succeeded(outcome.userId);
        return outcome.result;
      case 'refused':
        throw await this.refused(outcome.reason, outcome.userId, ip);
      case 'expired':
        throw new IdentityException(
          IdentityErrorCode.TwoFactorChallengeExpired,
          'The sign-in challenge has expired; sign in with your password again.',
        );
      case 'invalid_challenge':
        await this.throttle.failed(found?.userId ?? null, ip);
        throw new IdentityException(
          IdentityErrorCode.TwoFactorChallengeInvalid,
          'The sign-in challenge is not valid or was already used; sign in with your password again.',
        );
    }
  }

  private async verify(
    em: EntityManager,
    row: TwoFactor,
    proof: SecondFactorProofDto,
  ): Promise<Verdict> {
    if (proof.code !== undefined) {
      const verdict = this.verifyTotp(row, proof.code);
      return verdict.ok ? { ok: true, used: 'totp' } : verdict;
    }
    // Spent atomically: two requests with the same code cannot both succeed.
    const spent = await em.nativeUpdate(
      RecoveryCode,
      { userId: row.userId, codeHash: recoveryCodeHash(proof.recoveryCode ?? ''), usedAt: null },
      { usedAt: this.clock.now() },
    );
    return spent === 1 ? { ok: true, used: 'recovery_code' } : { ok: false, reason: 'invalid' };
  }

  /** Checks a code at the clock's time and, when right, records its step (the row is locked). */
  private verifyTotp(row: TwoFactor, code: string): Verdict {
    const check = checkTotp(row.secret, code, this.clock.now().getTime(), row.lastUsedStep);
    if (!check.ok) return check;
    row.lastUsedStep = check.step;
    row.updatedAt = this.clock.now();
    return { ok: true, used: 'totp' };
  }

  private async replaceRecoveryCodes(em: EntityManager, userId: string): Promise<string[]> {
    await em.nativeDelete(RecoveryCode, { userId });
    const now = this.clock.now();
    const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newRecoveryCode);
    for (const code of codes)
      em.create(RecoveryCode, { userId, codeHash: recoveryCodeHash(code), createdAt: now });
    return codes;
  }

  private lockRow(em: EntityManager, userId: string): Promise<TwoFactor | null> {
    return em.findOne(
      TwoFactor,
      { userId },
      { lockMode: LockMode.PESSIMISTIC_WRITE, populate: ['secret'] },
    );
  }

  private async enabledRow(em: EntityManager, userId: string): Promise<TwoFactor> {
    const row = await this.lockRow(em, userId);
    if (!row?.enabledAt) {
      throw new IdentityException(
        IdentityErrorCode.TwoFactorNotEnabled,
        'Two-factor authentication is not on for your account.',
      );
    }
    return row;
  }

  private async user(em: EntityManager, userId: string, withPassword = false): Promise<User> {
    const user = await em.findOne(
      User,
      { id: userId },
      withPassword ? { populate: ['passwordHash'] } : {},
    );
    if (!user)
      throw new IdentityException(IdentityErrorCode.UserNotFound, 'Your account no longer exists.');
    return user;
  }

  private async refused(
    reason: 'invalid' | 'used',
    userId: string,
    ip: string,
  ): Promise<IdentityException> {
    await this.throttle.failed(userId, ip);
    return reason === 'used'
      ? new IdentityException(
          IdentityErrorCode.TwoFactorCodeUsed,
          'This code was already used; wait for the next one your app shows.',
        )
      : new IdentityException(
          IdentityErrorCode.TwoFactorCodeInvalid,
          'The two-factor code is wrong.',
        );
  }

  private wrongPassword(): IdentityException {
    return new IdentityException(IdentityErrorCode.InvalidCredentials, 'The password is wrong.');
  }
}

function assertOneProof(proof: SecondFactorProofDto): void {
  if ((proof.code === undefined) === (proof.recoveryCode === undefined)) {
    throw CommonException.validation([
      { field: 'code', message: 'give exactly one of code or recoveryCode' },
    ]);
  }
}
