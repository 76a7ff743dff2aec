import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import type { AuditActorType } from './audit-event.entity';

/** The platform audit log: what the operator's staff did, to which tenant. */
@Entity({ schema: 'platform', tableName: 'platform_audit_event' })
@Index({ name: 'platform_audit_event_tenant_idx', properties: ['tenantId'] })
export class PlatformAuditEvent {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'text' })
  actorType!: AuditActorType;

  @Property({ type: 'text', nullable: true })
  actorId?: string | null;

  @Property({ type: 'text' })
  action!: string;

  @Property({ type: 'uuid', nullable: true })
  tenantId?: string | null;

  @Property({ type: 'text', nullable: true })
  requestId?: string | null;

  @Property({ type: 'string', columnType: 'inet', nullable: true })
  ip?: string | null;

  @Property({ type: 'json' })
  data: Record<string, unknown> = {};

  @Property({ type: 'datetime' })
  at!: Date;
}
