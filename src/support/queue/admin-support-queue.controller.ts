import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsUUID } from 'class-validator';
import { CurrentUser } from '../../access/current-user';
import { Can } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { UserPrincipal } from '../../common/principal';
import { AdminSupportQueueService } from './admin-support-queue.service';
import { SlaBreachService } from './sla-breach.service';
import { ListQueueQuery, QueueEntryDto, SlaCountsDto, SlaCountsQuery } from './support-queue.dto';

export class AssignTicketDto {
  @ApiProperty({ format: 'uuid', description: 'The agent (a platform support user) to assign.' })
  @IsUUID()
  assigneeId!: string;
}

@ApiTags('admin')
@Controller('admin/support/queue')
export class AdminSupportQueueController {
  constructor(
    private readonly queue: AdminSupportQueueService,
    private readonly breaches: SlaBreachService,
  ) {}

  @Get('sla')
  @Can('read', 'SupportQueue')
  @ApiOperation({
    operationId: 'adminSupportSlaCounts',
    summary: 'SLA breaches and tickets about to breach, across organisations or for one',
  })
  @ApiOkResponse({ type: SlaCountsDto })
  sla(@Query() query: SlaCountsQuery): Promise<SlaCountsDto> {
    return this.breaches.counts(query.tenantId);
  }

  @Get()
  @Can('read', 'SupportQueue')
  @ApiOperation({
    operationId: 'adminListSupportQueue',
    summary: 'Tickets across organisations, soonest SLA breach first (no message text)',
  })
  @ApiOkResponse({ type: [QueueEntryDto] })
  list(@Query() query: ListQueueQuery): Promise<QueueEntryDto[]> {
    return this.queue.list(query);
  }

  @Post(':ticketId/claim')
  @HttpCode(200)
  @Can('update', 'SupportQueue')
  @ApiOperation({ operationId: 'adminClaimTicket', summary: 'Assign a ticket to yourself' })
  @ApiOkResponse({ type: QueueEntryDto })
  @ApiProblems(404)
  claim(
    @CurrentUser() user: UserPrincipal,
    @Param('ticketId', new ParseUUIDPipe()) ticketId: string,
  ): Promise<QueueEntryDto> {
    return this.queue.assign(ticketId, user.userId, user.userId);
  }

  @Post(':ticketId/assign')
  @HttpCode(200)
  @Can('update', 'SupportQueue')
  @ApiOperation({ operationId: 'adminAssignTicket', summary: 'Assign a ticket to an agent' })
  @ApiOkResponse({ type: QueueEntryDto })
  @ApiProblems(404, 422)
  assign(
    @CurrentUser() user: UserPrincipal,
    @Param('ticketId', new ParseUUIDPipe()) ticketId: string,
    @Body() body: AssignTicketDto,
  ): Promise<QueueEntryDto> {
    return this.queue.assign(ticketId, body.assigneeId, user.userId);
  }
}
