import { CanActivate, Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { RequestStore } from '../common/request-store';
import { TenantDirectory } from '../tenancy/tenant-directory.service';
import { IdentityErrorCode, IdentityException } from './identity.exception';
import { TwoFactorService } from './two-factor.service';

/**
 * An organisation's two-factor requirement (after the tenant guard): its
 * members without two-factor authentication get 403 `two_factor_required`
 * on its routes. Only tenant-scoped routes bind a tenant, so enrolling
 * (`/v1/auth/2fa/*`), signing out, `GET /v1/auth/me` and switching
 * organisation stay open. API keys are not people, and platform staff acting
 * on a tenant they do not belong to follow the staff rules: neither is held.
 */
@Injectable()
export class TwoFactorGuard implements CanActivate {
  constructor(
    private readonly cls: ClsService<RequestStore>,
    private readonly directory: TenantDirectory,
    private readonly twoFactor: TwoFactorService,
  ) {}

  async canActivate(): Promise<boolean> {
    const tenant = this.cls.get('tenant');
    const principal = this.cls.get('principal');
    if (!tenant || principal?.kind !== 'user' || !this.cls.get('tenantAccess')?.role) return true;
    if (!(await this.directory.find(tenant.id))?.requireTwoFactor) return true;
    if (await this.twoFactor.enabledFor(principal.userId)) return true;
    throw new IdentityException(
      IdentityErrorCode.TwoFactorRequired,
      `The organisation "${tenant.slug}" requires two-factor authentication: turn it on (POST /v1/auth/2fa/setup, then /confirm) to continue.`,
      { tenantId: tenant.id, setup: '/v1/auth/2fa/setup' },
    );
  }
}
