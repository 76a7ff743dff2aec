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
  BetaCohortDto,
  BetaCohortMemberDto,
  BetaCohortMemberPageDto,
  BetaCohortPageDto,
  CreateBetaCohortDto,
  UpdateBetaCohortDto,
} from './dtos/beta-cohort.dto';
import { COHORT_KEY_EXAMPLE } from './feature-keys';
import { FeatureFlagService } from './feature-flag.service';

const AUDITED =
  'Platform admin; recorded in the platform audit log; organisations see the change on their next request.';
const KEY_DESCRIPTION = {
  name: 'key',
  example: COHORT_KEY_EXAMPLE,
  description: 'The cohort key.',
};

@ApiTags('admin')
@Controller('admin/cohorts')
export class BetaCohortAdminController {
  constructor(private readonly flags: FeatureFlagService) {}

  @Get()
  @Can('read', 'BetaCohort')
  @ApiOperation({
    operationId: 'adminListBetaCohorts',
    summary: 'Every beta cohort, newest first (platform staff)',
  })
  @ApiOkResponse({ type: BetaCohortPageDto })
  @ApiProblems(400)
  list(@Query() query: PageQuery): Promise<BetaCohortPageDto> {
    return this.flags.listCohorts(query);
  }

  @Get(':key')
  @Can('read', 'BetaCohort')
  @ApiOperation({ operationId: 'adminGetBetaCohort', summary: 'One beta cohort (platform staff)' })
  @ApiParam(KEY_DESCRIPTION)
  @ApiOkResponse({ type: BetaCohortDto })
  @ApiProblems(400, 404)
  get(@Param('key') key: string): Promise<BetaCohortDto> {
    return this.flags.getCohort(key);
  }

  @Post()
  @Can('create', 'BetaCohort')
  @ApiOperation({
    operationId: 'adminCreateBetaCohort',
    summary: 'Create a beta cohort (platform admin; audited)',
    description: `${AUDITED} The key is snake_case and never changes; a taken key is refused (409).`,
  })
  @ApiCreatedResponse({ type: BetaCohortDto })
  @ApiProblems(400, 409)
  create(@Body() body: CreateBetaCohortDto): Promise<BetaCohortDto> {
    return this.flags.createCohort(body);
  }

  @Patch(':key')
  @Can('update', 'BetaCohort')
  @ApiOperation({
    operationId: 'adminUpdateBetaCohort',
    summary: "Change a cohort's name or description (platform admin; audited)",
    description:
      'Platform admin; recorded in the platform audit log. Fields left out keep their value.',
  })
  @ApiParam(KEY_DESCRIPTION)
  @ApiOkResponse({ type: BetaCohortDto })
  @ApiProblems(400, 404)
  update(@Param('key') key: string, @Body() body: UpdateBetaCohortDto): Promise<BetaCohortDto> {
    return this.flags.updateCohort(key, body);
  }

  @Delete(':key')
  @HttpCode(204)
  @Can('delete', 'BetaCohort')
  @ApiOperation({
    operationId: 'adminDeleteBetaCohort',
    summary: 'Delete a cohort with its members and flag rules (platform admin; audited)',
    description: `${AUDITED} The audit event lists the members and rules that went with it.`,
  })
  @ApiParam(KEY_DESCRIPTION)
  @ApiNoContentResponse()
  @ApiProblems(400, 404)
  async remove(@Param('key') key: string): Promise<void> {
    await this.flags.deleteCohort(key);
  }

  @Get(':key/members')
  @Can('read', 'BetaCohort')
  @ApiOperation({
    operationId: 'adminListBetaCohortMembers',
    summary: "A cohort's organisations, newest first (platform staff)",
  })
  @ApiParam(KEY_DESCRIPTION)
  @ApiOkResponse({ type: BetaCohortMemberPageDto })
  @ApiProblems(400, 404)
  listMembers(
    @Param('key') key: string,
    @Query() query: PageQuery,
  ): Promise<BetaCohortMemberPageDto> {
    return this.flags.listCohortMembers(key, query);
  }

  @Put(':key/members/:tenantId')
  @Can('update', 'BetaCohort')
  @ApiOperation({
    operationId: 'adminAddBetaCohortMember',
    summary: 'Put an organisation in a cohort (platform admin; audited)',
    description: `${AUDITED} Adding a member again changes nothing.`,
  })
  @ApiParam(KEY_DESCRIPTION)
  @ApiOkResponse({ type: BetaCohortMemberDto })
  @ApiProblems(400, 404)
  addMember(
    @Param('key') key: string,
    @Param('tenantId', new ParseUUIDPipe()) tenantId: string,
  ): Promise<BetaCohortMemberDto> {
    return this.flags.addCohortMember(key, tenantId);
  }

  @Delete(':key/members/:tenantId')
  @HttpCode(204)
  @Can('update', 'BetaCohort')
  @ApiOperation({
    operationId: 'adminRemoveBetaCohortMember',
    summary: 'Take an organisation out of a cohort (platform admin; audited)',
    description: AUDITED,
  })
  @ApiParam(KEY_DESCRIPTION)
  @ApiNoContentResponse()
  @ApiProblems(400, 404)
  async removeMember(
    @Param('key') key: string,
    @Param('tenantId', new ParseUUIDPipe()) tenantId: string,
  ): Promise<void> {
    await this.flags.removeCohortMember(key, tenantId);
  }
}
