import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../common/clock';
import { AuditService } from './audit/audit.service';
import { TenantDto, UpdateTenantDto } from './dtos/tenant.dto';
import { Tenant } from './entities/tenant.entity';
import { TenancyErrorCode, TenancyException } from './tenancy.exception';
import { TenantContext } from './tenant-context';
import { TenantDirectory } from './tenant-directory.service';

/** The current organisation, as its own members see and change it. */
@Injectable()
export class TenantService {
  constructor(
    private readonly tenantContext: TenantContext,
    private readonly audit: AuditService,
    private readonly directory: TenantDirectory,
    private readonly clock: Clock,
  ) {}

  async getCurrent(): Promise<TenantDto> {
    return TenantDto.from(await this.load(this.tenantContext.em));
  }

  /** Updates the organisation and records `tenant.updated` in the same transaction. */
  async updateCurrent(changes: UpdateTenantDto): Promise<TenantDto> {
    const em = this.tenantContext.em;
    const tenant = await em.transactional(async (tx) => {
      const row = await this.load(tx);
      const before = { name: row.name };
      if (changes.name !== undefined && changes.name !== row.name) {
        row.name = changes.name;
        row.updatedAt = this.clock.now();
        this.audit.record(
          {
            action: 'tenant.updated',
            target: { type: 'tenant', id: row.id },
            data: { before, after: { name: row.name } },
          },
          tx,
        );
      }
      return row;
    });
    this.directory.invalidate(tenant);
    return TenantDto.from(tenant);
  }

  /**
   * Requires (or stops requiring) two-factor authentication of the members,
   * recording `tenant.two_factor_policy_changed` in the same transaction.
   */
  async setTwoFactorRequirement(required: boolean): Promise<TenantDto> {
    const em = this.tenantContext.em;
    const tenant = await em.transactional(async (tx) => {
      const row = await this.load(tx);
      if (row.requireTwoFactor !== required) {
        row.requireTwoFactor = required;
        row.updatedAt = this.clock.now();
        this.audit.record(
          {
            action: 'tenant.two_factor_policy_changed',
            target: { type: 'tenant', id: row.id },
            data: { before: { required: !required }, after: { required } },
          },
          tx,
        );
      }
      return row;
    });
    this.directory.invalidate(tenant);
    return TenantDto.from(tenant);
  }

  private async load(em: EntityManager): Promise<Tenant> {
    const { id } = this.tenantContext.tenant;
    const tenant = await em.findOne(Tenant, { id });
    if (!tenant)
      throw new TenancyException(TenancyErrorCode.TenantNotFound, `No organisation "${id}".`);
    return tenant;
  }
}
