export { KbArticle, KbArticleStatus, KbVisibility } from './kb-article.entity';
export { KbCategory } from './kb-category.entity';
export { KbDeflection } from './kb-deflection.entity';
export { KbRevision } from './kb-revision.entity';
