import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Put,
  Query,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
} from '@nestjs/swagger';
import { Can } from '../access/policies';
import { ApiProblems } from '../common/http/api-problem';
import { PageQuery } from '../common/http/pagination';
import {
  AdminFeatureFlagDto,
  AdminFeatureFlagPageDto,
  CreateFeatureFlagDto,
  FeatureFlagCohortRuleDto,
  FeatureFlagOverrideDto,
  FeatureFlagOverridePageDto,
  SetFeatureFlagCohortRuleDto,
  SetFeatureFlagOverrideDto,
  UpdateFeatureFlagDto,
} from './dtos/feature-flag.dto';
import { COHORT_KEY_EXAMPLE, FEATURE_KEY_EXAMPLE } from './feature-keys';
import { FeatureFlagService } from './feature-flag.service';

const AUDITED =
  'Platform admin; recorded in the platform audit log; organisations see the change on their next request.';
const FLAG_KEY = { name: 'key', example: FEATURE_KEY_EXAMPLE, description: 'The flag key.' };
const COHORT_KEY = { name: 'cohort', example: COHORT_KEY_EXAMPLE, description: 'The cohort key.' };

@ApiTags('admin')
@Controller('admin/features')
export class FeatureFlagAdminController {
  constructor(private readonly flags: FeatureFlagService) {}

  @Get()
  @Can('read', 'FeatureFlag')
  @ApiOperation({
    operationId: 'adminListFeatureFlags',
    summary: 'Every feature flag, archived ones included, newest first (platform staff)',
  })
  @ApiOkResponse({ type: AdminFeatureFlagPageDto })
  @ApiProblems(400)
  list(@Query() query: PageQuery): Promise<AdminFeatureFlagPageDto> {
    return this.flags.listFlags(query);
  }

  @Get(':key')
  @Can('read', 'FeatureFlag')
  @ApiOperation({
    operationId: 'adminGetFeatureFlag',
    summary: 'One feature flag (platform staff)',
  })
  @ApiParam(FLAG_KEY)
  @ApiOkResponse({ type: AdminFeatureFlagDto })
  @ApiProblems(400, 404)
  get(@Param('key') key: string): Promise<AdminFeatureFlagDto> {
    return this.flags.getFlag(key);
  }

  @Post()
  @Can('create', 'FeatureFlag')
  @ApiOperation({
    operationId: 'adminCreateFeatureFlag',
    summary: 'Create a feature flag (platform admin; audited)',
    description: `${AUDITED} The key is snake_case and never changes; a taken key is refused (409).`,
  })
  @ApiCreatedResponse({ type: AdminFeatureFlagDto })
  @ApiProblems(400, 409, 422)
  create(@Body() body: CreateFeatureFlagDto): Promise<AdminFeatureFlagDto> {
    return this.flags.createFlag(body);
  }

  @Patch(':key')
  @Can('update', 'FeatureFlag')
  @ApiOperation({
    operationId: 'adminUpdateFeatureFlag',
    summary:
      "Change a flag's description, default, plan defaults or gates (platform admin; audited)",
    description: `${AUDITED} Fields left out keep their value.`,
  })
  @ApiParam(FLAG_KEY)
  @ApiOkResponse({ type: AdminFeatureFlagDto })
  @ApiProblems(400, 404, 422)
  update(
    @Param('key') key: string,
    @Body() body: UpdateFeatureFlagDto,
  ): Promise<AdminFeatureFlagDto> {
    return this.flags.updateFlag(key, body);
  }

  @Post(':key/archive')
  @HttpCode(200)
  @Can('update', 'FeatureFlag')
  @ApiOperation({
    operationId: 'adminArchiveFeatureFlag',
    summary: 'Retire a flag: off for everyone, gates lifted, hidden (platform admin; audited)',
    description: `${AUDITED} Archive a flag once the code no longer asks for it. Archiving an archived flag changes nothing.`,
  })
  @ApiParam(FLAG_KEY)
  @ApiOkResponse({ type: AdminFeatureFlagDto })
  @ApiProblems(400, 404)
  archive(@Param('key') key: string): Promise<AdminFeatureFlagDto> {
    return this.flags.archiveFlag(key);
  }

