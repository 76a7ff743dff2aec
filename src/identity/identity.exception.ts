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
        return 401;
      case IdentityErrorCode.NotAMember:
      case IdentityErrorCode.InvitationForAnotherUser:
        return 403;
      case IdentityErrorCode.ApiKeyNotFound:
      case IdentityErrorCode.UserNotFound:
        return 404;
      case IdentityErrorCode.EmailTaken:
        return 409;
      case IdentityErrorCode.WeakPassword:
        return 422;
      case IdentityErrorCode.TooManyAttempts:
        return 429;
    }
  }
}
