import { DomainException } from '../common/errors/domain.exception';

export enum KnowledgeBaseErrorCode {
  ArticleNotFound = 'kb_article_not_found',
  CategoryNotFound = 'kb_category_not_found',
  RevisionNotFound = 'kb_revision_not_found',
  ArticleSlugTaken = 'kb_article_slug_taken',
  ArticleSlugInvalid = 'kb_article_slug_invalid',
  CategorySlugTaken = 'kb_category_slug_taken',
  CategoryNotEmpty = 'kb_category_not_empty',
}

export class KnowledgeBaseException extends DomainException<KnowledgeBaseErrorCode> {
  constructor(
    code: KnowledgeBaseErrorCode,
    detail: string,
    extensions?: Record<string, unknown>,
    cause?: unknown,
  ) {
    super(code, detail, extensions, cause);
  }

  get status(): number {
    switch (this.code) {
      case KnowledgeBaseErrorCode.ArticleNotFound:
      case KnowledgeBaseErrorCode.CategoryNotFound:
      case KnowledgeBaseErrorCode.RevisionNotFound:
        return 404;
      case KnowledgeBaseErrorCode.ArticleSlugTaken:
      case KnowledgeBaseErrorCode.CategorySlugTaken:
      case KnowledgeBaseErrorCode.CategoryNotEmpty:
        return 409;
      case KnowledgeBaseErrorCode.ArticleSlugInvalid:
        return 422;
    }
  }
}
