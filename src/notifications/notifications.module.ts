import { Module } from '@nestjs/common';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { MailTransport, NoMailTransport, SmtpMailTransport } from './mail-transport';
import { AdminOutboxController } from './admin-outbox.controller';
import { OutboxMetrics } from './outbox-metrics';
import { OutboxService } from './outbox.service';
import { OutboxWorker } from './outbox.worker';

/**
 * Outgoing mail through a transactional outbox. Other modules use
 * `OutboxService.enqueue()` inside their own transaction; the worker delivers.
 */
@Module({
  controllers: [AdminOutboxController],
  providers: [
    OutboxService,
    OutboxWorker,
    OutboxMetrics,
    {
      provide: MailTransport,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig): MailTransport =>
        config.mail.smtpUrl
          ? new SmtpMailTransport(config.mail.smtpUrl, config.mail.from)
          : new NoMailTransport(),
    },
  ],
  exports: [OutboxService],
})
export class NotificationsModule {}
