import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiHeader } from '@nestjs/swagger';
import { ApiProblems } from '../common/http/api-problem';

export const TENANT_SCOPED = 'groundwork:tenant-scoped';
export const TENANT_HEADER = 'x-tenant-id';

/**
 * Marks a controller or route as acting for one tenant: the tenant guard
 * resolves it and binds the request's tenant context before the handler runs.
 */
export function TenantScoped(): ClassDecorator & MethodDecorator {
  return applyDecorators(
    SetMetadata(TENANT_SCOPED, true),
    ApiHeader({
      name: 'X-Tenant-Id',
      required: false,
      description:
        "The organisation to act for (id or slug). Default: the API key's organisation, or the access token's current one.",
    }),
    ApiProblems(400, 403, 404),
  );
}
