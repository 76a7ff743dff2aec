import type { EntityManager } from '@mikro-orm/postgresql';
import type { ClsStore } from 'nestjs-cls';

/** What the request (or job) context holds; read through the owning module's service. */
export interface RequestStore extends ClsStore {
  /** The tenant the current request or job acts for, once resolved. */
  tenant?: TenantRef;
  /** EntityManager fork bound to the tenant's schema, created on first use. */
  tenantEm?: EntityManager;
  /** Client address of the HTTP request. */
  ip?: string;
}

export interface TenantRef {
  id: string;
  slug: string;
  schemaName: string;
}
