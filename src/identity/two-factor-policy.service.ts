import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { RequestStore } from '../common/request-store';
import { TenantDto } from '../tenancy/dtos/tenant.dto';
import { TenantService } from '../tenancy/tenant.service';
import { IdentityErrorCode, IdentityException } from './identity.exception';
import { TwoFactorService } from './two-factor.service';

/** An organisation's two-factor requirement, as its owners set it. */
@Injectable()
export class TwoFactorPolicyService {
  constructor(
    private readonly cls: ClsService<RequestStore>,
    private readonly tenants: TenantService,
    private readonly twoFactor: TwoFactorService,
  ) {}

  /**
   * A member turning the requirement on must have two-factor authentication
   * themselves, or the next request would lock them out of their own
   * organisation.
   */
  async set(required: boolean): Promise<TenantDto> {
    const principal = this.cls.get('principal');
    if (
      required &&
      principal?.kind === 'user' &&
      this.cls.get('tenantAccess')?.role &&
      !(await this.twoFactor.enabledFor(principal.userId))
    ) {
      throw new IdentityException(
        IdentityErrorCode.TwoFactorNotEnabled,
        'Turn on two-factor authentication for your own account before requiring it of the members.',
      );
    }
    return this.tenants.setTwoFactorRequirement(required);
  }
}
