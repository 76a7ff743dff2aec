import { Module } from '@nestjs/common';
import { TenancyModule } from '../tenancy/tenancy.module';
import { KbAdminController } from './kb-admin.controller';
import { KbAdminService } from './kb-admin.service';
import { KbArticleService } from './kb-article.service';
import { KbController } from './kb.controller';
import { KbReader } from './kb-reader';
import { KbSearchService } from './kb-search.service';

/**
 * The help centre: categories and articles in the platform schema, search on
 * PostgreSQL full text and trigrams, deflection signals, staff authoring.
 */
@Module({
  imports: [TenancyModule],
  controllers: [KbController, KbAdminController],
  providers: [KbArticleService, KbAdminService, KbSearchService, KbReader],
  // KbAdminService: support drafts articles from solved tickets through it.
  exports: [KbSearchService, KbAdminService],
})
export class KnowledgeBaseModule {}
