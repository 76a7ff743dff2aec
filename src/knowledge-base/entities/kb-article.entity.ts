import {
  Entity,
  Enum,
  Index,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  Unique,
} from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { KbCategory } from './kb-category.entity';

export enum KbArticleStatus {
  Draft = 'draft',
  Published = 'published',
  Archived = 'archived',
}

/** Who may read a published article. */
export enum KbVisibility {
  /** Anyone, signed in or not. */
  Public = 'public',
  /** Any signed-in user. */
  SignedIn = 'signed_in',
  /** Platform staff only. */
  Internal = 'internal',
}

/**
 * A help-centre article. `searchVector`, `titleVector` and `titlePlain` are
 * written by the `kb_article_search` trigger (see the knowledge_base
 * migration) from the unaccented title (weight A), tags (B) and body (C); the
 * ORM never writes them.
 */
@Entity({ schema: 'platform', tableName: 'kb_article' })
@Unique({ name: 'kb_article_locale_slug_key', properties: ['locale', 'slug'] })
// The admin article list is newest first (id desc), by status or by category.
@Index({ name: 'kb_article_category_id_idx', properties: ['category', 'id'] })
@Index({ name: 'kb_article_status_id_idx', properties: ['status', 'id'] })
@Index({
  name: 'kb_article_search_idx',
  expression:
    'create index "kb_article_search_idx" on "platform"."kb_article" using gin ("search_vector")',
})
@Index({
  name: 'kb_article_title_search_idx',
  expression:
    'create index "kb_article_title_search_idx" on "platform"."kb_article" using gin ("title_vector")',
})
@Index({
  name: 'kb_article_title_trgm_idx',
  expression:
    'create index "kb_article_title_trgm_idx" on "platform"."kb_article" using gin ("title_plain" public.gin_trgm_ops)',
})
export class KbArticle {
  [OptionalProps]?:
    | 'status'
    | 'visibility'
    | 'tags'
    | 'viewCount'
    | 'helpfulCount'
    | 'notHelpfulCount'
    | 'deflectionCount'
    | 'revision';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => KbCategory, { deleteRule: 'restrict' })
  category!: KbCategory;

  @Property({ type: 'text' })
  title!: string;

  /** Unique within a locale: the same slug names one article's translations. */
  @Property({ type: 'text' })
  slug!: string;

  /** BCP 47 language tag, lower case (`en`, `fr`, `pt-br`). */
  @Property({ type: 'text' })
  locale!: string;

  @Property({ type: 'text' })
  bodyMarkdown!: string;

  /** Rendered from `bodyMarkdown` on every write by the safe renderer. */
  @Property({ type: 'text' })
  bodyHtml!: string;

  @Property({ type: 'text[]' })
  tags: string[] = [];

  @Enum({ items: () => KbArticleStatus, type: 'text' })
  status: KbArticleStatus = KbArticleStatus.Draft;

  @Enum({ items: () => KbVisibility, type: 'text' })
  visibility: KbVisibility = KbVisibility.Public;

  @Property({ type: 'integer' })
  viewCount: number = 0;

  @Property({ type: 'integer' })
  helpfulCount: number = 0;

  @Property({ type: 'integer' })
  notHelpfulCount: number = 0;

  /** "This answered my question" signals: tickets not raised. */
  @Property({ type: 'integer' })
  deflectionCount: number = 0;

  /** Number of the latest revision. */
  @Property({ type: 'integer' })
  revision: number = 1;

  @Property({ type: 'uuid' })
  authorId!: string;

  @Property({ type: 'datetime', nullable: true })
  publishedAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;

  /** Unaccented, lower-cased title for the trigram index; written by the trigger. */
  @Property({ type: 'text', nullable: true, hidden: true, lazy: true })
  titlePlain?: string | null;

  /** Title, tags and body, weighted A, B, C; written by the trigger, read only in SQL. */
  @Property({ type: 'tsvector', nullable: true, hidden: true, lazy: true })
  searchVector?: string | null;

  /**
   * The title alone, with its own index: search finds title matches without
   * rechecking weights in every body that matches (see RANK_CANDIDATES).
   */
  @Property({ type: 'tsvector', nullable: true, hidden: true, lazy: true })
  titleVector?: string | null;
}
