import { Entity, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { KbArticle } from './kb-article.entity';

/** "This answered my question": a ticket that was not raised. */
@Entity({ schema: 'platform', tableName: 'kb_deflection' })
@Index({ name: 'kb_deflection_article_id_idx', properties: ['article'] })
export class KbDeflection {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => KbArticle, { deleteRule: 'cascade' })
  article!: KbArticle;

  /** The caller's tenant when signed in with one; null for anonymous callers. */
  @Property({ type: 'uuid', nullable: true })
  tenantId?: string | null;

  @Property({ type: 'uuid', nullable: true })
  userId?: string | null;

  /** The search or ticket subject the article answered. */
  @Property({ type: 'text' })
  query!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;
}
