import { Body, Controller, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can, OpenWhenSuspended } from '../access/policies';
import { ApiProblems } from '../common/http/api-problem';
import { TenantScoped } from '../tenancy/tenant-scoped.decorator';
import { CreateFeedbackDto, FeedbackDto } from './dtos/feedback.dto';
import { FeedbackService } from './feedback.service';

@ApiTags('feedback')
@TenantScoped()
@Controller('feedback')
export class FeedbackController {
  constructor(private readonly feedback: FeedbackService) {}

  @Post()
  @Can('create', 'Feedback')
  // A customer suspended for an unpaid invoice is one the operator most wants to hear from.
  @OpenWhenSuspended()
  @ApiOperation({
    operationId: 'createFeedback',
    summary: "Give product feedback: a 1–5 rating or an NPS score, for the operator's product team",
    description:
      'Any member of the organisation, signed in (API keys get 403 `feedback_user_required`), also while it is suspended for an unpaid invoice. Stored under the organisation the request acts for.',
  })
  @ApiCreatedResponse({ type: FeedbackDto })
  @ApiProblems(400)
  create(@Body() body: CreateFeedbackDto): Promise<FeedbackDto> {
    return this.feedback.submit(body);
  }
}
