import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can, OpenWhenSuspended } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { TenantScoped } from '../../tenancy/tenant-scoped.decorator';
import {
  BillingOverviewDto,
  CancelSubscriptionDto,
  ChangePreviewDto,
  ChangeSubscriptionDto,
  CreateSubscriptionDto,
  SubscriptionDto,
  SubscriptionResultDto,
} from './dtos/subscription.dto';
import { SubscriptionService } from './subscription.service';

@ApiTags('billing')
@TenantScoped()
@OpenWhenSuspended()
@Controller('billing/subscription')
export class SubscriptionController {
  constructor(private readonly subscriptions: SubscriptionService) {}

  @Get()
  @Can('read', 'Subscription')
  @ApiOperation({
    operationId: 'getBillingOverview',
    summary: "The organisation's plan, entitlements, subscription and account credit",
  })
  @ApiOkResponse({ type: BillingOverviewDto })
  overview(): Promise<BillingOverviewDto> {
    return this.subscriptions.overview();
  }

  @Post()
  @Can('create', 'Subscription')
  @ApiOperation({
    operationId: 'createSubscription',
    summary: 'Subscribe to a paid plan',
    description:
      'Charges the first period now (off-session, with the default or given card), or starts the free trial. A decline answers 402 and leaves no subscription; a card that needs 3-D Secure leaves it `incomplete` with `payment.status = requires_action` until confirmed.',
  })
  @ApiCreatedResponse({ type: SubscriptionResultDto })
  @ApiProblems(402, 409, 422, 503)
  create(@Body() body: CreateSubscriptionDto): Promise<SubscriptionResultDto> {
    return this.subscriptions.subscribe(body);
  }

  @Post('preview-change')
  @HttpCode(200)
  @Can('read', 'Subscription')
  @ApiOperation({
    operationId: 'previewSubscriptionChange',
    summary: 'What a plan or seat change would cost, line by line, without making it',
  })
  @ApiOkResponse({ type: ChangePreviewDto })
  @ApiProblems(404, 409, 422)
  preview(@Body() body: ChangeSubscriptionDto): Promise<ChangePreviewDto> {
    return this.subscriptions.preview(body);
  }

  @Post('change')
  @HttpCode(200)
  @Can('update', 'Subscription')
  @ApiOperation({
    operationId: 'changeSubscription',
    summary: 'Change plan, interval or seats, with proration',
    description:
      'An upgrade is charged now for the rest of the period (proration credit and debit as their own invoice lines); a downgrade is credited to the next invoice; a move to a longer interval starts a new period now; a move to a shorter one starts at renewal. If the charge fails, nothing changes (402).',
  })
  @ApiOkResponse({ type: SubscriptionResultDto })
  @ApiProblems(402, 404, 409, 422, 503)
  change(@Body() body: ChangeSubscriptionDto): Promise<SubscriptionResultDto> {
    return this.subscriptions.change(body);
  }

  @Post('cancel')
  @HttpCode(200)
  @Can('update', 'Subscription')
  @ApiOperation({
    operationId: 'cancelSubscription',
    summary: 'Cancel at the end of the paid period, with a reason',
  })
  @ApiOkResponse({ type: SubscriptionDto })
  @ApiProblems(404, 409)
  cancel(@Body() body: CancelSubscriptionDto): Promise<SubscriptionDto> {
    return this.subscriptions.cancel(body);
  }

  @Post('resume')
  @HttpCode(200)
  @Can('update', 'Subscription')
  @ApiOperation({
    operationId: 'resumeSubscription',
    summary: 'Keep a subscription that was set to cancel',
  })
  @ApiOkResponse({ type: SubscriptionDto })
  @ApiProblems(404, 409)
  resume(): Promise<SubscriptionDto> {
    return this.subscriptions.resume();
  }
}
