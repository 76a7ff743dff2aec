import { Entity, Enum, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../uuid';

export enum IdempotencyState {
  /** The first request with the key is still running. */
  Processing = 'processing',
  /** Its response is stored and replayed to repeats. */
  Completed = 'completed',
}

/** The first response to a mutating request sent with an `Idempotency-Key`. */
@Entity({ schema: 'platform', tableName: 'idempotency_key' })
@Unique({ name: 'idempotency_key_scope_key_key', properties: ['scope', 'key'] })
@Index({ name: 'idempotency_key_expires_at_idx', properties: ['expiresAt'] })
export class IdempotencyRecord {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  /** Who sent it and for which tenant (`user:<id>:tenant:<id>`): keys never cross callers. */
  @Property({ type: 'text' })
  scope!: string;

  @Property({ type: 'text' })
  key!: string;

  /** SHA-256 of method, route and canonical body: another body under the same key is refused. */
  @Property({ type: 'text' })
  requestHash!: string;

  @Enum({ items: () => IdempotencyState, type: 'text' })
  state!: IdempotencyState;

  @Property({ type: 'smallint', nullable: true })
  responseStatus?: number | null;

  @Property({ type: 'json', nullable: true })
  responseBody?: unknown;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  expiresAt!: Date;
}
