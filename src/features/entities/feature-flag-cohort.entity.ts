import { Entity, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { BetaCohort } from './beta-cohort.entity';
import { FeatureFlag } from './feature-flag.entity';

/** A flag switched on (or off) for every tenant of a cohort. */
@Entity({ schema: 'platform', tableName: 'feature_flag_cohort' })
@Unique({ name: 'feature_flag_cohort_flag_cohort_key', properties: ['flag', 'cohort'] })
@Index({ name: 'feature_flag_cohort_cohort_idx', properties: ['cohort'] })
export class FeatureFlagCohort {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => FeatureFlag, { deleteRule: 'cascade' })
  flag!: FeatureFlag;

  @ManyToOne(() => BetaCohort, { deleteRule: 'cascade' })
  cohort!: BetaCohort;

  @Property({ type: 'boolean' })
  enabled!: boolean;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
