import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { ApiConditionalGet, conditionalGet, conditionalHeaders } from '../../common/http/etag';
import { PricingDto, PricingQuery } from './dtos/pricing.dto';
import { PricingService } from './pricing.service';

/** Shared caches may keep the page a minute; revalidation with the ETag is cheap. */
const CACHE_CONTROL = 'public, max-age=60';

@ApiTags('pricing')
@Controller('pricing')
export class PricingController {
  constructor(private readonly pricing: PricingService) {}

  @Get()
  @Public()
  @ApiOperation({
    operationId: 'getPricing',
    summary: 'The pricing page: tiers, per-seat prices and the feature comparison matrix',
    description:
      'Public. Active tiers in display order with their monthly and yearly per-seat prices ' +
      '(minor units) by currency, the yearly saving, and the feature comparison matrix. ' +
      'Send the `ETag` back in `If-None-Match` to get `304 Not Modified` while it is current.',
  })
  @ApiOkResponse({ type: PricingDto, headers: conditionalHeaders(CACHE_CONTROL) })
  @ApiConditionalGet(CACHE_CONTROL)
  @ApiProblems(400)
  async get(
    @Query() query: PricingQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PricingDto | undefined> {
    const page = await this.pricing.page(query.currency);
    return conditionalGet(request, reply, page.body, page.etag, CACHE_CONTROL);
  }
}
