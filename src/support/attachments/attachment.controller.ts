import {
  Body,
  Controller,
  Get,
  Headers,
  Param,
  ParseUUIDPipe,
  Post,
  Query,
  Res,
  StreamableFile,
} from '@nestjs/common';
import {
  ApiBody,
  ApiConsumes,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { CurrentUser } from '../../access/current-user';
import { Can } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { UserPrincipal } from '../../common/principal';
import { TenantScoped } from '../../tenancy/tenant-scoped.decorator';
import { ALLOWED_ATTACHMENT_TYPES, attachmentDisposition } from './attachment-type';
import { AttachmentService } from './attachment.service';
import { AttachmentDto, UploadAttachmentQuery } from './dtos/attachment.dto';

/** The upload route as Fastify names it: the one route whose body may be a file's raw bytes. */
export const ATTACHMENT_UPLOAD_ROUTE = '/v1/support/tickets/:id/attachments';

@ApiTags('support')
@TenantScoped()
@Controller('support/tickets/:id/attachments')
export class AttachmentController {
  constructor(private readonly attachments: AttachmentService) {}

  @Post()
  @Can('read', 'Ticket')
  @ApiOperation({
    operationId: 'uploadTicketAttachment',
    summary:
      'Attach a file: the raw bytes as the body, its type as Content-Type (the requester and agents)',
  })
  @ApiConsumes(...ALLOWED_ATTACHMENT_TYPES)
  @ApiBody({ schema: { type: 'string', format: 'binary' } })
  @ApiCreatedResponse({ type: AttachmentDto })
  @ApiProblems(403, 404, 409, 413, 415)
  upload(
    @CurrentUser() user: UserPrincipal,
    @Param('id', new ParseUUIDPipe()) id: string,
    @Query() query: UploadAttachmentQuery,
    @Headers('content-type') contentType: string | undefined,
    @Body() body: unknown,
  ): Promise<AttachmentDto> {
    const bytes = Buffer.isBuffer(body) ? body : Buffer.alloc(0);
    return this.attachments.upload(
      id,
      { bytes, declaredType: contentType, fileName: query.filename },
      user.userId,
    );
  }

  @Get()
  @Can('read', 'Ticket')
  @ApiOperation({
    operationId: 'listTicketAttachments',
    summary: "A ticket's files, oldest first",
  })
  @ApiOkResponse({ type: [AttachmentDto] })
  @ApiProblems(404)
  list(@Param('id', new ParseUUIDPipe()) id: string): Promise<AttachmentDto[]> {
    return this.attachments.list(id);
  }

  @Get(':attachmentId')
  @Can('read', 'Ticket')
  @ApiOperation({
    operationId: 'downloadTicketAttachment',
    summary: 'Download a file (always as an attachment, never rendered inline)',
  })
  @ApiProduces(...ALLOWED_ATTACHMENT_TYPES)
  @ApiOkResponse({ schema: { type: 'string', format: 'binary' } })
  @ApiProblems(404)
  async download(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Param('attachmentId', new ParseUUIDPipe()) attachmentId: string,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<StreamableFile> {
    const { attachment, bytes } = await this.attachments.download(id, attachmentId);
    // The stored type was verified against the bytes; nosniff keeps browsers to it.
    void reply
      .header('x-content-type-options', 'nosniff')
      .header('content-security-policy', "default-src 'none'; sandbox");
    return new StreamableFile(bytes, {
      type: attachment.contentType,
      disposition: attachmentDisposition(attachment.fileName),
      length: bytes.length,
    });
  }
}
