import { randomBytes } from 'node:crypto';
import { INestApplicationContext } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { hashPassword } from '../../src/identity/credentials';
import { User } from '../../src/identity/entities/user.entity';
import { TokenService } from '../../src/identity/token.service';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { MembershipService } from '../../src/tenancy/members/membership.service';
import { TenantProvisioningService } from '../../src/tenancy/tenant-provisioning.service';

export const uniqueSlug = (prefix = 'org'): string => `${prefix}-${randomBytes(5).toString('hex')}`;
export const uniqueEmail = (prefix = 'user'): string =>
  `${prefix}-${randomBytes(5).toString('hex')}@example.com`;

/** The password every factory user has (long and not a common one). */
export const TEST_PASSWORD = 'correct horse battery staple 42';
let passwordHash: Promise<string> | undefined;
const testPasswordHash = () => (passwordHash ??= hashPassword(TEST_PASSWORD));

/** Provisions a real tenant (row, schema, migrations) with a unique slug and no members. */
export function createTenant(
  app: INestApplicationContext,
  overrides: { slug?: string; name?: string } = {},
): Promise<Tenant> {
  const slug = overrides.slug ?? uniqueSlug();
  return app
    .get(TenantProvisioningService)
    .provision({ slug, name: overrides.name ?? `Org ${slug}` });
}

export interface Actor {
  user: User;
  /** A valid access token for the user's session in `tenantId`. */
  token: string;
  refreshToken: string;
  /** `Authorization` and `X-Tenant-Id`: ready for supertest's `.set()`. */
  headers: Record<string, string>;
}

export interface Org extends Actor {
  tenant: Tenant;
}

/** A tenant with an owner who is signed in. */
export async function createOrg(
  app: INestApplicationContext,
  overrides: { slug?: string; name?: string; email?: string } = {},
): Promise<Org> {
  const tenant = await createTenant(app, overrides);
  const actor = await createUser(app, { tenant, role: TenantRole.Owner, email: overrides.email });
  return { tenant, ...actor };
}

/** A signed-in user, optionally a member of `tenant` with `role`, optionally platform staff. */
export async function createUser(
  app: INestApplicationContext,
  options: {
    tenant?: Tenant;
    role?: TenantRole;
    email?: string;
    name?: string;
    platformRole?: PlatformRole;
  } = {},
): Promise<Actor> {
  const em = app.get<EntityManager>(EntityManager).fork();
  const now = new Date();
  const user = em.create(User, {
    email: options.email ?? uniqueEmail(),
    name: options.name ?? 'Test User',
    passwordHash: await testPasswordHash(),
    platformRole: options.platformRole ?? null,
    createdAt: now,
    updatedAt: now,
  });
  if (options.tenant)
    app
      .get(MembershipService)
      .add(em, options.tenant.id, user.id, options.role ?? TenantRole.Member);
  const tokens = app.get(TokenService).issue(em, user, options.tenant?.id ?? null);
  await em.flush();
  return {
    user,
    token: tokens.accessToken,
    refreshToken: tokens.refreshToken,
    headers: {
      Authorization: `Bearer ${tokens.accessToken}`,
      ...(options.tenant ? { 'X-Tenant-Id': options.tenant.id } : {}),
    },
  };
}
