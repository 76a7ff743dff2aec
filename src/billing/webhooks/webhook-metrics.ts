import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { Metrics } from '../../observability/metrics';
import { withDeadline } from '../../observability/scrape';

/**
 * Gateway webhooks stored but not yet processed, and the age of the oldest:
 * the "webhook processing lag" alert. Read at scrape time from the table
 * (its `processed_at, received_at` index answers it).
 */
@Injectable()
export class WebhookMetrics {
  constructor(metrics: Metrics, em: EntityManager, @InjectConfig() config: AppConfig) {
    const timeoutMs = config.database.healthTimeoutMs;
    let read: { at: number; row: Promise<{ pending: number; lag: number }> } | undefined;
    // Both gauges come from one query per scrape.
    const pendingEvents = () => {
      const now = Date.now();
      if (!read || now - read.at >= 1000) {
        read = {
          at: now,
          row: withDeadline(
            em
              .fork()
              .execute<{ pending: number; lag: number }[]>(
                `select count(*)::int as pending,
                        coalesce(extract(epoch from now() - min(received_at)), 0)::float8 as lag
                   from platform.gateway_event where processed_at is null`,
              )
              .then(([row]) => row),
            timeoutMs,
            'reading pending webhooks',
          ),
        };
      }
      return read.row;
    };
    metrics.gauge(
      'groundwork_gateway_events_pending',
      'Gateway webhook events stored but not yet processed',
      [],
      async (gauge) => gauge.set((await pendingEvents()).pending),
    );
    metrics.gauge(
      'groundwork_gateway_event_lag_seconds',
      'Age of the oldest unprocessed gateway webhook event (0: none waiting)',
      [],
      async (gauge) => gauge.set(Math.max(0, (await pendingEvents()).lag)),
    );
  }
}
