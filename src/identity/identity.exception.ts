import { DomainException } from '../common/errors/domain.exception';

export enum IdentityErrorCode {
  Unauthenticated = 'unauthenticated',
  InvalidCredentials = 'invalid_credentials',
  InvalidToken = 'invalid_token',
  TokenExpired = 'token_expired',
  RefreshTokenReused = 'refresh_token_reused',
  EmailTaken = 'email_taken',
  WeakPassword = 'weak_password',
  TooManyAttempts = 'too_many_attempts',
  NotAMember = 'not_a_member',
  ApiKeyNotFound = 'api_key_not_found',
  UserNotFound = 'user_not_found',
  InvitationForAnotherUser = 'invitation_for_another_user',
  /** The second-factor code (or recovery code) is wrong. */
  TwoFactorCodeInvalid = 'two_factor_code_invalid',
  /** The code is right but was already used (same or a later time step): a replay. */
  TwoFactorCodeUsed = 'two_factor_code_used',
  TwoFactorChallengeInvalid = 'two_factor_challenge_invalid',
  TwoFactorChallengeExpired = 'two_factor_challenge_expired',
  /** The organisation requires two-factor authentication and the caller has none. */
  TwoFactorRequired = 'two_factor_required',
  TwoFactorAlreadyEnabled = 'two_factor_already_enabled',
  TwoFactorNotEnabled = 'two_factor_not_enabled',
  /** Confirming needs a setup first. */
  TwoFactorNotPending = 'two_factor_not_pending',
}

export class IdentityException extends DomainException<IdentityErrorCode> {
  constructor(
    code: IdentityErrorCode,
    detail: string,
    extensions?: Record<string, unknown>,
    cause?: unknown,
  ) {
    super(code, detail, extensions, cause);
  }

  /** 429 with the seconds after which the caller may try again (sent as `Retry-After`). */
  static tooManyAttempts(retryAfterSeconds: number): IdentityException {
    const e = new IdentityException(
      IdentityErrorCode.TooManyAttempts,
      `Too many attempts. Try again in ${retryAfterSeconds} seconds.`,
      { retryAfterSeconds },
    );
    e.headers['retry-after'] = String(retryAfterSeconds);
    return e;
  }

  get status(): number {
    switch (this.code) {
      case IdentityErrorCode.Unauthenticated:
      case IdentityErrorCode.InvalidCredentials:
      case IdentityErrorCode.InvalidToken:
      case IdentityErrorCode.TokenExpired:
      case IdentityErrorCode.RefreshTokenReused:
      case IdentityErrorCode.TwoFactorCodeInvalid:
      case IdentityErrorCode.TwoFactorCodeUsed:
      case IdentityErrorCode.TwoFactorChallengeInvalid:
      case IdentityErrorCode.TwoFactorChallengeExpired:
        return 401;
      case IdentityErrorCode.NotAMember:
      case IdentityErrorCode.InvitationForAnotherUser:
      case IdentityErrorCode.TwoFactorRequired:
        return 403;
      case IdentityErrorCode.ApiKeyNotFound:
      case IdentityErrorCode.UserNotFound:
        return 404;
      case IdentityErrorCode.EmailTaken:
      case IdentityErrorCode.TwoFactorAlreadyEnabled:
      case IdentityErrorCode.TwoFactorNotEnabled:
      case IdentityErrorCode.TwoFactorNotPending:
        return 409;
      case IdentityErrorCode.WeakPassword:
        return 422;
      case IdentityErrorCode.TooManyAttempts:
        return 429;
    }
  }
}
