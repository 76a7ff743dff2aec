import { Controller, Get, Headers, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { PublicWithOwnCredentials } from '../access/policies';
import { CommonErrorCode, CommonException } from '../common/errors/common.exception';
import { MetricsEndpoint } from './metrics-endpoint';

/**
 * `GET /metrics` on the API port: Prometheus exposition for scrapers holding
 * METRICS_TOKEN. Not a user credential, so no user authentication runs (a
 * user guard would refuse the token as an invalid access token) and the route
 * checks its own bearer token. Hidden from the spec.
 */
@ApiExcludeController()
@PublicWithOwnCredentials()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly endpoint: MetricsEndpoint) {}

  @Get()
  async scrape(
    @Headers('authorization') authorization: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<string> {
    const access = this.endpoint.access(authorization, false);
    if (access === 'disabled') {
      throw new CommonException(
        CommonErrorCode.NotFound,
        'Metrics are not served on this port: set METRICS_TOKEN, or scrape METRICS_PORT.',
      );
    }
    if (access === 'unauthorized') {
      const error = new CommonException(
        CommonErrorCode.Unauthorized,
        'Metrics need the header Authorization: Bearer <METRICS_TOKEN>.',
      );
      error.headers['www-authenticate'] = 'Bearer realm="metrics"';
      throw error;
    }
    void reply
      .header('content-type', this.endpoint.contentType)
      .header('cache-control', 'no-store');
    return this.endpoint.render();
  }
}
