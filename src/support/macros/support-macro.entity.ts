import { ArrayType, Entity, Enum, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { TicketPriority, TicketStatus } from '../tickets/ticket-status';

/**
 * A canned response of the operator's agents: a reply template and the field
 * changes that go with it. Shared by every tenant, so it lives in `platform`
 * and never holds a tenant's words.
 */
@Entity({ schema: 'platform', tableName: 'support_macro' })
export class SupportMacro {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'text' })
  @Unique({ name: 'support_macro_name_key' })
  name!: string;

  /** The reply, with `{{placeholder}}`s filled when applied. */
  @Property({ type: 'text' })
  body!: string;

  @Enum({ items: () => TicketStatus, type: 'text', nullable: true })
  setStatus?: TicketStatus | null;

  @Enum({ items: () => TicketPriority, type: 'text', nullable: true })
  setPriority?: TicketPriority | null;

  /** Tags added to the ticket's own (none removed). */
  @Property({ type: ArrayType })
  addTags: string[] = [];

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
