import { Entity, Enum, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { TenantRole } from '../../access/roles';
import { newId } from '../../common/uuid';

/** An invitation to join an organisation with a role; its token is single-use and expires. */
@Entity({ schema: 'platform', tableName: 'invitation' })
@Index({ name: 'invitation_tenant_idx', properties: ['tenantId'] })
export class Invitation {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  tenantId!: string;

  /** Normalised like a user's email. */
  @Property({ type: 'text' })
  email!: string;

  @Enum({ items: () => TenantRole, type: 'text' })
  role!: TenantRole;

  @Property({ type: 'text', hidden: true })
  @Unique({ name: 'invitation_token_hash_key' })
  tokenHash!: string;

  @Property({ type: 'uuid' })
  invitedBy!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  acceptedAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt?: Date | null;
}
