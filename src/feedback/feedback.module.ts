import { Module } from '@nestjs/common';
import { TenancyModule } from '../tenancy/tenancy.module';
import { AdminFeedbackController } from './admin-feedback.controller';
import { AdminFeedbackService } from './admin-feedback.service';
import { FeedbackController } from './feedback.controller';
import { FeedbackService } from './feedback.service';

/**
 * Product feedback: members rate the product or answer the NPS question in
 * their organisation; the operator lists, summarises and exports it across
 * all of them (platform schema, ADR 0024).
 */
@Module({
  imports: [TenancyModule],
  controllers: [FeedbackController, AdminFeedbackController],
  providers: [FeedbackService, AdminFeedbackService],
  // FeedbackService.record: demo data and simulations write feedback without HTTP.
  exports: [FeedbackService],
})
export class FeedbackModule {}
