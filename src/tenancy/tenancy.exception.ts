import { DomainException } from '../common/errors/domain.exception';

export enum TenancyErrorCode {
  TenantRequired = 'tenant_required',
  TenantNotFound = 'tenant_not_found',
  TenantSuspended = 'tenant_suspended',
  SlugInvalid = 'tenant_slug_invalid',
  SlugReserved = 'tenant_slug_reserved',
  SlugTaken = 'tenant_slug_taken',
  ProvisioningFailed = 'tenant_provisioning_failed',
  MemberNotFound = 'member_not_found',
  TenantDeleted = 'tenant_deleted',
  AlreadyMember = 'already_member',
  InvitationPending = 'invitation_pending',
  InvitationNotFound = 'invitation_not_found',
  InvitationInvalid = 'invitation_invalid',
  InvitationExpired = 'invitation_expired',
  InvitationClosed = 'invitation_closed',
  SeatLimitReached = 'seat_limit_reached',
  TenantUnavailable = 'tenant_unavailable',
}

export class TenancyException extends DomainException<TenancyErrorCode> {
  constructor(
    code: TenancyErrorCode,
    detail: string,
    extensions?: Record<string, unknown>,
    cause?: unknown,
  ) {
    super(code, detail, extensions, cause);
  }

  get status(): number {
    switch (this.code) {
      case TenancyErrorCode.TenantRequired:
      case TenancyErrorCode.SlugInvalid:
        return 400;
      case TenancyErrorCode.TenantSuspended:
        return 403;
      case TenancyErrorCode.TenantNotFound:
      case TenancyErrorCode.MemberNotFound:
        return 404;
      case TenancyErrorCode.InvitationInvalid:
      case TenancyErrorCode.InvitationExpired:
        return 410;
      case TenancyErrorCode.InvitationNotFound:
        return 404;
      case TenancyErrorCode.AlreadyMember:
      case TenancyErrorCode.InvitationPending:
      case TenancyErrorCode.InvitationClosed:
      case TenancyErrorCode.SeatLimitReached:
      case TenancyErrorCode.TenantDeleted:
      case TenancyErrorCode.SlugReserved:
      case TenancyErrorCode.SlugTaken:
        return 409;
      case TenancyErrorCode.ProvisioningFailed:
        return 500;
      case TenancyErrorCode.TenantUnavailable:
        return 503;
    }
  }
}

/**
 * Thrown when tenant data is touched with no tenant in context. A programming
 * error, never a client's: it must fail loudly instead of reading "all tenants".
 */
export class TenantContextMissingError extends Error {
  constructor(what = 'Tenant data') {
    super(
      `${what} was accessed outside a tenant context; wrap the call in TenantContext.run() or mark the route @TenantScoped()`,
    );
    this.name = 'TenantContextMissingError';
  }
}
