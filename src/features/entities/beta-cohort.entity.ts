import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

/** A named group of tenants that flags can be switched on (or off) for together. */
@Entity({ schema: 'platform', tableName: 'beta_cohort' })
export class BetaCohort {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'text' })
  @Unique({ name: 'beta_cohort_key_key' })
  key!: string;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text' })
  description!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
