import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
} from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { TenantScoped } from '../tenant-scoped.decorator';
import { ChangeRoleDto, MemberDto } from './member.dto';
import { MemberService } from './member.service';

@ApiTags('members')
@TenantScoped()
@Controller('tenant/members')
export class MemberController {
  constructor(private readonly members: MemberService) {}

  @Get()
  @Can('read', 'Member')
  @ApiOperation({
    operationId: 'listMembers',
    summary: "The organisation's members and their roles",
  })
  @ApiOkResponse({ type: [MemberDto] })
  list(): Promise<MemberDto[]> {
    return this.members.list();
  }

  @Patch(':userId')
  @Can('update', 'Member')
  @ApiOperation({ operationId: 'changeMemberRole', summary: "Change a member's role (audited)" })
  @ApiOkResponse({ type: MemberDto })
  @ApiProblems(409)
  changeRole(
    @Param('userId', new ParseUUIDPipe()) userId: string,
    @Body() body: ChangeRoleDto,
  ): Promise<MemberDto> {
    return this.members.changeRole(userId, body.role);
  }

  @Delete(':userId')
  @HttpCode(204)
  @Can('delete', 'Member')
  @ApiOperation({ operationId: 'removeMember', summary: 'Remove a member (audited)' })
  @ApiNoContentResponse()
  @ApiProblems(409)
  remove(@Param('userId', new ParseUUIDPipe()) userId: string): Promise<void> {
    return this.members.remove(userId);
  }
}
