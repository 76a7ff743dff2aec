import { Injectable, Logger, OnModuleInit } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { JobQueue } from '../../common/jobs/job-queue';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { TenantStatus } from '../../tenancy/entities/tenant.entity';
import { TenantContext } from '../../tenancy/tenant-context';
import { TenantDirectory } from '../../tenancy/tenant-directory.service';
import { TicketService } from '../tickets/ticket.service';
import { TicketStatus } from '../tickets/ticket-status';

/** Tickets closed per run at most; a longer backlog is worked off by the next runs. */
export const AUTO_CLOSE_BATCH = 200;

/**
 * `closed` is final after a while: a solved ticket nobody reopened within
 * `SUPPORT_AUTO_CLOSE_HOURS` closes by itself (a pg-boss cron every five
 * minutes, once across replicas). Due tickets are found with one query over
 * `platform.support_queue`; each is closed in its own tenant's transaction by
 * the ticket service, with the history entry and queue row an agent's close
 * writes. The ticket is read again under lock, so a reply that reopened it
 * after the query wins. Running twice closes nothing twice.
 */
@Injectable()
export class SupportAutoCloseService implements OnModuleInit {
  private readonly logger = new Logger('SupportAutoClose');

  constructor(
    private readonly em: EntityManager,
    private readonly jobs: JobQueue,
    private readonly clock: Clock,
    private readonly directory: TenantDirectory,
    private readonly tenantContext: TenantContext,
    private readonly tickets: TicketService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  onModuleInit(): void {
    // Defined even when off, so a schedule left by an earlier deploy finds a worker that does nothing.
    this.jobs.define({
      name: 'support.auto-close',
      cron: '*/5 * * * *',
      retryLimit: 0,
      handle: async () => {
        const closed = await this.closeDue();
        if (closed > 0) this.logger.log({ closed }, 'solved tickets closed automatically');
      },
    });
  }

  /** Closes up to `limit` tickets solved longer ago than the configured hours; returns how many. */
  async closeDue(limit = AUTO_CLOSE_BATCH): Promise<number> {
    const hours = this.config.support.autoCloseHours;
    if (hours === 0) return 0;
    const solvedBefore = new Date(this.clock.now().getTime() - hours * 3600_000);
    const due = await this.em.fork().execute<{ ticket_id: string; tenant_id: string }[]>(
      // A deleted organisation's schema may be gone: its tickets are left alone.
      `select q.ticket_id, q.tenant_id from platform.support_queue q
         join platform.tenant t on t.id = q.tenant_id and t.status <> ?
        where q.status = ? and q.solved_at <= ?
        order by q.solved_at, q.ticket_id
        limit ?`,
      [TenantStatus.Deleted, TicketStatus.Solved, solvedBefore, limit],
    );
    let closed = 0;
    for (const { ticket_id: ticketId, tenant_id: tenantId } of due) {
      // One ticket's failure (a tenant mid-migration, a vanished row) must not hold up the rest.
      try {
        const tenant = await this.directory.find(tenantId);
        if (!tenant) {
          this.logger.warn({ tenantId, ticketId }, 'auto-close: no such tenant; skipped');
          continue;
        }
        const done = await this.tenantContext.run(tenant, () =>
          this.tickets.autoClose(ticketId, solvedBefore),
        );
        if (done) closed += 1;
      } catch (error) {
        this.logger.error({ err: error, tenantId, ticketId }, 'auto-close failed for a ticket');
      }
    }
    return closed;
  }
}
