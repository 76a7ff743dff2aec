import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import {
  CreateRecoveryPolicyDto,
  DunningCampaignDto,
  DunningQueuePageDto,
  ListDunningQuery,
  MarkUncollectibleDto,
  PlanRecoveryPolicyDto,
  RecoveryFiguresDto,
  RecoveryFiguresQuery,
  RecoveryPolicyDto,
  RecoveryPolicyListDto,
  RetryCampaignResultDto,
  SetPlanRecoveryPolicyDto,
  UpdateRecoveryPolicyDto,
} from './admin-recovery.dto';
import { AdminRecoveryService } from './admin-recovery.service';

const CAMPAIGN_WRITE =
  'Platform admin; recorded in the platform audit log in the same transaction as the change.';
const POLICY_WRITE =
  'Platform admin; audited. Running campaigns carry a copy of the rules they started with, ' +
  'so editing or swapping a policy never changes them: it applies to campaigns that start afterwards.';

@ApiTags('admin')
@Controller('admin/billing')
export class AdminRecoveryController {
  constructor(private readonly recovery: AdminRecoveryService) {}

  @Get('dunning')
  @Can('read', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminListDunningCampaigns',
    summary: 'The dunning queue: running recovery campaigns, soonest next step first',
    description:
      'Active and paused campaigns by default (`status` shows ended ones). Amounts are what the ' +
      'invoice asks for now. Paused campaigns have no next step time and come last.',
  })
  @ApiOkResponse({ type: DunningQueuePageDto })
  @ApiProblems(400)
  queue(@Query() query: ListDunningQuery): Promise<DunningQueuePageDto> {
    return this.recovery.queue(query);
  }

  @Get('recovery')
  @Can('read', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminGetRecoveryFigures',
    summary: 'Recovery figures over the campaigns started in [from, to)',
    description:
      'Per currency: amount failed, amount recovered, recovery rate and how campaigns ended; ' +
      'by first failure category; recovered campaigns by the last step that had run. ' +
      'Default window: the last 30 days.',
  })
  @ApiOkResponse({ type: RecoveryFiguresDto })
  @ApiProblems(400, 422)
  figures(@Query() query: RecoveryFiguresQuery): Promise<RecoveryFiguresDto> {
    return this.recovery.figures(query);
  }

  @Post('dunning/:id/retry')
  @HttpCode(200)
  @Can('update', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminRetryDunningCampaign',
    summary: "Charge a running campaign's invoice now (platform admin; audited)",
    description:
      `${CAMPAIGN_WRITE} One attempt with the default card, whatever the retry schedule says; ` +
      'a payment recovers the campaign, a failure is recorded on it and keeps its schedule. ' +
      'The answer says what the attempt did (a decline is a 200 with outcome `failed`).',
  })
  @ApiOkResponse({ type: RetryCampaignResultDto })
  @ApiProblems(400, 404, 409)
  retry(@Param('id', new ParseUUIDPipe()) id: string): Promise<RetryCampaignResultDto> {
    return this.recovery.retry(id);
  }

  @Post('dunning/:id/pause')
  @HttpCode(200)
  @Can('update', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminPauseDunningCampaign',
    summary:
      'Pause a campaign: no step and no automatic retry until resumed (platform admin; audited)',
    description: `${CAMPAIGN_WRITE} A suspended organisation stays suspended while paused.`,
  })
  @ApiOkResponse({ type: DunningCampaignDto })
  @ApiProblems(400, 404, 409)
  pause(@Param('id', new ParseUUIDPipe()) id: string): Promise<DunningCampaignDto> {
    return this.recovery.pause(id);
  }

  @Post('dunning/:id/resume')
  @HttpCode(200)
  @Can('update', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminResumeDunningCampaign',
    summary:
      'Resume a paused campaign, its schedule moved on by the time paused (platform admin; audited)',
    description: `${CAMPAIGN_WRITE} Steps and retries keep their spacing from where they stopped.`,
  })
  @ApiOkResponse({ type: DunningCampaignDto })
  @ApiProblems(400, 404, 409)
  resume(@Param('id', new ParseUUIDPipe()) id: string): Promise<DunningCampaignDto> {
    return this.recovery.resume(id);
  }

  @Post('dunning/:id/mark-uncollectible')
  @HttpCode(200)
  @Can('update', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminMarkDunningInvoiceUncollectible',
    summary: "Write a running campaign's invoice off as uncollectible (platform admin; audited)",
    description:
      `${CAMPAIGN_WRITE} The campaign ends (written_off) without canceling the subscription; ` +
      'an organisation suspended for this invoice alone can write again at once.',
  })
  @ApiOkResponse({ type: DunningCampaignDto })
  @ApiProblems(400, 404, 409)
  markUncollectible(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: MarkUncollectibleDto,
  ): Promise<DunningCampaignDto> {
    return this.recovery.markUncollectible(id, body);
  }

  @Get('recovery-policies')
  @Can('read', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminListRecoveryPolicies',
    summary:
      'Recovery policies (retry days and dunning steps), the default first, with their plans',
  })
  @ApiOkResponse({ type: RecoveryPolicyListDto })
  listPolicies(): Promise<RecoveryPolicyListDto> {
    return this.recovery.listPolicies();
  }

  @Get('recovery-policies/:id')
  @Can('read', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminGetRecoveryPolicy',
    summary: 'One recovery policy, with the plans that name it',
  })
  @ApiOkResponse({ type: RecoveryPolicyDto })
  @ApiProblems(400, 404)
  getPolicy(@Param('id', new ParseUUIDPipe()) id: string): Promise<RecoveryPolicyDto> {
    return this.recovery.getPolicy(id);
  }

  @Post('recovery-policies')
  @Can('update', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminCreateRecoveryPolicy',
    summary: 'Create a recovery policy (platform admin; audited)',
    description:
      `${POLICY_WRITE} A malformed body answers 400; rules that cannot run ` +
      '(days out of order, cancel not last, …) answer 422 recovery_policy_invalid with every problem listed. ' +
      'A new policy is used by no plan until one names it (adminSetPlanRecoveryPolicy) or it is made the default.',
  })
  @ApiCreatedResponse({ type: RecoveryPolicyDto })
  @ApiProblems(400, 409, 422)
  createPolicy(@Body() body: CreateRecoveryPolicyDto): Promise<RecoveryPolicyDto> {
    return this.recovery.createPolicy(body);
  }

  @Patch('recovery-policies/:id')
  @Can('update', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminUpdateRecoveryPolicy',
    summary:
      "Change a recovery policy's name or rules, or make it the default (platform admin; audited)",
    description:
      `${POLICY_WRITE} Fields left out keep their value; the rules are checked whole (422). ` +
      'Making a policy the default unsets the previous default in the same transaction.',
  })
  @ApiOkResponse({ type: RecoveryPolicyDto })
  @ApiProblems(400, 404, 422)
  updatePolicy(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: UpdateRecoveryPolicyDto,
  ): Promise<RecoveryPolicyDto> {
    return this.recovery.updatePolicy(id, body);
  }

  @Put('plans/:planId/recovery-policy')
  @Can('update', 'PlatformBilling')
  @ApiOperation({
    operationId: 'adminSetPlanRecoveryPolicy',
    summary:
      "Set a plan's recovery policy, or null for the platform default (platform admin; audited)",
    description: POLICY_WRITE,
  })
  @ApiOkResponse({ type: PlanRecoveryPolicyDto })
  @ApiProblems(400, 404)
  setPlanPolicy(
    @Param('planId', new ParseUUIDPipe()) planId: string,
    @Body() body: SetPlanRecoveryPolicyDto,
  ): Promise<PlanRecoveryPolicyDto> {
    return this.recovery.setPlanPolicy(planId, body);
  }
}
