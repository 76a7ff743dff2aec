import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { KnowledgeBaseModule } from '../knowledge-base/knowledge-base.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { AttachmentController } from './attachments/attachment.controller';
import { AttachmentService } from './attachments/attachment.service';
import { Keyring } from '../common/crypto/keyring';
import { AttachmentStorage, EncryptedStorage, LocalDiskStorage } from './attachments/storage';
import { AdminSupportMacroController } from './macros/admin-support-macro.controller';
import { SupportMacroService } from './macros/support-macro.service';
import { AdminSupportQueueController } from './queue/admin-support-queue.controller';
import { AdminSupportQueueService } from './queue/admin-support-queue.service';
import { SupportAutoCloseService } from './queue/auto-close.service';
import { SlaBreachService } from './queue/sla-breach.service';
import { SlaMetrics } from './queue/sla-metrics';
import { SupportAutoAssignService } from './queue/support-auto-assign.service';
import { SupportQueueService } from './queue/support-queue.service';
import { TicketController } from './tickets/ticket.controller';
import { TicketNotifier } from './tickets/ticket-notifier';
import { TicketService } from './tickets/ticket.service';

/**
 * Support: tickets in each tenant's schema, the agents' queue in `platform`,
 * SLA clocks from the plan's support tier.
 */
@Module({
  imports: [TenancyModule, NotificationsModule, KnowledgeBaseModule],
  controllers: [
    TicketController,
    AttachmentController,
    AdminSupportQueueController,
    AdminSupportMacroController,
  ],
  providers: [
    TicketService,
    TicketNotifier,
    SupportQueueService,
    AdminSupportQueueService,
    SlaBreachService,
    SlaMetrics,
    SupportAutoCloseService,
    SupportMacroService,
    SupportAutoAssignService,
    AttachmentService,
    {
      provide: AttachmentStorage,
      // Files at rest are ciphertext under DATA_ENCRYPTION_KEYS' active key.
      useFactory: (config: AppConfig) =>
        new EncryptedStorage(
          new LocalDiskStorage(config.attachments.dir),
          Keyring.fromConfig(config.secrets.dataEncryptionKeys),
        ),
      inject: [APP_CONFIG],
    },
  ],
})
export class SupportModule {}
