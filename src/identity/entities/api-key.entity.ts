import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

/**
 * A tenant's API key. The secret is shown once; only its SHA-256 is kept (a
 * 256-bit random secret needs no slow hash). The prefix identifies the key in
 * lists and logs.
 */
@Entity({ schema: 'platform', tableName: 'api_key' })
@Index({ name: 'api_key_tenant_idx', properties: ['tenantId'] })
export class ApiKey {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  tenantId!: string;

  @Property({ type: 'text' })
  name!: string;

  /** Public part, e.g. `gw_3f9a1c2b`. */
  @Property({ type: 'text' })
  @Unique({ name: 'api_key_prefix_key' })
  prefix!: string;

  @Property({ type: 'text', hidden: true })
  secretHash!: string;

  /** Empty: everything an admin may do. */
  @Property({ type: 'text[]' })
  scopes: string[] = [];

  @Property({ type: 'uuid' })
  createdBy!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  lastUsedAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  expiresAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt?: Date | null;
}
