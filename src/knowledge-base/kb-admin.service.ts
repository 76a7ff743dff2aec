import { Injectable } from '@nestjs/common';
import {
  ForeignKeyConstraintViolationException,
  UniqueConstraintViolationException,
} from '@mikro-orm/core';
import { EntityManager, FilterQuery } from '@mikro-orm/postgresql';
import { ClsService } from 'nestjs-cls';
import { PageQuery, toPage } from '../common/http/pagination';
import { RequestStore } from '../common/request-store';
import { Clock } from '../common/clock';
import { AuditService } from '../tenancy/audit/audit.service';
import {
  AdminKbArticleDto,
  AdminKbArticlePageDto,
  AdminKbArticleQuery,
  CreateKbArticleDto,
  KbRevisionListDto,
  UpdateKbArticleDto,
} from './dtos/kb-article.dto';
import {
  CreateKbCategoryDto,
  KbCategoryDto,
  KbCategoryListDto,
  UpdateKbCategoryDto,
} from './dtos/kb-category.dto';
import { KbArticle, KbArticleStatus, KbVisibility } from './entities/kb-article.entity';
import { KbCategory } from './entities/kb-category.entity';
import { KbRevision } from './entities/kb-revision.entity';
import { toAdminArticleDto, toArticleSummaryDto, toCategoryDto, toRevisionDto } from './kb-mappers';
import { KnowledgeBaseErrorCode, KnowledgeBaseException } from './knowledge-base.exception';
import { renderMarkdown } from './markdown';
import { slugify } from './slug';

/**
 * Staff authoring: categories and articles. Every content edit adds a
 * revision (restoring one adds a copy), and every write is recorded in the
 * platform audit log in the same transaction.
 */
@Injectable()
export class KbAdminService {
  constructor(
    private readonly em: EntityManager,
    private readonly audit: AuditService,
    private readonly cls: ClsService<RequestStore>,
    private readonly clock: Clock,
  ) {}

  async listCategories(): Promise<KbCategoryListDto> {
    const em = this.em.fork();
    const categories = await em.find(
      KbCategory,
      {},
      { orderBy: { sortOrder: 'asc', name: 'asc' } },
    );
    const counts = await em.execute<{ category_id: string; count: string }[]>(
      'select category_id, count(*) as count from platform.kb_article group by category_id',
    );
    const byCategory = new Map(counts.map((row) => [row.category_id, Number(row.count)]));
    return { items: categories.map((c) => toCategoryDto(c, byCategory.get(c.id) ?? 0)) };
  }

  async createCategory(dto: CreateKbCategoryDto): Promise<KbCategoryDto> {
    const category = await this.write((em) => {
      const now = this.clock.now();
      const row = em.create(KbCategory, {
        slug: dto.slug,
        name: dto.name,
        description: dto.description ?? null,
        sortOrder: dto.sortOrder ?? 0,
        createdAt: now,
        updatedAt: now,
      });
      this.record(em, 'kb.category.created', {
        categoryId: row.id,
        slug: row.slug,
        name: row.name,
      });
      return Promise.resolve(row);
    });
    return toCategoryDto(category, 0);
  }

  async updateCategory(id: string, dto: UpdateKbCategoryDto): Promise<KbCategoryDto> {
    const category = await this.write(async (em) => {
      const row = await this.loadCategory(em, id);
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      const set = <K extends 'slug' | 'name' | 'description' | 'sortOrder'>(
        key: K,
        value: KbCategory[K] | undefined,
      ) => {
        if (value === undefined || row[key] === value) return;
        changes[key] = { from: row[key], to: value };
        row[key] = value;
      };
      set('slug', dto.slug);
      set('name', dto.name);
      set('description', dto.description);
      set('sortOrder', dto.sortOrder);
      if (Object.keys(changes).length > 0) {
        row.updatedAt = this.clock.now();
        this.record(em, 'kb.category.updated', { categoryId: row.id, changes });
      }
      return row;
    });
    const count = await this.em.fork().count(KbArticle, { category: category.id });
    return toCategoryDto(category, count);
  }

  async deleteCategory(id: string): Promise<void> {
    await this.write(async (em) => {
      const row = await this.loadCategory(em, id);
      const articles = await em.count(KbArticle, { category: row.id });
      if (articles > 0) throw categoryNotEmpty(articles);
      this.record(em, 'kb.category.deleted', { categoryId: row.id, slug: row.slug });
      em.remove(row);
    });
  }

  async listArticles(query: AdminKbArticleQuery): Promise<AdminKbArticlePageDto> {
    const where: FilterQuery<KbArticle> = {};
    if (query.status) where.status = query.status;
    if (query.locale) where.locale = query.locale;
    if (query.categoryId) where.category = query.categoryId;
    if (query.cursor) where.id = { $lt: query.cursor };
    const rows = await this.em
      .fork()
      .find(KbArticle, where, { orderBy: { id: 'desc' }, limit: query.limit + 1 });
    return toPage(rows, query.limit, toArticleSummaryDto);
  }

