import {
  AdminKbArticleDto,
  AdminKbArticleSummaryDto,
  KbArticleDto,
  KbRevisionDto,
} from './dtos/kb-article.dto';
import { KbCategoryDto } from './dtos/kb-category.dto';
import { KbArticle } from './entities/kb-article.entity';
import { KbCategory } from './entities/kb-category.entity';
import { KbRevision } from './entities/kb-revision.entity';

export function toArticleDto(article: KbArticle): KbArticleDto {
  return {
    id: article.id,
    slug: article.slug,
    locale: article.locale,
    title: article.title,
    bodyHtml: article.bodyHtml,
    tags: article.tags,
    category: {
      id: article.category.id,
      slug: article.category.slug,
      name: article.category.name,
    },
    visibility: article.visibility,
    viewCount: article.viewCount,
    helpfulCount: article.helpfulCount,
    notHelpfulCount: article.notHelpfulCount,
    publishedAt: article.publishedAt?.toISOString() ?? null,
    updatedAt: article.updatedAt.toISOString(),
  };
}

export function toAdminArticleDto(article: KbArticle): AdminKbArticleDto {
  return {
    ...toArticleDto(article),
    bodyMarkdown: article.bodyMarkdown,
    status: article.status,
    revision: article.revision,
    deflectionCount: article.deflectionCount,
    authorId: article.authorId,
    createdAt: article.createdAt.toISOString(),
  };
}

export function toArticleSummaryDto(article: KbArticle): AdminKbArticleSummaryDto {
  return {
    id: article.id,
    slug: article.slug,
    locale: article.locale,
    title: article.title,
    status: article.status,
    visibility: article.visibility,
    categoryId: article.category.id,
    revision: article.revision,
    updatedAt: article.updatedAt.toISOString(),
  };
}

export function toCategoryDto(category: KbCategory, articleCount: number): KbCategoryDto {
  return {
    id: category.id,
    slug: category.slug,
    name: category.name,
    description: category.description ?? null,
    sortOrder: category.sortOrder,
    articleCount,
  };
}

export function toRevisionDto(revision: KbRevision): KbRevisionDto {
  return {
    number: revision.number,
    title: revision.title,
    bodyMarkdown: revision.bodyMarkdown,
    tags: revision.tags,
    editorId: revision.editorId,
    restoredFrom: revision.restoredFrom ?? null,
    createdAt: revision.createdAt.toISOString(),
  };
}
