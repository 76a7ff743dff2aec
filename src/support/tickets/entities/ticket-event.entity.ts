import { Entity, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../../common/uuid';

/** One field change of a ticket (status, priority, assignee, tags): its full history. */
@Entity({ schema: '*', tableName: 'ticket_event' })
@Index({ name: 'ticket_event_ticket_id_idx', properties: ['ticketId', 'at'] })
export class TicketEvent {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  ticketId!: string;

  /** Null: the system (a job, a merge). */
  @Property({ type: 'uuid', nullable: true })
  actorId?: string | null;

  @Property({ type: 'text' })
  field!: string;

  @Property({ type: 'text', nullable: true })
  fromValue?: string | null;

  @Property({ type: 'text', nullable: true })
  toValue?: string | null;

  @Property({ type: 'datetime' })
  at!: Date;
}