  async getArticle(id: string): Promise<AdminKbArticleDto> {
    return toAdminArticleDto(await this.loadArticle(this.em.fork(), id));
  }

  /**
   * A new draft. `origin` names the tenant's ticket it was drafted from (support's
   * "turn this answer into an article"), recorded in the same transaction.
   */
  async createArticle(
    dto: CreateKbArticleDto,
    origin?: { tenantId: string; ticketId: string },
  ): Promise<AdminKbArticleDto> {
    const editorId = this.editorId();
    const article = await this.write(async (em) => {
      const category = await this.loadCategory(em, dto.categoryId);
      const slug = dto.slug ?? slugify(dto.title);
      if (!slug) {
        throw new KnowledgeBaseException(
          KnowledgeBaseErrorCode.ArticleSlugInvalid,
          'No slug can be made from this title: send one.',
        );
      }
      const now = this.clock.now();
      const tags = dto.tags ?? [];
      const row = em.create(KbArticle, {
        category,
        title: dto.title,
        slug,
        locale: dto.locale,
        bodyMarkdown: dto.body,
        bodyHtml: renderMarkdown(dto.body),
        tags,
        visibility: dto.visibility ?? KbVisibility.Public,
        status: KbArticleStatus.Draft,
        revision: 1,
        authorId: editorId,
        createdAt: now,
        updatedAt: now,
      });
      em.create(KbRevision, {
        article: row,
        number: 1,
        title: row.title,
        bodyMarkdown: row.bodyMarkdown,
        tags,
        editorId,
        createdAt: now,
      });
      this.record(em, 'kb.article.created', {
        articleId: row.id,
        slug,
        locale: row.locale,
        title: row.title,
      });
      if (origin) {
        this.audit.recordPlatform(
          {
            action: 'kb.article.drafted_from_ticket',
            tenantId: origin.tenantId,
            data: { articleId: row.id, ticketId: origin.ticketId },
          },
          em,
        );
      }
      return row;
    });
    return toAdminArticleDto(article);
  }

  async updateArticle(id: string, dto: UpdateKbArticleDto): Promise<AdminKbArticleDto> {
    const editorId = this.editorId();
    const article = await this.write(async (em) => {
      const row = await this.loadArticle(em, id);
      const changes: Record<string, { from: unknown; to: unknown }> = {};
      if (dto.categoryId !== undefined && dto.categoryId !== row.category.id) {
        changes.categoryId = { from: row.category.id, to: dto.categoryId };
        row.category = await this.loadCategory(em, dto.categoryId);
      }
      if (dto.slug !== undefined && dto.slug !== row.slug) {
        changes.slug = { from: row.slug, to: dto.slug };
        row.slug = dto.slug;
      }
      if (dto.visibility !== undefined && dto.visibility !== row.visibility) {
        changes.visibility = { from: row.visibility, to: dto.visibility };
        row.visibility = dto.visibility;
      }
      const content = {
        title: dto.title ?? row.title,
        bodyMarkdown: dto.body ?? row.bodyMarkdown,
        tags: dto.tags ?? row.tags,
      };
      const contentChanged =
        content.title !== row.title ||
        content.bodyMarkdown !== row.bodyMarkdown ||
        !sameTags(content.tags, row.tags);
      if (contentChanged) {
        this.newRevision(em, row, content, editorId, null);
        changes.revision = { from: row.revision - 1, to: row.revision };
      }
      if (Object.keys(changes).length === 0) return row;
      row.updatedAt = this.clock.now();
      this.record(em, 'kb.article.updated', { articleId: row.id, changes });
      return row;
    });
    return toAdminArticleDto(article);
  }

  publishArticle(id: string): Promise<AdminKbArticleDto> {
    return this.setStatus(id, KbArticleStatus.Published);
  }

  archiveArticle(id: string): Promise<AdminKbArticleDto> {
    return this.setStatus(id, KbArticleStatus.Archived);
  }

  /**
   * A page of an article's revisions, newest first. An article gains one with
   * every edit, so the list is paged; the cursor is a revision id, read back
   * as its number (the order, served by `kb_revision_article_number_key`).
   */
  async listRevisions(id: string, query: PageQuery): Promise<KbRevisionListDto> {
    const em = this.em.fork();
    const article = await this.loadArticle(em, id);
    const after = query.cursor
      ? await em.findOne(KbRevision, { id: query.cursor, article }, { fields: ['number'] })
      : undefined;
    const rows = await em.find(
      KbRevision,
      // An unknown cursor (not this article's) is the end of the list.
      { article, ...(query.cursor ? { number: { $lt: after?.number ?? 0 } } : {}) },
      { orderBy: { number: 'desc' }, limit: query.limit + 1 },
    );
    return toPage(rows, query.limit, toRevisionDto);
  }

