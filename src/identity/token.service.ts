import { createSecretKey, KeyObject } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../common/clock';
import { Secret } from '../config/secret';
import { SharedCache, SharedCaches } from '../common/cache/shared-caches';
import { newId } from '../common/uuid';
import { RefreshToken } from './entities/refresh-token.entity';
import { User } from './entities/user.entity';
import { IdentityErrorCode, IdentityException } from './identity.exception';
import { randomToken, tokenHash } from './secret-token';

export const ACCESS_TOKEN_TTL_SECONDS = 15 * 60;
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;
export const JWT_ISSUER = 'groundwork';
export const JWT_AUDIENCE = 'groundwork-api';
/** Lifetime of a cached session state when invalidations may not reach every replica. */
const SESSION_CACHE_MS = 5_000;

/**
 * The HS256 key as a `KeyObject`, for signing and verifying. Handed a string,
 * jsonwebtoken tries to parse it as a PEM key on every call, throws, and only
 * then makes a secret key of it: about 2 ms of CPU per sign or verify, once the
 * largest single cost of an authenticated request. Same bytes, same tokens.
 */
export function jwtKey(secret: Secret): KeyObject {
  return createSecretKey(Buffer.from(secret.reveal(), 'utf8'));
}

/** Claims of an access token. */
export interface AccessClaims {
  sub: string;
  /** Session (refresh-token family). */
  sid: string;
  /** Current organisation, if the session has one. */
  tid?: string;
  /** Platform role, if any. */
  prole?: string;
}

export interface IssuedTokens {
  accessToken: string;
  refreshToken: string;
  expiresIn: number;
  tenantId: string | null;
}

/**
 * Access tokens are short-lived JWTs (HS256, pinned on both sides). Refresh
 * tokens are opaque, stored as SHA-256, rotated on every use; presenting an
 * already-rotated one revokes its whole family (RFC 9700's reuse detection).
 */
@Injectable()
export class TokenService {
  private readonly sessions: SharedCache<boolean>;

  constructor(
    private readonly jwt: JwtService,
    private readonly em: EntityManager,
    private readonly clock: Clock,
    caches: SharedCaches,
  ) {
    this.sessions = caches.create('session', SESSION_CACHE_MS, 50_000);
  }

  /** Starts a session (a new family) or continues one, in the caller's unit of work; the caller flushes. */
  issue(
    em: EntityManager,
    user: User,
    tenantId: string | null,
    familyId: string = newId(),
  ): IssuedTokens {
    const now = this.clock.now();
    const refreshToken = randomToken();
    em.create(RefreshToken, {
      familyId,
      userId: user.id,
      tokenHash: tokenHash(refreshToken),
      tenantId,
      createdAt: now,
      expiresAt: new Date(now.getTime() + REFRESH_TOKEN_TTL_SECONDS * 1000),
    });
    const claims: AccessClaims = {
      sub: user.id,
      sid: familyId,
      ...(tenantId ? { tid: tenantId } : {}),
      ...(user.platformRole ? { prole: user.platformRole } : {}),
    };
    return {
      accessToken: this.jwt.sign(claims, { expiresIn: ACCESS_TOKEN_TTL_SECONDS }),
      refreshToken,
      expiresIn: ACCESS_TOKEN_TTL_SECONDS,
      tenantId,
    };
  }

  /**
   * Exchanges a refresh token for a new pair. `tenantId` moves the session to
   * another organisation (membership checked by the caller).
   */
  async rotate(
    presented: string,
    tenantId?: string | null,
  ): Promise<{ tokens: IssuedTokens; user: User }> {
    const outcome = await this.em.fork().transactional(async (em) => {
      const row = await em.findOne(
        RefreshToken,
        { tokenHash: tokenHash(presented) },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (!row || row.revokedAt) return { kind: 'invalid' as const };
      if (row.rotatedAt) return { kind: 'reused' as const, familyId: row.familyId };
      if (row.expiresAt <= this.clock.now()) return { kind: 'expired' as const };
      const user = await em.findOne(User, { id: row.userId });
      if (!user) return { kind: 'invalid' as const };
      row.rotatedAt = this.clock.now();
      const tokens = this.issue(
        em,
        user,
        tenantId === undefined ? (row.tenantId ?? null) : tenantId,
        row.familyId,
      );
      return { kind: 'ok' as const, tokens, user };
    });
    switch (outcome.kind) {
      case 'ok':
        return { tokens: outcome.tokens, user: outcome.user };
      case 'reused':
        await this.revokeFamily(outcome.familyId, 'reuse_detected');
        throw new IdentityException(
          IdentityErrorCode.RefreshTokenReused,
          'This refresh token was already used; the session has been ended for safety. Sign in again.',
        );
      case 'expired':
        throw new IdentityException(
          IdentityErrorCode.TokenExpired,
          'The refresh token has expired; sign in again.',
        );
      case 'invalid':
        throw new IdentityException(
          IdentityErrorCode.InvalidToken,
          'The refresh token is not valid.',
        );
    }
  }

  /** Ends a session: every refresh token of the family stops working. */
  async revokeFamily(familyId: string, reason: string): Promise<void> {
    await this.em
      .fork()
      .nativeUpdate(
        RefreshToken,
        { familyId, revokedAt: null },
        { revokedAt: this.clock.now(), revokedReason: reason },
      );
    this.sessions.invalidate(familyId);
  }

  /**
   * Whether the session of an access token is still open (some token of its
   * family neither revoked nor expired), so logout, a password reset or a
   * detected reuse also stop access tokens already handed out. Cached (see
   * `SharedCaches`); a revocation drops the cached state on every replica.
   */
  sessionOpen(familyId: string): Promise<boolean> {
    return this.sessions.getOrLoad(familyId, async () => {
      const now = this.clock.now();
      const open = await this.em
        .fork()
        .count(RefreshToken, { familyId, revokedAt: null, expiresAt: { $gt: now } });
      return open > 0;
    });
  }

  /** Drops cached session states on every replica (after revoking every session of a user). */
  forgetSessions(): void {
    this.sessions.clear();
  }

  /** The family of a refresh token, for logout by token. */
  async familyOf(presented: string): Promise<string | undefined> {
    const row = await this.em
      .fork()
      .findOne(RefreshToken, { tokenHash: tokenHash(presented) }, { fields: ['familyId'] });
    return row?.familyId;
  }
}
