import { Module } from '@nestjs/common';
import { NotificationsModule } from '../notifications/notifications.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { AdminSupportQueueController } from './queue/admin-support-queue.controller';
import { AdminSupportQueueService } from './queue/admin-support-queue.service';
import { SlaBreachService } from './queue/sla-breach.service';
import { SupportQueueService } from './queue/support-queue.service';
import { TicketController } from './tickets/ticket.controller';
import { TicketNotifier } from './tickets/ticket-notifier';
import { TicketService } from './tickets/ticket.service';

/**
 * Support: tickets in each tenant's schema, the agents' queue in `platform`,
 * SLA clocks from the plan's support tier.
 */
@Module({
  imports: [TenancyModule, NotificationsModule],
  controllers: [TicketController, AdminSupportQueueController],
  providers: [
    TicketService,
    TicketNotifier,
    SupportQueueService,
    AdminSupportQueueService,
    SlaBreachService,
  ],
})
export class SupportModule {}
