import { Entity, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { Tenant } from '../../tenancy/entities/tenant.entity';
import { BetaCohort } from './beta-cohort.entity';

/** A tenant in a cohort. */
@Entity({ schema: 'platform', tableName: 'beta_cohort_member' })
@Unique({ name: 'beta_cohort_member_cohort_tenant_key', properties: ['cohort', 'tenantId'] })
@Index({ name: 'beta_cohort_member_tenant_idx', properties: ['tenantId'] })
export class BetaCohortMember {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => BetaCohort, { deleteRule: 'cascade' })
  cohort!: BetaCohort;

  @ManyToOne(() => Tenant, { fieldName: 'tenant_id', mapToPk: true, deleteRule: 'cascade' })
  tenantId!: string;

  /** The staff member who added it (null: the system). */
  @Property({ type: 'uuid', nullable: true })
  addedBy?: string | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;
}
