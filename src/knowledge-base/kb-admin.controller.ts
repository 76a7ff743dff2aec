import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseIntPipe,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Can } from '../access/policies';
import { ApiProblems } from '../common/http/api-problem';
import { PageQuery } from '../common/http/pagination';
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
import { KbAdminService } from './kb-admin.service';

const AUTHORS = 'Platform staff (admins and support); recorded in the platform audit log.';
const ADMINS = 'Platform admins; recorded in the platform audit log.';

@ApiTags('knowledge-base')
@Controller('admin/kb')
export class KbAdminController {
  constructor(private readonly kb: KbAdminService) {}

  @Get('categories')
  @Can('read', 'KbCategory')
  @ApiOperation({
    operationId: 'adminListKbCategories',
    summary: 'Every category with its number of articles, whatever their status (platform staff)',
  })
  @ApiOkResponse({ type: KbCategoryListDto })
  listCategories(): Promise<KbCategoryListDto> {
    return this.kb.listCategories();
  }

  @Post('categories')
  @Can('create', 'KbCategory')
  @ApiOperation({
    operationId: 'adminCreateKbCategory',
    summary: 'Create a category',
    description: ADMINS,
  })
  @ApiCreatedResponse({ type: KbCategoryDto })
  @ApiProblems(400, 409)
  createCategory(@Body() body: CreateKbCategoryDto): Promise<KbCategoryDto> {
    return this.kb.createCategory(body);
  }

  @Patch('categories/:id')
  @Can('update', 'KbCategory')
  @ApiOperation({
    operationId: 'adminUpdateKbCategory',
    summary: 'Rename, re-slug, describe or reorder a category',
    description: `${ADMINS} Fields left out keep their value.`,
  })
  @ApiOkResponse({ type: KbCategoryDto })
  @ApiProblems(400, 404, 409)
  updateCategory(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: UpdateKbCategoryDto,
  ): Promise<KbCategoryDto> {
    return this.kb.updateCategory(id, body);
  }

  @Delete('categories/:id')
  @HttpCode(204)
  @Can('delete', 'KbCategory')
  @ApiOperation({
    operationId: 'adminDeleteKbCategory',
    summary: 'Delete an empty category',
    description: `${ADMINS} A category that still holds articles (archived ones included) is refused with 409.`,
  })
  @ApiNoContentResponse({ description: 'Deleted.' })
  @ApiProblems(400, 404, 409)
  deleteCategory(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    return this.kb.deleteCategory(id);
  }

  @Get('articles')
  @Can('read', 'KbArticle')
  @ApiOperation({
    operationId: 'adminListKbArticles',
    summary: 'Articles in every status, newest first (platform staff)',
  })
  @ApiOkResponse({ type: AdminKbArticlePageDto })
  @ApiProblems(400)
  listArticles(@Query() query: AdminKbArticleQuery): Promise<AdminKbArticlePageDto> {
    return this.kb.listArticles(query);
  }

  @Get('articles/:id')
  @Can('read', 'KbArticle')
  @ApiOperation({
    operationId: 'adminGetKbArticle',
    summary: 'One article with its Markdown source, in any status (platform staff)',
  })
  @ApiOkResponse({ type: AdminKbArticleDto })
  @ApiProblems(400, 404)
  getArticle(@Param('id', new ParseUUIDPipe()) id: string): Promise<AdminKbArticleDto> {
    return this.kb.getArticle(id);
  }

  @Post('articles')
  @Can('create', 'KbArticle')
  @ApiOperation({
    operationId: 'adminCreateKbArticle',
    summary: 'Write a draft article (revision 1)',
    description: `${AUTHORS} The slug defaults to one made from the title; it is unique per locale.`,
  })
  @ApiCreatedResponse({ type: AdminKbArticleDto })
  @ApiProblems(400, 404, 409, 422)
  createArticle(@Body() body: CreateKbArticleDto): Promise<AdminKbArticleDto> {
    return this.kb.createArticle(body);
  }

  @Patch('articles/:id')
  @Can('update', 'KbArticle')
  @ApiOperation({
    operationId: 'adminUpdateKbArticle',
    summary: 'Edit an article; a change of title, body or tags adds a revision',
    description: `${AUTHORS} Fields left out keep their value. A published article stays published.`,
  })
  @ApiOkResponse({ type: AdminKbArticleDto })
  @ApiProblems(400, 404, 409)
  updateArticle(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: UpdateKbArticleDto,
  ): Promise<AdminKbArticleDto> {
    return this.kb.updateArticle(id, body);
  }

  @Post('articles/:id/publish')
  @HttpCode(200)
  @Can('update', 'KbArticle')
  @ApiOperation({
    operationId: 'adminPublishKbArticle',
    summary: 'Publish an article (drafts and archived articles alike)',
    description: `${AUTHORS} Publishing a published article changes nothing.`,
  })
  @ApiOkResponse({ type: AdminKbArticleDto })
  @ApiProblems(400, 404)
  publish(@Param('id', new ParseUUIDPipe()) id: string): Promise<AdminKbArticleDto> {
    return this.kb.publishArticle(id);
  }

  @Post('articles/:id/archive')
  @HttpCode(200)
  @Can('update', 'KbArticle')
  @ApiOperation({
    operationId: 'adminArchiveKbArticle',
    summary: 'Archive an article: off the help centre and out of search',
    description: `${AUTHORS} Archiving an archived article changes nothing; publishing brings it back.`,
  })
  @ApiOkResponse({ type: AdminKbArticleDto })
  @ApiProblems(400, 404)
  archive(@Param('id', new ParseUUIDPipe()) id: string): Promise<AdminKbArticleDto> {
    return this.kb.archiveArticle(id);
  }

  @Get('articles/:id/revisions')
  @Can('read', 'KbArticle')
  @ApiOperation({
    operationId: 'adminListKbArticleRevisions',
    summary: "An article's revisions, newest first (platform staff)",
  })
  @ApiOkResponse({ type: KbRevisionListDto })
  @ApiProblems(400, 404)
  revisions(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query() query: PageQuery,
  ): Promise<KbRevisionListDto> {
    return this.kb.listRevisions(id, query);
  }

  @Post('articles/:id/revisions/:number/restore')
  @HttpCode(200)
  @Can('update', 'KbArticle')
  @ApiOperation({
    operationId: 'adminRestoreKbArticleRevision',
    summary: 'Restore an old revision: its title, body and tags become a new revision',
    description: `${AUTHORS} History is never rewritten.`,
  })
  @ApiOkResponse({ type: AdminKbArticleDto })
  @ApiProblems(400, 404)
  restore(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('number', new ParseIntPipe()) number: number,
  ): Promise<AdminKbArticleDto> {
    return this.kb.restoreRevision(id, number);
  }
}
