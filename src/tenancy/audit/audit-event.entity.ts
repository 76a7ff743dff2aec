import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

export type AuditActorType = 'user' | 'api_key' | 'platform_staff' | 'system' | 'anonymous';

/**
 * One line of a tenant's audit log. Lives in the tenant's own schema (`schema: '*'`),
 * so it can only be read through a tenant-bound EntityManager.
 */
@Entity({ schema: '*', tableName: 'audit_event' })
@Index({ name: 'audit_event_target_idx', properties: ['targetType', 'targetId'] })
// The audit log's ?action= filter, newest first.
@Index({ name: 'audit_event_action_id_idx', properties: ['action', 'id'] })
export class AuditEvent {
  /** UUIDv7: sorting by id is sorting by time. */
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'text' })
  actorType!: AuditActorType;

  @Property({ type: 'text', nullable: true })
  actorId?: string | null;

  /** Dotted verb, e.g. `tenant.updated`. */
  @Property({ type: 'text' })
  action!: string;

  @Property({ type: 'text', nullable: true })
  targetType?: string | null;

  @Property({ type: 'text', nullable: true })
  targetId?: string | null;

  @Property({ type: 'text', nullable: true })
  requestId?: string | null;

  @Property({ type: 'string', columnType: 'inet', nullable: true })
  ip?: string | null;

  @Property({ type: 'json' })
  data: Record<string, unknown> = {};

  @Property({ type: 'datetime' })
  at!: Date;
}
