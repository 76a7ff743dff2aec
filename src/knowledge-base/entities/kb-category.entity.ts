import { Entity, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

/** A shelf of the help centre ("Billing", "Getting started"); shared by every locale. */
@Entity({ schema: 'platform', tableName: 'kb_category' })
export class KbCategory {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'text' })
  @Unique({ name: 'kb_category_slug_key' })
  slug!: string;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text', nullable: true })
  description?: string | null;

  /** Position in the help centre, lowest first. */
  @Property({ type: 'integer' })
  sortOrder!: number;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
