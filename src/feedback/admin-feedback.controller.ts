import { Controller, Get, Query, StreamableFile } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Readable } from 'node:stream';
import { Can } from '../access/policies';
import { ApiProblems } from '../common/http/api-problem';
import { Clock } from '../common/clock';
import { AdminFeedbackService } from './admin-feedback.service';
import {
  FeedbackFilterQuery,
  FeedbackPageDto,
  FeedbackPeriodQuery,
  FeedbackSummaryDto,
  ListFeedbackQuery,
} from './dtos/feedback.dto';

@ApiTags('admin')
@Controller('admin/feedback')
export class AdminFeedbackController {
  constructor(
    private readonly feedback: AdminFeedbackService,
    private readonly clock: Clock,
  ) {}

  @Get()
  @Can('read', 'Feedback')
  @ApiOperation({
    operationId: 'adminListFeedback',
    summary: 'Product feedback across organisations, newest first, filtered',
  })
  @ApiOkResponse({ type: FeedbackPageDto })
  @ApiProblems(400)
  list(@Query() query: ListFeedbackQuery): Promise<FeedbackPageDto> {
    return this.feedback.list(query);
  }

  @Get('summary')
  @Can('read', 'Feedback')
  @ApiOperation({
    operationId: 'adminFeedbackSummary',
    summary: 'Feedback counts per kind and category, average rating and NPS over a period',
  })
  @ApiOkResponse({ type: FeedbackSummaryDto })
  @ApiProblems(400)
  summary(@Query() query: FeedbackPeriodQuery): Promise<FeedbackSummaryDto> {
    return this.feedback.summary(query);
  }

  @Get('export.csv')
  @Can('read', 'Feedback')
  @ApiOperation({
    operationId: 'adminExportFeedbackCsv',
    summary: 'The filtered feedback as CSV (RFC 4180, newest first, streamed; audited)',
    description:
      "Columns: id, created_at, tenant_id, tenant_slug, user_id, kind, score, category, message, context (JSON). Cells that a spreadsheet would run as a formula (starting with = + - @, tab or CR) are prefixed with '.",
  })
  @ApiProduces('text/csv')
  @ApiOkResponse({ description: 'CSV with a header row.', schema: { type: 'string' } })
  @ApiProblems(400)
  async export(@Query() query: FeedbackFilterQuery): Promise<StreamableFile> {
    const chunks = await this.feedback.export(query);
    const day = this.clock.now().toISOString().slice(0, 10);
    // Byte mode: the stream buffers about 16 KiB ahead of a slow client, not 16 pages of rows.
    return new StreamableFile(Readable.from(chunks, { objectMode: false }), {
      type: 'text/csv; charset=utf-8',
      disposition: `attachment; filename="feedback-${day}.csv"`,
    });
  }
}