  /** Restoring never rewrites history: the old revision is copied into a new one. */
  async restoreRevision(id: string, number: number): Promise<AdminKbArticleDto> {
    const editorId = this.editorId();
    const article = await this.write(async (em) => {
      const row = await this.loadArticle(em, id);
      const old = await em.findOne(KbRevision, { article: row, number });
      if (!old) {
        throw new KnowledgeBaseException(
          KnowledgeBaseErrorCode.RevisionNotFound,
          `Article ${id} has no revision ${number}.`,
        );
      }
      const from = row.revision;
      this.newRevision(
        em,
        row,
        { title: old.title, bodyMarkdown: old.bodyMarkdown, tags: old.tags },
        editorId,
        old.number,
      );
      row.updatedAt = this.clock.now();
      this.record(em, 'kb.article.restored', {
        articleId: row.id,
        restoredFrom: old.number,
        revision: { from, to: row.revision },
      });
      return row;
    });
    return toAdminArticleDto(article);
  }

  private async setStatus(id: string, status: KbArticleStatus): Promise<AdminKbArticleDto> {
    const article = await this.write(async (em) => {
      const row = await this.loadArticle(em, id);
      if (row.status === status) return row;
      const from = row.status;
      const now = this.clock.now();
      row.status = status;
      if (status === KbArticleStatus.Published) row.publishedAt = now;
      row.updatedAt = now;
      this.record(em, `kb.article.${status}`, {
        articleId: row.id,
        status: { from, to: status },
      });
      return row;
    });
    return toAdminArticleDto(article);
  }

  private newRevision(
    em: EntityManager,
    row: KbArticle,
    content: { title: string; bodyMarkdown: string; tags: string[] },
    editorId: string,
    restoredFrom: number | null,
  ): void {
    row.title = content.title;
    row.bodyMarkdown = content.bodyMarkdown;
    row.bodyHtml = renderMarkdown(content.bodyMarkdown);
    row.tags = [...content.tags];
    row.revision += 1;
    em.create(KbRevision, {
      article: row,
      number: row.revision,
      title: row.title,
      bodyMarkdown: row.bodyMarkdown,
      tags: row.tags,
      editorId,
      restoredFrom,
      createdAt: this.clock.now(),
    });
  }

  /** One authoring change, committed whole; constraint violations become domain errors. */
  private async write<T>(work: (em: EntityManager) => Promise<T>): Promise<T> {
    try {
      return await this.em.fork().transactional(work);
    } catch (error) {
      if (error instanceof UniqueConstraintViolationException) {
        if (/kb_article_locale_slug_key/.test(error.message)) {
          throw new KnowledgeBaseException(
            KnowledgeBaseErrorCode.ArticleSlugTaken,
            'Another article in this locale already has this slug.',
            {},
            error,
          );
        }
        if (/kb_category_slug_key/.test(error.message)) {
          throw new KnowledgeBaseException(
            KnowledgeBaseErrorCode.CategorySlugTaken,
            'Another category already has this slug.',
            {},
            error,
          );
        }
      }
      // An article added to the category between our count and the delete.
      if (error instanceof ForeignKeyConstraintViolationException) throw categoryNotEmpty(null);
      throw error;
    }
  }

  private record(em: EntityManager, action: string, data: Record<string, unknown>): void {
    // The knowledge base belongs to the platform, not to a tenant.
    this.audit.recordPlatform({ action, tenantId: null, data }, em);
  }

  private editorId(): string {
    const principal = this.cls.get('principal');
    // Authoring policies are granted to platform roles only, which only users hold.
    if (principal?.kind !== 'user') throw new Error('KB authoring needs a signed-in user.');
    return principal.userId;
  }

  private async loadCategory(em: EntityManager, id: string): Promise<KbCategory> {
    const category = await em.findOne(KbCategory, { id });
    if (!category) {
      throw new KnowledgeBaseException(
        KnowledgeBaseErrorCode.CategoryNotFound,
        `No category ${id}.`,
      );
    }
    return category;
  }

  private async loadArticle(em: EntityManager, id: string): Promise<KbArticle> {
    const article = await em.findOne(KbArticle, { id }, { populate: ['category'] });
    if (!article) {
      throw new KnowledgeBaseException(KnowledgeBaseErrorCode.ArticleNotFound, `No article ${id}.`);
    }
    return article;
  }
}

function sameTags(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((tag, i) => tag === b[i]);
}

function categoryNotEmpty(articles: number | null): KnowledgeBaseException {
  return new KnowledgeBaseException(
    KnowledgeBaseErrorCode.CategoryNotEmpty,
    'The category still has articles (archived ones too): move them to another category first.',
    articles === null ? {} : { articles },
  );
}
