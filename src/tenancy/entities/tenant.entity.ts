import { Entity, Enum, Index, Opt, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

export enum TenantStatus {
  /** Reserved for asynchronous provisioning; synchronous provisioning commits straight to active. */
  Provisioning = 'provisioning',
  Active = 'active',
  Suspended = 'suspended',
  Deleted = 'deleted',
}

/** An organisation. Its own data lives in the PostgreSQL schema named by `schemaName`. */
@Entity({ schema: 'platform', tableName: 'tenant' })
@Index({ name: 'tenant_schema_version_idx', properties: ['schemaVersion'] })
// The admin tenant list: ?status= newest first, and ?q= (a substring of slug or name).
@Index({ name: 'tenant_status_id_idx', properties: ['status', 'id'] })
@Index({
  name: 'tenant_slug_trgm_idx',
  expression:
    'create index "tenant_slug_trgm_idx" on "platform"."tenant" using gin ("slug" public.gin_trgm_ops)',
})
@Index({
  name: 'tenant_name_trgm_idx',
  expression:
    'create index "tenant_name_trgm_idx" on "platform"."tenant" using gin ("name" public.gin_trgm_ops)',
})
export class Tenant {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'text' })
  @Unique({ name: 'tenant_slug_key' })
  slug!: string;

  @Property({ type: 'text' })
  name!: string;

  @Enum({ items: () => TenantStatus, type: 'text' })
  status: TenantStatus = TenantStatus.Active;

  @Property({ type: 'text' })
  @Unique({ name: 'tenant_schema_name_key' })
  schemaName!: string;

  /** Name of the last tenant migration applied to the schema; a fast index of its migration table. */
  @Property({ type: 'text', nullable: true })
  schemaVersion?: string | null;

  /** The last tenant-migration failure for this schema, cleared by the next success. */
  @Property({ type: 'text', nullable: true })
  migrationError?: string | null;

  /** Members must have two-factor authentication on to act in this organisation (set by an owner). */
  @Property({ type: 'boolean', default: false })
  requireTwoFactor: Opt<boolean> = false;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  /** Set by the code that changes the row, from the injectable Clock. */
  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();

  @Property({ type: 'datetime', nullable: true })
  deletedAt?: Date | null;
}