  @Post(':key/restore')
  @HttpCode(200)
  @Can('update', 'FeatureFlag')
  @ApiOperation({
    operationId: 'adminRestoreFeatureFlag',
    summary: 'Bring an archived flag back, with its rules and overrides (platform admin; audited)',
    description: AUDITED,
  })
  @ApiParam(FLAG_KEY)
  @ApiOkResponse({ type: AdminFeatureFlagDto })
  @ApiProblems(400, 404)
  restore(@Param('key') key: string): Promise<AdminFeatureFlagDto> {
    return this.flags.restoreFlag(key);
  }

  @Get(':key/overrides')
  @Can('read', 'FeatureFlag')
  @ApiOperation({
    operationId: 'adminListFeatureFlagOverrides',
    summary: "A flag's per-organisation overrides, newest first (platform staff)",
  })
  @ApiParam(FLAG_KEY)
  @ApiOkResponse({ type: FeatureFlagOverridePageDto })
  @ApiProblems(400, 404)
  listOverrides(
    @Param('key') key: string,
    @Query() query: PageQuery,
  ): Promise<FeatureFlagOverridePageDto> {
    return this.flags.listOverrides(key, query);
  }

  @Put(':key/overrides/:tenantId')
  @Can('update', 'FeatureFlag')
  @ApiOperation({
    operationId: 'adminSetFeatureFlagOverride',
    summary: 'Force a flag on or off for one organisation (platform admin; audited)',
    description: `${AUDITED} The override wins over cohorts, plan and default. An archived flag takes none (409).`,
  })
  @ApiParam(FLAG_KEY)
  @ApiOkResponse({ type: FeatureFlagOverrideDto })
  @ApiProblems(400, 404, 409)
  setOverride(
    @Param('key') key: string,
    @Param('tenantId', new ParseUUIDPipe()) tenantId: string,
    @Body() body: SetFeatureFlagOverrideDto,
  ): Promise<FeatureFlagOverrideDto> {
    return this.flags.setOverride(key, tenantId, body);
  }

  @Delete(':key/overrides/:tenantId')
  @HttpCode(204)
  @Can('update', 'FeatureFlag')
  @ApiOperation({
    operationId: 'adminClearFeatureFlagOverride',
    summary:
      "Remove an organisation's override: it follows its cohorts and plan again (platform admin; audited)",
    description: AUDITED,
  })
  @ApiParam(FLAG_KEY)
  @ApiNoContentResponse()
  @ApiProblems(400, 404)
  async clearOverride(
    @Param('key') key: string,
    @Param('tenantId', new ParseUUIDPipe()) tenantId: string,
  ): Promise<void> {
    await this.flags.clearOverride(key, tenantId);
  }

  @Put(':key/cohorts/:cohort')
  @Can('update', 'FeatureFlag')
  @ApiOperation({
    operationId: 'adminSetFeatureFlagCohortRule',
    summary: 'Switch a flag on or off for a beta cohort (platform admin; audited)',
    description:
      `${AUDITED} Cohort rules win over the plan and the default, lose to an organisation's ` +
      'override; when an organisation is in cohorts that disagree, off wins.',
  })
  @ApiParam(FLAG_KEY)
  @ApiParam(COHORT_KEY)
  @ApiOkResponse({ type: FeatureFlagCohortRuleDto })
  @ApiProblems(400, 404, 409)
  setCohortRule(
    @Param('key') key: string,
    @Param('cohort') cohort: string,
    @Body() body: SetFeatureFlagCohortRuleDto,
  ): Promise<FeatureFlagCohortRuleDto> {
    return this.flags.setCohortRule(key, cohort, body.enabled);
  }

  @Delete(':key/cohorts/:cohort')
  @HttpCode(204)
  @Can('update', 'FeatureFlag')
  @ApiOperation({
    operationId: 'adminClearFeatureFlagCohortRule',
    summary: "Remove a cohort's rule for a flag (platform admin; audited)",
    description: AUDITED,
  })
  @ApiParam(FLAG_KEY)
  @ApiParam(COHORT_KEY)
  @ApiNoContentResponse()
  @ApiProblems(400, 404)
  async clearCohortRule(@Param('key') key: string, @Param('cohort') cohort: string): Promise<void> {
    await this.flags.clearCohortRule(key, cohort);
  }
}
