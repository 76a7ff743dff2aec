import { Entity, Enum, Index, OptionalProps, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

export enum OutboxKind {
  Email = 'email',
}

export enum OutboxStatus {
  /** Waiting for its next attempt (`nextAttemptAt`). */
  Pending = 'pending',
  /** Claimed by a worker; `nextAttemptAt` is the end of its lease. */
  Sending = 'sending',
  Sent = 'sent',
  /** Gave up after the last attempt; `lastError` says why. */
  Failed = 'failed',
  /** Written while no SMTP_URL was configured: kept readable, never sent. */
  Held = 'held',
}

/**
 * One outgoing message, written in the same transaction as the change that
 * caused it and delivered later by the outbox worker. Lives in `platform`
 * (one queue for every tenant) and never leaves the notifications module.
 */
@Entity({ schema: 'platform', tableName: 'outbox' })
@Index({ name: 'outbox_status_next_attempt_at_idx', properties: ['status', 'nextAttemptAt'] })
export class OutboxMessage {
  [OptionalProps]?: 'kind' | 'attempts';

  /** UUIDv7: sorting by id is sorting by creation. */
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Enum({ items: () => OutboxKind, type: 'text' })
  kind: OutboxKind = OutboxKind.Email;

  /** The organisation the message is about, when there is one (not a foreign key: tenants are soft-deleted). */
  @Property({ type: 'uuid', nullable: true })
  tenantId?: string | null;

  /** One recipient address. */
  @Property({ type: 'text' })
  to!: string;

  @Property({ type: 'text' })
  subject!: string;

  /** Plain-text body. */
  @Property({ type: 'text' })
  text!: string;

  @Property({ type: 'text', nullable: true })
  html?: string | null;

  /** What produced the message, e.g. `auth.verify_email`. */
  @Property({ type: 'text' })
  template!: string;

  @Enum({ items: () => OutboxStatus, type: 'text' })
  status!: OutboxStatus;

  /** Delivery attempts started (counted when claimed, so a message that crashes its worker still runs out). */
  @Property({ type: 'integer' })
  attempts: number = 0;

  /** When a pending message is due; for a `sending` one, when its claim expires. */
  @Property({ type: 'datetime' })
  nextAttemptAt!: Date;

  @Property({ type: 'text', nullable: true })
  lastError?: string | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  sentAt?: Date | null;
}
