import { Controller, Get, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { PricingDto, PricingQuery } from './dtos/pricing.dto';
import { ifNoneMatchHits } from './pricing';
import { PricingService } from './pricing.service';

/** Shared caches may keep the page a minute; revalidation with the ETag is cheap. */
const CACHE_CONTROL = 'public, max-age=60';

const CACHE_HEADERS = {
  ETag: { description: 'Strong entity tag of the body.', schema: { type: 'string' } },
  'Cache-Control': { description: CACHE_CONTROL, schema: { type: 'string' } },
};

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
  @ApiHeader({
    name: 'If-None-Match',
    required: false,
    description: 'An `ETag` from an earlier response: 304 without a body while it is current.',
  })
  @ApiOkResponse({ type: PricingDto, headers: CACHE_HEADERS })
  @ApiResponse({
    status: 304,
    description: 'Not Modified: `If-None-Match` names the current `ETag`. No body.',
    headers: CACHE_HEADERS,
  })
  @ApiProblems(400)
  async get(
    @Query() query: PricingQuery,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<PricingDto | undefined> {
    const page = await this.pricing.page(query.currency);
    // A 304 carries the headers a 200 would (RFC 9110 §15.4.5).
    void reply.header('etag', page.etag).header('cache-control', CACHE_CONTROL);
    if (ifNoneMatchHits(request.headers['if-none-match'], page.etag)) {
      // Nest keeps a status set before returning; Fastify sends no body with a 304.
      void reply.status(304);
      return undefined;
    }
    return page.body;
  }
}
