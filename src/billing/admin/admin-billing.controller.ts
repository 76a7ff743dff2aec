import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import {
  AdminCancelSubscriptionDto,
  SubscriptionDto,
} from '../subscriptions/dtos/subscription.dto';
import { SubscriptionService } from '../subscriptions/subscription.service';
import {
  AdvanceTestClockDto,
  ListPaymentFailuresQuery,
  PaymentFailurePageDto,
  TestClockDto,
} from './admin-billing.dto';
import { AdminBillingService } from './admin-billing.service';

@ApiTags('admin')
@Controller('admin/billing')
export class AdminBillingController {
  constructor(
    private readonly billing: AdminBillingService,
    private readonly subscriptions: SubscriptionService,
  ) {}

  @Get('payment-failures')
  @Can('read', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminListPaymentFailures',
    summary: 'Failed, unconfirmed and unknown-outcome charge attempts, with counts by category',
  })
  @ApiOkResponse({ type: PaymentFailurePageDto })
  paymentFailures(@Query() query: ListPaymentFailuresQuery): Promise<PaymentFailurePageDto> {
    return this.billing.paymentFailures(query);
  }

  @Post('tenants/:tenantId/subscription/cancel')
  @HttpCode(200)
  @Can('update', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminCancelSubscription',
    summary: "End an organisation's subscription now (open invoices voided; audited)",
  })
  @ApiOkResponse({ type: SubscriptionDto })
  @ApiProblems(404)
  cancel(
    @Param('tenantId', new ParseUUIDPipe()) tenantId: string,
    @Body() body: AdminCancelSubscriptionDto,
  ): Promise<SubscriptionDto> {
    return this.subscriptions.cancelNow(tenantId, body);
  }

  @Get('test-clocks/:tenantId')
  @Can('read', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminGetTestClock',
    summary: "An organisation's billing time (outside production)",
  })
  @ApiOkResponse({ type: TestClockDto })
  @ApiProblems(404)
  testClock(@Param('tenantId', new ParseUUIDPipe()) tenantId: string): Promise<TestClockDto> {
    return this.billing.testClock(tenantId);
  }

  @Post('test-clocks/:tenantId/advance')
  @HttpCode(200)
  @Can('update', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminAdvanceTestClock',
    summary:
      "Move an organisation's billing time forward and run what falls due (outside production)",
  })
  @ApiOkResponse({ type: TestClockDto })
  @ApiProblems(404, 422)
  advance(
    @Param('tenantId', new ParseUUIDPipe()) tenantId: string,
    @Body() body: AdvanceTestClockDto,
  ): Promise<TestClockDto> {
    return this.billing.advance(tenantId, body);
  }
}
