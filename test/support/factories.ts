import { randomBytes } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { TenantProvisioningService } from '../../src/tenancy/tenant-provisioning.service';

export const uniqueSlug = (prefix = 'org'): string => `${prefix}-${randomBytes(5).toString('hex')}`;

/** Provisions a real tenant (row, schema, migrations) with a unique slug. */
export function createTenant(
  app: INestApplicationContext,
  overrides: { slug?: string; name?: string } = {},
): Promise<Tenant> {
  const slug = overrides.slug ?? uniqueSlug();
  return app
    .get(TenantProvisioningService)
    .provision({ slug, name: overrides.name ?? `Org ${slug}` });
}
