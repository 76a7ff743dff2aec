import type { EntityManager } from '@mikro-orm/postgresql';
import type { ClsStore } from 'nestjs-cls';
import type { AppAbility } from '../access/ability.factory';
import type { Principal, TenantAccess } from './principal';

/** What the request (or job) context holds; read through the owning module's service. */
export interface RequestStore extends ClsStore {
  /** The tenant the current request or job acts for, once resolved. */
  tenant?: TenantRef;
  /** EntityManager fork bound to the tenant's schema, created on first use. */
  tenantEm?: EntityManager;
  /** Client address of the HTTP request. */
  ip?: string;
  /** The authenticated caller, when there is one. */
  principal?: Principal;
  /** The caller's role in the current tenant, once resolved. */
  tenantAccess?: TenantAccess;
  /** The request's CASL ability, built by the policies guard. */
  ability?: AppAbility;
}

export interface TenantRef {
  id: string;
  slug: string;
  schemaName: string;
}
