import { Entity, PrimaryKey, Property } from '@mikro-orm/core';

/**
 * Gapless counters (invoice numbers): incremented under the row lock in the
 * transaction that uses the value, so a rollback never leaves a hole.
 */
@Entity({ schema: 'platform', tableName: 'billing_counter' })
export class BillingCounter {
  @PrimaryKey({ type: 'text' })
  name!: string;

  @Property({ type: 'bigint' })
  value!: string;
}
