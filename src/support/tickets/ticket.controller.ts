import {
  Body,
  Controller,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
  Query,
} from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { CurrentUser } from '../../access/current-user';
import { Can } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { UserPrincipal } from '../../common/principal';
import { TenantScoped } from '../../tenancy/tenant-scoped.decorator';
import { AppliedMacroDto } from '../macros/dtos/support-macro.dto';
import { CreateKbDraftDto, KbDraftDto } from './dtos/kb-draft.dto';
import {
  CreateTicketDto,
  ListTicketsQuery,
  MergeTicketDto,
  MessageBodyDto,
  RateTicketDto,
  TicketDetailDto,
  TicketDto,
  TicketMessageDto,
  TicketPageDto,
  UpdateTicketDto,
} from './dtos/ticket.dto';
import { TicketService } from './ticket.service';

@ApiTags('support')
@TenantScoped()
@Controller('support/tickets')
export class TicketController {
  constructor(private readonly tickets: TicketService) {}

  @Post()
  @Can('create', 'Ticket')
  @ApiOperation({
    operationId: 'createTicket',
    summary: 'Ask for help: open a ticket (signed-in users)',
  })
  @ApiCreatedResponse({ type: TicketDto })
  create(@CurrentUser() user: UserPrincipal, @Body() body: CreateTicketDto): Promise<TicketDto> {
    return this.tickets.create(body, user.userId);
  }

  @Get()
  @Can('read', 'Ticket')
  @ApiOperation({
    operationId: 'listTickets',
    summary: "The organisation's tickets the caller may see (members: their own), newest first",
  })
  @ApiOkResponse({ type: TicketPageDto })
  list(@Query() query: ListTicketsQuery): Promise<TicketPageDto> {
    return this.tickets.list(query);
  }

  @Get(':id')
  @Can('read', 'Ticket')
  @ApiOperation({
    operationId: 'getTicket',
    summary: 'A ticket with its replies and history (internal notes for agents only)',
  })
  @ApiOkResponse({ type: TicketDetailDto })
  @ApiProblems(404)
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<TicketDetailDto> {
    return this.tickets.get(id);
  }

  @Post(':id/replies')
  @Can('read', 'Ticket')
  @ApiOperation({
    operationId: 'replyToTicket',
    summary: "Reply publicly (the requester's reply reopens a pending or solved ticket)",
  })
  @ApiCreatedResponse({ type: TicketMessageDto })
  @ApiProblems(404, 409)
  reply(
    @CurrentUser() user: UserPrincipal,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: MessageBodyDto,
  ): Promise<TicketMessageDto> {
    return this.tickets.reply(id, body, user.userId);
  }

  @Post(':id/notes')
  @Can('create', 'TicketNote')
  @ApiOperation({
    operationId: 'addTicketNote',
    summary: 'Add an internal note (agents; never shown to members)',
  })
  @ApiCreatedResponse({ type: TicketMessageDto })
  @ApiProblems(404, 409)
  note(
    @CurrentUser() user: UserPrincipal,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: MessageBodyDto,
  ): Promise<TicketMessageDto> {
    return this.tickets.note(id, body, user.userId);
  }

  @Patch(':id')
  @Can('update', 'Ticket')
  @ApiOperation({
    operationId: 'updateTicket',
    summary:
      'Change status (enforced transitions), priority, assignee or tags (agents; kept in the history)',
  })
  @ApiOkResponse({ type: TicketDto })
  @ApiProblems(404, 409)
  update(
    @CurrentUser() user: UserPrincipal,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: UpdateTicketDto,
  ): Promise<TicketDto> {
    return this.tickets.update(id, body, user.userId);
  }

  @Post(':id/merge')
  @HttpCode(200)
  @Can('update', 'Ticket')
  @ApiOperation({
    operationId: 'mergeTicket',
    summary: 'Merge a duplicate into another ticket (its messages move; it closes with a pointer)',
  })
  @ApiOkResponse({ type: TicketDto, description: 'The ticket that stays.' })
  @ApiProblems(404, 409, 422)
  merge(
    @CurrentUser() user: UserPrincipal,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: MergeTicketDto,
  ): Promise<TicketDto> {
    return this.tickets.merge(id, body.intoTicketId, user.userId);
  }

  @Post(':id/macros/:macroId')
  @HttpCode(200)
  @Can('update', 'Ticket')
  @ApiOperation({
    operationId: 'applyTicketMacro',
    summary:
      'Apply a canned response (agents): post its reply as you and make its field changes, all or nothing',
  })
  @ApiOkResponse({ type: AppliedMacroDto })
  @ApiProblems(404, 409)
  applyMacro(
    @CurrentUser() user: UserPrincipal,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('macroId', new ParseUUIDPipe()) macroId: string,
  ): Promise<AppliedMacroDto> {
    return this.tickets.applyMacro(id, macroId, user.userId);
  }

  @Post(':id/kb-draft')
  @Can('create', 'KbArticle')
  @ApiOperation({
    operationId: 'createKbDraftFromTicket',
    summary:
      "Turn a solved ticket's answer into a knowledge-base draft, identifying details removed (platform staff; audited)",
  })
  @ApiCreatedResponse({ type: KbDraftDto })
  @ApiProblems(404, 409)
  kbDraft(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: CreateKbDraftDto,
  ): Promise<KbDraftDto> {
    return this.tickets.kbDraft(id, body);
  }

  @Post(':id/rating')
  @HttpCode(200)
  @Can('read', 'Ticket')
  @ApiOperation({ operationId: 'rateTicket', summary: 'Rate a solved ticket 1–5 (the requester)' })
  @ApiOkResponse({ type: TicketDto })
  @ApiProblems(404, 409)
  rate(
    @CurrentUser() user: UserPrincipal,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: RateTicketDto,
  ): Promise<TicketDto> {
    return this.tickets.rate(id, body, user.userId);
  }
}
