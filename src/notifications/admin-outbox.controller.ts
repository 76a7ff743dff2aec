import { Controller, Get, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can } from '../access/policies';
import { ApiProblems } from '../common/http/api-problem';
import {
  ListOutboxMessagesQuery,
  OutboxMessageDetailDto,
  OutboxMessagePageDto,
} from './dtos/outbox-message.dto';
import { OutboxService } from './outbox.service';

/**
 * The outbox as platform staff see it. Without SMTP_URL this is where mail
 * lands. Bodies carry live links (password resets, invitations), so reading a
 * message needs `manage Outbox` (platform admins); support staff see the list.
 */
@ApiTags('admin')
@Controller('admin/outbox')
export class AdminOutboxController {
  constructor(private readonly outbox: OutboxService) {}

  @Get()
  @Can('read', 'Outbox')
  @ApiOperation({
    operationId: 'adminListOutbox',
    summary: 'Outbox messages, newest first, without bodies (platform staff)',
  })
  @ApiOkResponse({ type: OutboxMessagePageDto })
  list(@Query() query: ListOutboxMessagesQuery): Promise<OutboxMessagePageDto> {
    return this.outbox.list(query);
  }

  @Get(':id')
  @Can('manage', 'Outbox')
  @ApiOperation({
    operationId: 'adminGetOutboxMessage',
    summary: 'One outbox message with its body (platform admins)',
  })
  @ApiOkResponse({ type: OutboxMessageDetailDto })
  @ApiProblems(404)
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<OutboxMessageDetailDto> {
    return this.outbox.get(id);
  }
}
