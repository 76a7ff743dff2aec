import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { JobQueue } from '../../common/jobs/job-queue';
import { User } from '../../identity/entities/user.entity';
import { TicketNotifier } from '../tickets/ticket-notifier';
import { TicketStatus } from '../tickets/ticket-status';
import { SlaMetrics } from './sla-metrics';

export interface SlaCounts {
  /** Open tickets whose first-response target passed unmet. */
  firstResponseBreached: number;
  /** Open tickets whose resolution target passed unmet. */
  resolutionBreached: number;
  /** Open tickets with a target due within the next hour, not yet breached. */
  breachingWithinHour: number;
  /** Tickets not solved or closed. */
  open: number;
}

interface MarkedRow {
  ticket_id: string;
  tenant_id: string;
  number: number;
  assignee_id: string | null;
  first: boolean;
  resolution: boolean;
}

/**
 * Marks SLA breaches on the agents' queue (a pg-boss cron, once a minute across
 * replicas): one statement over `platform.support_queue`, never a loop over
 * tenants. A breach, once marked, stays marked. Each newly marked target mails
 * the ticket's assignee once, in the transaction that marks it, so a mark never
 * commits without its mail nor a mail without its mark (and a second run finds
 * nothing to mark, so nobody is mailed twice).
 */
@Injectable()
export class SlaBreachService implements OnModuleInit {
  private readonly logger = new Logger('SlaBreaches');

  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobQueue,
    private readonly clock: Clock,
    private readonly notifier: TicketNotifier,
    private readonly metrics: SlaMetrics,
  ) {}

  onModuleInit(): void {
    this.jobs.define({
      name: 'support.sla-breaches',
      cron: '* * * * *',
      retryLimit: 0,
      handle: async () => {
        const marked = await this.markBreaches();
        if (marked > 0) this.logger.warn({ marked }, 'SLA breaches marked');
      },
    });
  }

  /** Marks every newly breached target and mails its assignee; returns how many were marked. */
  async markBreaches(): Promise<number> {
    const now = this.clock.now();
    const rows = await this.em.fork().transactional(async (em) => {
      // One UPDATE for both targets: two data-modifying CTEs on the same row would
      // leave only one of them applied.
      const rows = await em.execute<MarkedRow[]>(
        `with due as (
           select ticket_id,
                  first_response_breached_at is null and first_response_at is null
                    and first_response_due_at < ? as first,
                  resolution_breached_at is null and solved_at is null
                    and resolution_due_at < ? as resolution
             from platform.support_queue
            where status not in (?, ?)
            for update)
         update platform.support_queue q
            set first_response_breached_at = case when due.first then ? else q.first_response_breached_at end,
                resolution_breached_at = case when due.resolution then ? else q.resolution_breached_at end
           from due
          where q.ticket_id = due.ticket_id and (due.first or due.resolution)
         returning q.ticket_id, q.tenant_id, q.number, q.assignee_id, due.first, due.resolution`,
        [now, now, TicketStatus.Solved, TicketStatus.Closed, now, now],
      );
      await this.notify(em, rows);
      return rows;
    });
    // Counted once committed: a rolled-back mark is marked again by the next run.
    const first = rows.filter((row) => row.first).length;
    const resolution = rows.filter((row) => row.resolution).length;
    this.metrics.breached('first_response', first);
    this.metrics.breached('resolution', resolution);
    return first + resolution;
  }

  /** One mail per breached target to the assignee (their addresses in one query); unassigned: a log line. */
  private async notify(em: EntityManager, rows: MarkedRow[]): Promise<void> {
    const assigneeIds = [...new Set(rows.flatMap((row) => row.assignee_id ?? []))];
    const users = assigneeIds.length
      ? await em.find(User, { id: { $in: assigneeIds } }, { fields: ['email'] })
      : [];
    const emails = new Map(users.map((user) => [user.id, user.email]));
    for (const row of rows) {
      const targets = [
        ...(row.first ? (['first_response'] as const) : []),
        ...(row.resolution ? (['resolution'] as const) : []),
      ];
      const assigneeEmail = row.assignee_id ? emails.get(row.assignee_id) : undefined;
      if (!assigneeEmail) {
        this.logger.warn(
          { tenantId: row.tenant_id, ticketId: row.ticket_id, targets },
          'SLA breached on a ticket with no assignee to mail',
        );
        continue;
      }
      for (const target of targets) {
        this.notifier.slaBreached(
          em,
          {
            tenantId: row.tenant_id,
            ticketId: row.ticket_id,
            number: row.number,
            assigneeEmail,
          },
          target,
        );
      }
    }
  }

  async counts(tenantId?: string): Promise<SlaCounts> {
    const now = this.clock.now();
    const soon = new Date(now.getTime() + 3600_000);
    const [row] = await this.em.fork().execute<Record<keyof SlaCounts, number>[]>(
      `select
         count(*) filter (where first_response_breached_at is not null)::int as "firstResponseBreached",
         count(*) filter (where resolution_breached_at is not null)::int as "resolutionBreached",
         count(*) filter (where
           (first_response_breached_at is null and first_response_at is null and first_response_due_at between ? and ?)
           or (resolution_breached_at is null and solved_at is null and resolution_due_at between ? and ?))::int
           as "breachingWithinHour",
         count(*)::int as "open"
       from platform.support_queue
       where status not in (?, ?) ${tenantId ? 'and tenant_id = ?' : ''}`,
      [
        now,
        soon,
        now,
        soon,
        TicketStatus.Solved,
        TicketStatus.Closed,
        ...(tenantId ? [tenantId] : []),
      ],
    );
    return row;
  }
}
