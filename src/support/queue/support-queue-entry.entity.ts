import { Entity, Enum, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { TicketPriority, TicketStatus } from '../tickets/ticket-status';

/**
 * The agents' view of one ticket across every tenant: routing fields and SLA
 * due times, no words. Written in the same transaction as the ticket, so the
 * queue never disagrees with the tenant's own record.
 */
@Entity({ schema: 'platform', tableName: 'support_queue' })
@Unique({ name: 'support_queue_tenant_number_key', properties: ['tenantId', 'number'] })
@Index({ name: 'support_queue_status_due_idx', properties: ['status', 'resolutionDueAt'] })
@Index({ name: 'support_queue_assignee_id_idx', properties: ['assigneeId'] })
// The agents' queue of open tickets in its order: next SLA due time still open, then age.
@Index({
  name: 'support_queue_open_next_due_idx',
  expression:
    "create index support_queue_open_next_due_idx on platform.support_queue ((least(case when first_response_at is null then first_response_due_at end, case when solved_at is null then resolution_due_at end)) nulls last, created_at) where status not in ('solved', 'closed')",
})
export class SupportQueueEntry {
  /** The ticket's id (unique across tenants: UUIDv7). */
  @PrimaryKey({ type: 'uuid' })
  ticketId!: string;

  @Property({ type: 'uuid' })
  tenantId!: string;

  @Property({ type: 'integer' })
  number!: number;

  @Enum({ items: () => TicketStatus, type: 'text' })
  status!: TicketStatus;

  @Enum({ items: () => TicketPriority, type: 'text' })
  priority!: TicketPriority;

  @Property({ type: 'uuid' })
  requesterId!: string;

  @Property({ type: 'uuid', nullable: true })
  assigneeId?: string | null;

  @Property({ type: 'datetime', nullable: true })
  firstResponseDueAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  resolutionDueAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  firstResponseAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  solvedAt?: Date | null;

  /** Set once by the breach job when the first-response target passed unmet (never cleared). */
  @Property({ type: 'datetime', nullable: true })
  firstResponseBreachedAt?: Date | null;

  /** Set once by the breach job when the resolution target passed unmet (never cleared). */
  @Property({ type: 'datetime', nullable: true })
  resolutionBreachedAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
