import { Entity, Enum, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { TenantRole } from '../../access/roles';
import { newId } from '../../common/uuid';

/** A user's role in an organisation. */
@Entity({ schema: 'platform', tableName: 'membership' })
@Unique({ name: 'membership_tenant_user_key', properties: ['tenantId', 'userId'] })
@Index({ name: 'membership_user_idx', properties: ['userId'] })
// The member list: a tenant's members in the order they joined.
@Index({ name: 'membership_tenant_created_idx', properties: ['tenantId', 'createdAt', 'id'] })
export class Membership {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  tenantId!: string;

  @Property({ type: 'uuid' })
  userId!: string;

  @Enum({ items: () => TenantRole, type: 'text' })
  role!: TenantRole;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
