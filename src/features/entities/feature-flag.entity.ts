import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

/**
 * One switch the operator flips to roll work out: off or on by default, per
 * plan, per beta cohort and per tenant (see `resolveFlag`).
 */
@Entity({ schema: 'platform', tableName: 'feature_flag' })
export class FeatureFlag {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  /** Stable snake_case name the code asks for (`ai_ticket_summaries`); never changes. */
  @Property({ type: 'text' })
  @Unique({ name: 'feature_flag_key_key' })
  key!: string;

  @Property({ type: 'text' })
  description!: string;

  @Property({ type: 'boolean' })
  defaultEnabled!: boolean;

  /** Plan code → on or off for tenants on that plan (plans left out fall back to the default). */
  @Property({ type: 'json' })
  planDefaults: Record<string, boolean> = {};

  /** Tenant subjects that may not be created or changed while the flag is off. */
  @Property({ type: 'text[]' })
  gates: string[] = [];

  /** Retired: off everywhere, its gates lifted, hidden from tenants. */
  @Property({ type: 'datetime', nullable: true })
  archivedAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
