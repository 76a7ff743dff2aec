import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Req,
  Res,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../access/policies';
import { ApiProblems } from '../common/http/api-problem';
import {
  ApiConditionalGet,
  conditionalGet,
  conditionalHeaders,
  strongEtag,
  weakEtag,
} from '../common/http/etag';
import {
  CreateKbDeflectionDto,
  KbArticleDto,
  KbArticleQuery,
  KbDeflectionResultDto,
  KbVoteDto,
  KbVoteResultDto,
} from './dtos/kb-article.dto';
import { KbCategoryListDto, KbCategoryQuery } from './dtos/kb-category.dto';
import { KbDeflectQuery, KbSearchQuery, KbSearchResultDto } from './dtos/kb-search.dto';
import { KbArticleService } from './kb-article.service';

/**
 * What a caller may read depends on who they are (anonymous, signed in,
 * staff): shared caches must not keep it, and browsers revalidate each time
 * with the ETag (a 304 spares the body, not the query).
 */
const CACHE_CONTROL = 'private, no-cache';
const CACHE_HEADERS = conditionalHeaders(CACHE_CONTROL);

const READERS =
  'Public: anonymous callers read `public` articles, signed-in callers `public` and ' +
  '`signed_in` ones, platform staff every published article.';

@ApiTags('knowledge-base')
@Controller('kb')
export class KbController {
  constructor(private readonly articles: KbArticleService) {}

  @Get('search')
  @Public()
  @ApiOperation({
    operationId: 'searchKbArticles',
    summary: 'Search published articles (full text, then similar titles for typos)',
    description:
      `${READERS} Words match accent-insensitively and by stem; a title match ranks above a ` +
      'tag match, which ranks above a body match. When no word matches, titles that look like ' +
      'the query are returned (`match: similar_titles`). Pages stop at offset 200.',
  })
  @ApiOkResponse({ type: KbSearchResultDto, headers: CACHE_HEADERS })
  @ApiConditionalGet(CACHE_CONTROL)
  @ApiProblems(400)
  async search(
    @Query() query: KbSearchQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KbSearchResultDto | undefined> {
    const body = await this.articles.search(query.q, query.locale, query.limit, query.offset);
    return conditionalGet(request, reply, body, strongEtag(body), CACHE_CONTROL);
  }

  @Get('deflect')
  @Public()
  @ApiOperation({
    operationId: 'deflectKbTicket',
    summary: "The articles that best answer a ticket's draft subject",
    description: `${READERS} At most five, best first; shown before the ticket is raised.`,
  })
  @ApiOkResponse({ type: KbSearchResultDto })
  @ApiProblems(400)
  deflect(@Query() query: KbDeflectQuery): Promise<KbSearchResultDto> {
    return this.articles.deflect(query.subject, query.locale);
  }

  @Get('categories')
  @Public()
  @ApiOperation({
    operationId: 'listKbCategories',
    summary: 'Help-centre categories with the number of articles the caller may read',
    description: `${READERS} Categories with nothing the caller may read (in the locale, when given) are left out.`,
  })
  @ApiOkResponse({ type: KbCategoryListDto, headers: CACHE_HEADERS })
  @ApiConditionalGet(CACHE_CONTROL)
  @ApiProblems(400)
  async categories(
    @Query() query: KbCategoryQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KbCategoryListDto | undefined> {
    const body = await this.articles.categories(query.locale);
    return conditionalGet(request, reply, body, strongEtag(body), CACHE_CONTROL);
  }

  @Get('articles/:slug')
  @Public()
  @ApiOperation({
    operationId: 'getKbArticle',
    summary: 'Read a published article by slug and locale (counts a view)',
    description:
      `${READERS} Drafts, archived articles and those the caller may not read are 404, like unknown slugs. ` +
      'The `ETag` is weak: it follows the article, not its view and vote counts, so a reader ' +
      'revalidating an unchanged article gets 304 (the view is still counted).',
  })
  @ApiOkResponse({ type: KbArticleDto, headers: CACHE_HEADERS })
  @ApiConditionalGet(CACHE_CONTROL)
  @ApiProblems(400, 404)
  async get(
    @Param('slug') slug: string,
    @Query() query: KbArticleQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<KbArticleDto | undefined> {
    const body = await this.articles.getBySlug(slug, query.locale);
    // Every read moves the view count: a tag over it would never match.
    const { viewCount: _views, helpfulCount: _up, notHelpfulCount: _down, ...article } = body;
    return conditionalGet(request, reply, body, weakEtag(article), CACHE_CONTROL);
  }

  @Post('articles/:id/votes')
  @HttpCode(200)
  @Public()
  @ApiOperation({
    operationId: 'voteKbArticle',
    summary: 'Say whether an article helped',
    description: `${READERS} Returns the article's updated counts.`,
  })
  @ApiOkResponse({ type: KbVoteResultDto })
  @ApiProblems(400, 404)
  vote(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: KbVoteDto,
  ): Promise<KbVoteResultDto> {
    return this.articles.vote(id, body.helpful);
  }

  @Post('articles/:id/deflections')
  @Public()
  @ApiOperation({
    operationId: 'createKbDeflection',
    summary: '"This answered my question": count a ticket the article made unnecessary',
    description: `${READERS} Records the query, and the caller's user and organisation when signed in.`,
  })
  @ApiCreatedResponse({ type: KbDeflectionResultDto })
  @ApiProblems(400, 404)
  deflected(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: CreateKbDeflectionDto,
  ): Promise<KbDeflectionResultDto> {
    return this.articles.deflected(id, body.query);
  }
}
