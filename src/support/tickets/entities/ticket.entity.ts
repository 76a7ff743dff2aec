import {
  ArrayType,
  Entity,
  Enum,
  Index,
  OptionalProps,
  PrimaryKey,
  Property,
  Unique,
} from '@mikro-orm/core';
import { newId } from '../../../common/uuid';
import { TicketPriority, TicketStatus } from '../ticket-status';

export enum TicketChannel {
  Web = 'web',
  Api = 'api',
  Email = 'email',
}

/**
 * A support request of one organisation. Lives in the tenant's schema: the
 * words are the tenant's own. The agents' cross-tenant queue reads a narrow
 * copy of its routing fields (`platform.support_queue`), never the text.
 */
@Entity({ schema: '*', tableName: 'ticket' })
// The ticket list is newest first (id desc), by status or, for a member, by requester.
@Index({ name: 'ticket_status_id_idx', properties: ['status', 'id'] })
@Index({ name: 'ticket_requester_id_id_idx', properties: ['requesterId', 'id'] })
@Index({ name: 'ticket_assignee_id_idx', properties: ['assigneeId'] })
export class Ticket {
  [OptionalProps]?: 'tags' | 'status' | 'priority' | 'channel';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  /** Per organisation, from 1: what people quote ("ticket #42"). */
  @Property({ type: 'integer' })
  @Unique({ name: 'ticket_number_key' })
  number!: number;

  @Property({ type: 'text' })
  subject!: string;

  @Property({ type: 'text' })
  description!: string;

  @Enum({ items: () => TicketStatus, type: 'text' })
  status: TicketStatus = TicketStatus.New;

  @Enum({ items: () => TicketPriority, type: 'text' })
  priority: TicketPriority = TicketPriority.Normal;

  @Enum({ items: () => TicketChannel, type: 'text' })
  channel: TicketChannel = TicketChannel.Web;

  @Property({ type: ArrayType })
  tags: string[] = [];

  /** The member who asked. */
  @Property({ type: 'uuid' })
  requesterId!: string;

  /** The agent handling it: one of the operator's staff, or the tenant's own support agent. */
  @Property({ type: 'uuid', nullable: true })
  assigneeId?: string | null;

  @Property({ type: 'datetime', nullable: true })
  firstResponseAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  solvedAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  closedAt?: Date | null;

  /** This ticket was merged into that one: closed, its messages moved there. */
  @Property({ type: 'uuid', nullable: true })
  mergedIntoId?: string | null;

  /** The requester's rating after the ticket was solved (1–5), and what they said. */
  @Property({ type: 'smallint', nullable: true })
  csatScore?: number | null;

  @Property({ type: 'text', nullable: true })
  csatComment?: string | null;

  @Property({ type: 'datetime', nullable: true })
  csatAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
