import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { TenantStatus } from './entities/tenant.entity';
import { TenancyErrorCode, TenancyException } from './tenancy.exception';
import { TenantContext } from './tenant-context';
import { TenantDirectory } from './tenant-directory.service';
import { TENANT_HEADER, TENANT_SCOPED } from './tenant-scoped.decorator';

/**
 * Resolves the tenant of a `@TenantScoped()` route and binds it to the request
 * context. Until authentication lands the `X-Tenant-Id` header selects it;
 * the API key's and the token's tenant will come first, and membership will be
 * checked here on every request.
 */
@Injectable()
export class TenantGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly directory: TenantDirectory,
    private readonly tenantContext: TenantContext,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const scoped = this.reflector.getAllAndOverride<boolean>(TENANT_SCOPED, [
      context.getHandler(),
      context.getClass(),
    ]);
    if (!scoped) return true;

    const header = context.switchToHttp().getRequest<FastifyRequest>().headers[TENANT_HEADER];
    const selector = typeof header === 'string' ? header.trim() : '';
    if (!selector) {
      throw new TenancyException(
        TenancyErrorCode.TenantRequired,
        'This route acts for an organisation: name it in the X-Tenant-Id header (its id or slug).',
      );
    }
    const tenant = selector.length <= 64 ? await this.directory.find(selector) : undefined;
    if (
      !tenant ||
      tenant.status === TenantStatus.Deleted ||
      tenant.status === TenantStatus.Provisioning
    ) {
      throw new TenancyException(
        TenancyErrorCode.TenantNotFound,
        `No organisation "${selector.slice(0, 64)}".`,
      );
    }
    if (tenant.status === TenantStatus.Suspended) {
      throw new TenancyException(
        TenancyErrorCode.TenantSuspended,
        `The organisation "${tenant.slug}" is suspended; contact support.`,
      );
    }
    this.tenantContext.enter({ id: tenant.id, slug: tenant.slug, schemaName: tenant.schemaName });
    return true;
  }
}
