import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Counter } from 'prom-client';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { Metrics } from '../../observability/metrics';
import { withDeadline } from '../../observability/scrape';
import { TicketStatus } from '../tickets/ticket-status';

export type SlaTarget = 'first_response' | 'resolution';

const TARGETS: readonly SlaTarget[] = ['first_response', 'resolution'];

/**
 * SLA breaches: a counter of targets newly marked breached (by the process
 * whose job marked them: the "SLA breaches" alert), and a gauge of open tickets
 * whose target is breached now, read from the queue at scrape time so every
 * replica reports the same truth and a restart loses nothing.
 */
@Injectable()
export class SlaMetrics {
  private readonly breaches: Counter<'target'>;

  constructor(metrics: Metrics, em: EntityManager, @InjectConfig() config: AppConfig) {
    this.breaches = metrics.counter(
      'groundwork_sla_breaches_total',
      'Support SLA targets newly breached, by target (first_response, resolution)',
      ['target'],
    );
    // Both series exist from the start, so `increase()` sees the first breach.
    for (const target of TARGETS) this.breaches.inc({ target }, 0);
    const timeoutMs = config.database.healthTimeoutMs;
    metrics.gauge(
      'groundwork_sla_breached_tickets',
      'Open support tickets (not solved or closed) whose SLA target is breached, by target',
      ['target'],
      async (gauge) => {
        const [row] = await withDeadline(
          em.fork().execute<{ first_response: number; resolution: number }[]>(
            `select count(*) filter (where first_response_breached_at is not null)::int as first_response,
                    count(*) filter (where resolution_breached_at is not null)::int as resolution
               from platform.support_queue where status not in (?, ?)`,
            [TicketStatus.Solved, TicketStatus.Closed],
          ),
          timeoutMs,
          'counting breached tickets',
        );
        for (const target of TARGETS) gauge.set({ target }, row?.[target] ?? 0);
      },
    );
  }

  breached(target: SlaTarget, count = 1): void {
    if (count > 0) this.breaches.inc({ target }, count);
  }
}
