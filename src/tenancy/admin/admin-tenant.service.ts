import { Injectable } from '@nestjs/common';
import { toPage } from '../../common/http/pagination';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { AuditService } from '../audit/audit.service';
import { Tenant, TenantStatus } from '../entities/tenant.entity';
import { TenancyErrorCode, TenancyException } from '../tenancy.exception';
import { TenantDirectory } from '../tenant-directory.service';
import { AdminTenantDto, AdminTenantPageDto, ListTenantsQuery } from './admin-tenant.dto';

/** The operator's view of tenants: list, inspect, suspend, restore; every change audited. */
@Injectable()
export class AdminTenantService {
  constructor(
    private readonly em: EntityManager,
    private readonly directory: TenantDirectory,
    private readonly audit: AuditService,
    private readonly clock: Clock,
  ) {}

  async list(query: ListTenantsQuery): Promise<AdminTenantPageDto> {
    const q = query.q?.replace(/[\\%_]/g, (c) => `\\${c}`);
    const rows = await this.em.fork().find(
      Tenant,
      {
        ...(query.status ? { status: query.status } : {}),
        ...(query.cursor ? { id: { $lt: query.cursor } } : {}),
        ...(q ? { $or: [{ slug: { $ilike: `%${q}%` } }, { name: { $ilike: `%${q}%` } }] } : {}),
      },
      { orderBy: { id: 'desc' }, limit: query.limit + 1 },
    );
    return toPage(rows, query.limit, toDto);
  }

  async get(id: string): Promise<AdminTenantDto> {
    return toDto(await this.load(this.em.fork(), id));
  }

  suspend(id: string, reason: string): Promise<AdminTenantDto> {
    return this.transition(id, TenantStatus.Suspended, 'tenant.suspended', { reason });
  }

  restore(id: string): Promise<AdminTenantDto> {
    return this.transition(id, TenantStatus.Active, 'tenant.restored', {});
  }

  private async transition(
    id: string,
    to: TenantStatus,
    action: string,
    data: Record<string, unknown>,
  ): Promise<AdminTenantDto> {
    const tenant = await this.em.fork().transactional(async (em) => {
      const row = await this.load(em, id);
      if (row.status === TenantStatus.Deleted) {
        throw new TenancyException(
          TenancyErrorCode.TenantDeleted,
          `The organisation "${row.slug}" is deleted.`,
        );
      }
      if (row.status !== to) {
        const from = row.status;
        row.status = to;
        row.updatedAt = this.clock.now();
        this.audit.recordPlatform({ action, tenantId: row.id, data: { ...data, from, to } }, em);
      }
      return row;
    });
    this.directory.invalidate(tenant);
    return toDto(tenant);
  }

  private async load(em: EntityManager, id: string): Promise<Tenant> {
    const tenant = await em.findOne(Tenant, { id });
    if (!tenant)
      throw new TenancyException(TenancyErrorCode.TenantNotFound, `No organisation "${id}".`);
    return tenant;
  }
}

function toDto(tenant: Tenant): AdminTenantDto {
  return {
    id: tenant.id,
    slug: tenant.slug,
    name: tenant.name,
    status: tenant.status,
    requireTwoFactor: tenant.requireTwoFactor,
    createdAt: tenant.createdAt.toISOString(),
    updatedAt: tenant.updatedAt.toISOString(),
    schemaVersion: tenant.schemaVersion ?? null,
    migrationError: tenant.migrationError ?? null,
  };
}
