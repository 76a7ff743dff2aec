import type { PlatformRole, TenantRole } from '../access/roles';

/** Who is calling: established by authentication, read by tenancy and access. */
export type Principal = UserPrincipal | ApiKeyPrincipal;

export interface UserPrincipal {
  kind: 'user';
  userId: string;
  platformRole: PlatformRole | null;
  /** The organisation the access token was issued for (`tid` claim), if any. */
  tokenTenantId: string | null;
  /** The refresh-token family (login session) the access token belongs to. */
  sessionId: string;
}

export interface ApiKeyPrincipal {
  kind: 'api_key';
  keyId: string;
  tenantId: string;
  /** Empty: the key may do what its creator's admin role allows. */
  scopes: string[];
}

/** The caller's standing in the current tenant, set by the tenant guard. */
export interface TenantAccess {
  /** The membership role; null for platform staff acting on a tenant or for API keys. */
  role: TenantRole | null;
  /** Platform staff acting on a tenant they are not a member of. */
  asStaff: boolean;
}
