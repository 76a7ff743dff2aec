import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { OnboardingDto } from './dtos/onboarding.dto';
import { OnboardingRow, toOnboarding } from './onboarding-steps';
import { TenancyErrorCode, TenancyException } from '../tenancy.exception';
import { TenantContext } from '../tenant-context';

/**
 * The current organisation's onboarding checklist. The truth is the view
 * `platform.tenant_onboarding`, which the business metrics read for every
 * tenant at once; this reads its one row (one query).
 */
@Injectable()
export class OnboardingService {
  constructor(
    private readonly em: EntityManager,
    private readonly tenantContext: TenantContext,
  ) {}

  async getCurrent(): Promise<OnboardingDto> {
    const { id } = this.tenantContext.tenant;
    const [row] = await this.em
      .fork()
      .execute<OnboardingRow[]>('select * from platform.tenant_onboarding where tenant_id = ?', [
        id,
      ]);
    if (!row)
      throw new TenancyException(TenancyErrorCode.TenantNotFound, `No organisation "${id}".`);
    return toOnboarding(row);
  }
}
