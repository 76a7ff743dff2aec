import { Entity, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { Tenant } from '../../tenancy/entities/tenant.entity';
import { FeatureFlag } from './feature-flag.entity';

/** One tenant's flag forced on or off, whatever its plan and cohorts say. */
@Entity({ schema: 'platform', tableName: 'feature_flag_override' })
@Unique({ name: 'feature_flag_override_flag_tenant_key', properties: ['flag', 'tenantId'] })
@Index({ name: 'feature_flag_override_tenant_idx', properties: ['tenantId'] })
export class FeatureFlagOverride {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => FeatureFlag, { deleteRule: 'cascade' })
  flag!: FeatureFlag;

  @ManyToOne(() => Tenant, { fieldName: 'tenant_id', mapToPk: true, deleteRule: 'cascade' })
  tenantId!: string;

  @Property({ type: 'boolean' })
  enabled!: boolean;

  /** Why (a support case, a contract): shown to staff, never to the tenant. */
  @Property({ type: 'text', nullable: true })
  reason?: string | null;

  /** The staff member who set it (null: the system). */
  @Property({ type: 'uuid', nullable: true })
  createdBy?: string | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
