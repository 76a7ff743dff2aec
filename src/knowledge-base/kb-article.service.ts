import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../common/clock';
import { TenantMilestoneService } from '../tenancy/onboarding/tenant-milestone.service';
import { KbArticleDto, KbDeflectionResultDto, KbVoteResultDto } from './dtos/kb-article.dto';
import { KbCategoryListDto } from './dtos/kb-category.dto';
import { KbSearchResultDto } from './dtos/kb-search.dto';
import { KbArticle, KbArticleStatus } from './entities/kb-article.entity';
import { KbCategory } from './entities/kb-category.entity';
import { KbDeflection } from './entities/kb-deflection.entity';
import { toArticleDto, toCategoryDto } from './kb-mappers';
import { KbReader, KbReaderContext } from './kb-reader';
import { KbSearchService } from './kb-search.service';
import { anyWordQuery } from './search-query';
import { textArray } from './sql';
import { KnowledgeBaseErrorCode, KnowledgeBaseException } from './knowledge-base.exception';

/** Articles offered for a ticket's draft subject. */
export const DEFLECT_LIMIT = 5;

/**
 * The help centre as readers see it: only published articles the caller may
 * read exist here. Anything else answers exactly like an article that does
 * not exist, so the routes reveal nothing about drafts or internal articles.
 */
@Injectable()
export class KbArticleService {
  constructor(
    private readonly em: EntityManager,
    private readonly reader: KbReader,
    private readonly searcher: KbSearchService,
    private readonly clock: Clock,
    private readonly milestones: TenantMilestoneService,
  ) {}

  async search(
    query: string,
    locale: string,
    limit: number,
    offset: number,
  ): Promise<KbSearchResultDto> {
    const reader = this.reader.current();
    await this.noteVisit(reader);
    return this.searcher.search({
      query,
      locale,
      visibilities: reader.visibilities,
      limit,
      offset,
    });
  }

  /**
   * A draft subject is a sentence, not a query: any of its words may match
   * (`or`), and articles matching more of them rank higher.
   */
  deflect(subject: string, locale: string): Promise<KbSearchResultDto> {
    return this.search(anyWordQuery(subject) || subject, locale, DEFLECT_LIMIT, 0);
  }

  async categories(locale: string | undefined): Promise<KbCategoryListDto> {
    const em = this.em.fork();
    const reader = this.reader.current();
    const { visibilities } = reader;
    await this.noteVisit(reader);
    const categories = await em.find(
      KbCategory,
      {},
      { orderBy: { sortOrder: 'asc', name: 'asc' } },
    );
    const counts = await em.execute<{ category_id: string; count: string }[]>(
      `select category_id, count(*) as count from platform.kb_article
       where status = 'published' and visibility = any(?::text[])
         and (?::text is null or locale = ?::text)
       group by category_id`,
      [textArray(visibilities), locale ?? null, locale ?? null],
    );
    const byCategory = new Map(counts.map((row) => [row.category_id, Number(row.count)]));
    // A category with nothing the caller may read is not shown: its name could
    // describe internal material, and an empty shelf helps no one.
    return {
      items: categories
        .filter((c) => byCategory.has(c.id))
        .map((c) => toCategoryDto(c, byCategory.get(c.id) ?? 0)),
    };
  }

  /** One readable article; counts a view. */
  async getBySlug(slug: string, locale: string): Promise<KbArticleDto> {
    const em = this.em.fork();
    const reader = this.reader.current();
    await this.noteVisit(reader);
    const article = await em.findOne(
      KbArticle,
      {
        slug,
        locale,
        status: KbArticleStatus.Published,
        visibility: { $in: reader.visibilities },
      },
      { populate: ['category'] },
    );
    if (!article) throw notFound(`${locale}/${slug}`);
    const [row] = await em.execute<{ view_count: number }[]>(
      'update platform.kb_article set view_count = view_count + 1 where id = ? returning view_count',
      [article.id],
    );
    return { ...toArticleDto(article), viewCount: row?.view_count ?? article.viewCount + 1 };
  }

  async vote(id: string, helpful: boolean): Promise<KbVoteResultDto> {
    const column = helpful ? 'helpful_count' : 'not_helpful_count';
    const [row] = await this.em
      .fork()
      .execute<{ helpful_count: number; not_helpful_count: number }[]>(
        `update platform.kb_article set ${column} = ${column} + 1
       where id = ? and status = 'published' and visibility = any(?::text[])
       returning helpful_count, not_helpful_count`,
        [id, textArray(this.reader.current().visibilities)],
      );
    if (!row) throw notFound(id);
    return { helpfulCount: row.helpful_count, notHelpfulCount: row.not_helpful_count };
  }

  /** "This answered my question": one deflected ticket, with who said so when known. */
  async deflected(id: string, query: string): Promise<KbDeflectionResultDto> {
    const reader = this.reader.current();
    return this.em.fork().transactional(async (em) => {
      const [row] = await em.execute<{ deflection_count: number }[]>(
        `update platform.kb_article set deflection_count = deflection_count + 1
         where id = ? and status = 'published' and visibility = any(?::text[])
         returning deflection_count`,
        [id, textArray(reader.visibilities)],
      );
      if (!row) throw notFound(id);
      const deflection = em.create(KbDeflection, {
        article: em.getReference(KbArticle, id),
        tenantId: reader.tenantId,
        userId: reader.userId,
        query,
        createdAt: this.clock.now(),
      });
      await em.flush();
      return { id: deflection.id, deflectionCount: row.deflection_count };
    });
  }

  /**
   * A member reading the help centre for their organisation: its onboarding
   * checklist's first KB visit (written once; later reads cost a map lookup).
   */
  private async noteVisit(reader: KbReaderContext): Promise<void> {
    if (reader.userId && reader.tenantId)
      await this.milestones.memberVisitedKb(reader.tenantId, reader.userId);
  }
}

function notFound(what: string): KnowledgeBaseException {
  return new KnowledgeBaseException(KnowledgeBaseErrorCode.ArticleNotFound, `No article ${what}.`);
}
