import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Patch, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import {
  AdminPlanDto,
  AdminPlanListDto,
  AdminPriceDto,
  CreatePlanDto,
  CreatePriceDto,
  UpdatePlanDto,
} from './dtos/admin-plan.dto';
import { AdminPlanService } from './admin-plan.service';

const AUDITED =
  'Platform admin; recorded in the platform audit log; the pricing page follows at once.';

@ApiTags('admin')
@Controller('admin/plans')
export class AdminPlanController {
  constructor(private readonly plans: AdminPlanService) {}

  @Get()
  @Can('read', 'Plan')
  @ApiOperation({
    operationId: 'adminListPlans',
    summary: 'Every plan with its prices, archived ones included (platform staff)',
  })
  @ApiOkResponse({ type: AdminPlanListDto })
  list(): Promise<AdminPlanListDto> {
    return this.plans.list();
  }

  @Get(':id')
  @Can('read', 'Plan')
  @ApiOperation({
    operationId: 'adminGetPlan',
    summary: 'One plan with its prices (platform staff)',
  })
  @ApiOkResponse({ type: AdminPlanDto })
  @ApiProblems(400, 404)
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<AdminPlanDto> {
    return this.plans.get(id);
  }

  @Post()
  @Can('create', 'Plan')
  @ApiOperation({
    operationId: 'adminCreatePlan',
    summary: 'Create a plan (platform admin; audited)',
    description:
      `${AUDITED} The plan states a value for every catalog feature. It has no prices yet: ` +
      'add them with adminCreatePlanPrice. Recommending it unflags the plan recommended so far.',
  })
  @ApiCreatedResponse({ type: AdminPlanDto })
  @ApiProblems(400, 409, 422)
  create(@Body() body: CreatePlanDto): Promise<AdminPlanDto> {
    return this.plans.create(body);
  }

  @Patch(':id')
  @Can('update', 'Plan')
  @ApiOperation({
    operationId: 'adminUpdatePlan',
    summary: "Change a plan's display fields and feature values (platform admin; audited)",
    description:
      `${AUDITED} Fields left out keep their value; the code never changes. ` +
      'Prices are not edited here (they are immutable). Recommending a plan unflags the ' +
      'plan recommended so far, in the same transaction.',
  })
  @ApiOkResponse({ type: AdminPlanDto })
  @ApiProblems(400, 404, 409, 422)
  update(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: UpdatePlanDto,
  ): Promise<AdminPlanDto> {
    return this.plans.update(id, body);
  }

  @Post(':id/archive')
  @HttpCode(200)
  @Can('update', 'Plan')
  @ApiOperation({
    operationId: 'adminArchivePlan',
    summary:
      'Archive a plan: off the pricing page, closed to new subscriptions (platform admin; audited)',
    description:
      `${AUDITED} Existing subscriptions keep the plan and its prices. ` +
      'Archiving an archived plan changes nothing. The free plan cannot be archived.',
  })
  @ApiOkResponse({ type: AdminPlanDto })
  @ApiProblems(400, 404, 409)
  archive(@Param('id', new ParseUUIDPipe()) id: string): Promise<AdminPlanDto> {
    return this.plans.archive(id);
  }

  @Post(':id/prices')
  @Can('update', 'Plan')
  @ApiOperation({
    operationId: 'adminCreatePlanPrice',
    summary: 'Add a per-seat price to a plan (platform admin; audited)',
    description:
      `${AUDITED} Prices are immutable: there is deliberately no route to change an amount. ` +
      'To change one, archive the active price for that currency and interval, then add the ' +
      'new one; subscriptions on the old price keep renewing at it. A second active price for ' +
      'the same currency and interval is refused (409 price_exists).',
  })
  @ApiCreatedResponse({ type: AdminPriceDto })
  @ApiProblems(400, 404, 409)
  addPrice(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: CreatePriceDto,
  ): Promise<AdminPriceDto> {
    return this.plans.addPrice(id, body);
  }

  @Post(':id/prices/:priceId/archive')
  @HttpCode(200)
  @Can('update', 'Plan')
  @ApiOperation({
    operationId: 'adminArchivePlanPrice',
    summary: 'Archive a price: closed to new subscriptions (platform admin; audited)',
    description:
      `${AUDITED} Prices are never deleted or changed: subscriptions on an archived price ` +
      'keep renewing at it, and it leaves the pricing page. Archiving an archived price changes nothing.',
  })
  @ApiOkResponse({ type: AdminPriceDto })
  @ApiProblems(400, 404)
  archivePrice(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('priceId', new ParseUUIDPipe()) priceId: string,
  ): Promise<AdminPriceDto> {
    return this.plans.archivePrice(id, priceId);
  }
}
