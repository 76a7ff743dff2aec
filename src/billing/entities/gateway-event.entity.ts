import { Entity, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';

/** A gateway webhook event, stored once by its id and processed by a job. */
@Entity({ schema: 'platform', tableName: 'gateway_event' })
@Index({ name: 'gateway_event_unprocessed_idx', properties: ['processedAt', 'receivedAt'] })
export class GatewayEvent {
  [OptionalProps]?: 'attempts';

  /** `evt_…`: the gateway's id, so a redelivery finds the stored row. */
  @PrimaryKey({ type: 'text' })
  id!: string;

  @Property({ type: 'text' })
  type!: string;

  /** The event as the gateway sent it (already verified). */
  @Property({ type: 'json' })
  payload!: Record<string, unknown>;

  /** When the gateway says the event happened; orders out-of-order deliveries. */
  @Property({ type: 'datetime' })
  occurredAt!: Date;

  @Property({ type: 'datetime' })
  receivedAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  processedAt?: Date | null;

  @Property({ type: 'integer' })
  attempts: number = 0;

  @Property({ type: 'text', nullable: true })
  lastError?: string | null;
}
