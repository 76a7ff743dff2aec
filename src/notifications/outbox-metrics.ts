import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { Metrics } from '../observability/metrics';
import { withDeadline } from '../observability/scrape';
import { OutboxStatus } from './entities/outbox-message.entity';

/** The states that are not done; `sent` rows are history and never counted. */
const OPEN_STATUSES = [
  OutboxStatus.Pending,
  OutboxStatus.Sending,
  OutboxStatus.Failed,
  OutboxStatus.Held,
] as const;

/**
 * The outbox backlog, read from the table at scrape time (so every replica
 * reports the same truth): messages by open status, and how long the oldest
 * undelivered one has waited, which the "outbox backlog" alert watches.
 */
@Injectable()
export class OutboxMetrics {
  constructor(metrics: Metrics, em: EntityManager, @InjectConfig() config: AppConfig) {
    const timeoutMs = config.database.healthTimeoutMs;
    metrics.gauge(
      'groundwork_outbox_messages',
      'Outgoing messages not yet sent, by status (held: written while no SMTP_URL was set)',
      ['status'],
      async (gauge) => {
        const rows = await withDeadline(
          em.fork().execute<{ status: string; messages: number }[]>(
            `select status, count(*)::int as messages from platform.outbox
              where status in (?, ?, ?, ?) group by status`,
            [...OPEN_STATUSES],
          ),
          timeoutMs,
          'counting the outbox',
        );
        const counts = new Map(rows.map((row) => [row.status, row.messages]));
        for (const status of OPEN_STATUSES) gauge.set({ status }, counts.get(status) ?? 0);
      },
    );
    metrics.gauge(
      'groundwork_outbox_oldest_pending_seconds',
      'Age of the oldest message waiting to be delivered (pending or sending; 0: none)',
      [],
      async (gauge) => {
        const [row] = await withDeadline(
          em.fork().execute<{ age: number }[]>(
            `select coalesce(extract(epoch from now() - min(created_at)), 0)::float8 as age
               from platform.outbox where status in (?, ?)`,
            [OutboxStatus.Pending, OutboxStatus.Sending],
          ),
          timeoutMs,
          'reading the outbox age',
        );
        gauge.set(Math.max(0, row?.age ?? 0));
      },
    );
  }
}
