import { Entity, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { KbArticle } from './kb-article.entity';

/** One saved state of an article: every edit adds one, restoring adds one too. */
@Entity({ schema: 'platform', tableName: 'kb_revision' })
@Unique({ name: 'kb_revision_article_number_key', properties: ['article', 'number'] })
export class KbRevision {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => KbArticle, { deleteRule: 'cascade' })
  article!: KbArticle;

  @Property({ type: 'integer' })
  number!: number;

  @Property({ type: 'text' })
  title!: string;

  @Property({ type: 'text' })
  bodyMarkdown!: string;

  @Property({ type: 'text[]' })
  tags: string[] = [];

  @Property({ type: 'uuid' })
  editorId!: string;

  /** Set when this revision copies an older one. */
  @Property({ type: 'integer', nullable: true })
  restoredFrom?: number | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;
}
