import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { MAX_RANGE_DAYS } from './business-metrics';
import { BusinessMetricsService } from './business-metrics.service';
import { BusinessMetricsDto, BusinessMetricsQuery } from './dtos/business-metrics.dto';

@ApiTags('admin')
@Controller('admin/metrics')
export class BusinessMetricsController {
  constructor(private readonly metrics: BusinessMetricsService) {}

  @Get('business')
  @Can('read', 'BusinessMetrics')
  @ApiOperation({
    operationId: 'adminGetBusinessMetrics',
    summary: 'Business success figures of a period, each beside its launch target',
    description:
      'Platform staff (admin and support). Sign-up and trial conversion, onboarding completion, ' +
      'payment success, dunning recovery, support tickets per 100 active users, MRR, ARR, ARPA and ' +
      'net revenue churn per currency (integer minor units), and the HTTP average and p95 latency ' +
      `of this process since it started. The period is whole UTC days, both ends included, at most ${MAX_RANGE_DAYS}. ` +
      'Definitions: docs/metrics/business-metrics.md.',
  })
  @ApiOkResponse({ type: BusinessMetricsDto })
  @ApiProblems(400)
  business(@Query() query: BusinessMetricsQuery): Promise<BusinessMetricsDto> {
    return this.metrics.report(query);
  }
}
