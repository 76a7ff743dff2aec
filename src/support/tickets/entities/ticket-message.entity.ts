import { Entity, Enum, Index, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../../common/uuid';

export enum MessageKind {
  /** Seen by the requester and the organisation's members. */
  Reply = 'reply',
  /** Agents only; never shown to the organisation's members. */
  Note = 'note',
}

export enum AuthorRole {
  Requester = 'requester',
  Agent = 'agent',
}

@Entity({ schema: '*', tableName: 'ticket_message' })
@Index({ name: 'ticket_message_ticket_id_idx', properties: ['ticketId', 'createdAt'] })
export class TicketMessage {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  ticketId!: string;

  @Enum({ items: () => MessageKind, type: 'text' })
  kind!: MessageKind;

  @Property({ type: 'uuid' })
  authorId!: string;

  @Enum({ items: () => AuthorRole, type: 'text' })
  authorRole!: AuthorRole;

  @Property({ type: 'text' })
  body!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;
}
