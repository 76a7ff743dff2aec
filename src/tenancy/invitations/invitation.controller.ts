import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CurrentUser } from '../../access/current-user';
import { Can } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { UserPrincipal } from '../../common/principal';
import { TenantScoped } from '../tenant-scoped.decorator';
import { CreateInvitationDto, InvitationDto } from './invitation.dto';
import { InvitationService } from './invitation.service';

@ApiTags('members')
@TenantScoped()
@Controller('tenant/invitations')
export class InvitationController {
  constructor(private readonly invitations: InvitationService) {}

  @Post()
  @Can('create', 'Invitation')
  @ApiOperation({
    operationId: 'createInvitation',
    summary: 'Invite someone by email with a role (audited)',
  })
  @ApiCreatedResponse({ type: InvitationDto })
  @ApiProblems(409)
  create(
    @CurrentUser() user: UserPrincipal,
    @Body() body: CreateInvitationDto,
  ): Promise<InvitationDto> {
    return this.invitations.create(body, user.userId);
  }

  @Get()
  @Can('read', 'Invitation')
  @ApiOperation({ operationId: 'listInvitations', summary: 'Invitations not yet accepted' })
  @ApiOkResponse({ type: [InvitationDto] })
  list(): Promise<InvitationDto[]> {
    return this.invitations.list();
  }

  @Post(':id/resend')
  @HttpCode(200)
  @Can('update', 'Invitation')
  @ApiOperation({
    operationId: 'resendInvitation',
    summary: 'Send a fresh link (the old one stops working)',
  })
  @ApiOkResponse({ type: InvitationDto })
  @ApiProblems(409)
  resend(@Param('id', new ParseUUIDPipe()) id: string): Promise<InvitationDto> {
    return this.invitations.resend(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @Can('delete', 'Invitation')
  @ApiOperation({ operationId: 'revokeInvitation', summary: 'Revoke an invitation' })
  @ApiNoContentResponse()
  revoke(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    return this.invitations.revoke(id);
  }
}
