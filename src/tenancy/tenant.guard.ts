import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { RequestStore } from '../common/request-store';
import { TenantSchemaMigrator } from '../database/tenant-schema-migrator';
import { AuditService } from './audit/audit.service';
import { TenantStatus } from './entities/tenant.entity';
import { MembershipService } from './members/membership.service';
import { TenancyErrorCode, TenancyException } from './tenancy.exception';
import { TenantContext } from './tenant-context';
import { TenantDirectory, TenantRecord } from './tenant-directory.service';
import { TENANT_HEADER, TENANT_SCOPED } from './tenant-scoped.decorator';

/**
 * Resolves the tenant of a `@TenantScoped()` route, checks the caller belongs
 * to it, and binds the request's tenant context. Order: the API key's tenant;
 * `X-Tenant-Id` (id or slug); the token's current tenant. A client-supplied
 * tenant only selects: membership is checked on every request. Platform staff
 * may act on any tenant, and every such access is audited.
 */
@Injectable()
export class TenantGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly directory: TenantDirectory,
    private readonly memberships: MembershipService,
    private readonly tenantContext: TenantContext,
    private readonly audit: AuditService,
    private readonly cls: ClsService<RequestStore>,
    private readonly migrator: TenantSchemaMigrator,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scoped = this.reflector.getAllAndOverride<boolean>(TENANT_SCOPED, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!scoped) return true;

    const principal = this.cls.get('principal');
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers[TENANT_HEADER];
    const named = typeof header === 'string' ? header.trim() : '';
    const selector =
      principal?.kind === 'api_key'
        ? principal.tenantId
        : named || (principal?.kind === 'user' ? principal.tokenTenantId : null);
    if (!selector) {
      throw new TenancyException(
        TenancyErrorCode.TenantRequired,
        'This route acts for an organisation: switch to one, or name it in the X-Tenant-Id header (its id or slug).',
      );
    }
    const tenant = selector.length <= 64 ? await this.directory.find(selector) : undefined;
    const notFound = () =>
      new TenancyException(
        TenancyErrorCode.TenantNotFound,
        `No organisation "${selector.slice(0, 64)}".`,
      );
    if (
      !tenant ||
      tenant.status === TenantStatus.Deleted ||
      tenant.status === TenantStatus.Provisioning
    )
      throw notFound();
    // An API key speaks for its own tenant only, whatever header comes with it.
    if (
      principal?.kind === 'api_key' &&
      named &&
      named.toLowerCase() !== tenant.id &&
      named.toLowerCase() !== tenant.slug
    )
      throw notFound();

    const ref = { id: tenant.id, slug: tenant.slug, schemaName: tenant.schemaName };
    if (principal?.kind === 'user') {
      const role = await this.memberships.roleOf(tenant.id, principal.userId);
      // Not a member: the same answer as for a tenant that does not exist.
      if (!role && !principal.platformRole) throw notFound();
      this.assertUsable(tenant);
      this.tenantContext.enter(ref);
      this.cls.set('tenantAccess', { role, asStaff: !role });
      if (!role) await this.auditStaffAccess(context);
      return true;
    }
    this.assertUsable(tenant);
    this.tenantContext.enter(ref);
    this.cls.set('tenantAccess', { role: null, asStaff: false });
    return true;
  }

  private assertUsable(tenant: TenantRecord): void {
    // A schema behind this code (its migration failed, or has not run yet)
    // would answer with 500s: say plainly that the tenant is unavailable.
    const latest = this.migrator.latest;
    const behind =
      latest !== undefined && (tenant.schemaVersion === null || tenant.schemaVersion < latest);
    if (tenant.migrationFailed || behind) {
      const error = new TenancyException(
        TenancyErrorCode.TenantUnavailable,
        `The organisation "${tenant.slug}" is being upgraded; try again shortly.`,
      );
      error.headers['retry-after'] = '30';
      throw error;
    }
    if (tenant.status === TenantStatus.Suspended) {
      throw new TenancyException(
        TenancyErrorCode.TenantSuspended,
        `The organisation "${tenant.slug}" is suspended; contact support.`,
      );
    }
  }

  /** Staff reading or changing a tenant's data leave a line in that tenant's audit log. */
  private async auditStaffAccess(context: ExecutionContext): Promise<void> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const em = this.tenantContext.em.fork();
    this.audit.record(
      {
        action: 'staff.accessed',
        data: { method: request.method, route: request.routeOptions?.url ?? request.url },
      },
      em,
    );
    await em.flush();
  }
}
