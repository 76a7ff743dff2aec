import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { TenantContext } from '../../tenancy/tenant-context';
import { TenantDirectory } from '../../tenancy/tenant-directory.service';
import { SupportErrorCode, SupportException } from '../support.exception';
import { TicketService } from '../tickets/ticket.service';
import { TicketStatus } from '../tickets/ticket-status';
import { ListQueueQuery, QueueEntryDto } from './support-queue.dto';
import { SupportQueueEntry } from './support-queue-entry.entity';

/** The next SLA due time still open, in SQL (the queue's sort key). */
const NEXT_DUE = `least(
  case when first_response_at is null then first_response_due_at end,
  case when solved_at is null then resolution_due_at end)`;

/** The operator's agents' queue across every tenant: one query over `platform.support_queue`. */
@Injectable()
export class AdminSupportQueueService {
  constructor(
    private readonly em: EntityManager,
    private readonly directory: TenantDirectory,
    private readonly tenantContext: TenantContext,
    private readonly tickets: TicketService,
    private readonly clock: Clock,
  ) {}

  /** Sorted by time to breach (soonest first; tickets without an SLA last). */
  async list(query: ListQueueQuery): Promise<QueueEntryDto[]> {
    const conditions: string[] = [];
    const params: unknown[] = [];
    if (query.status) {
      conditions.push('status = ?');
      params.push(query.status);
    } else {
      conditions.push('status not in (?, ?)');
      params.push(TicketStatus.Solved, TicketStatus.Closed);
    }
    for (const [column, value] of [
      ['priority', query.priority],
      ['assignee_id', query.assigneeId],
      ['tenant_id', query.tenantId],
    ] as const) {
      if (value) {
        conditions.push(`${column} = ?`);
        params.push(value);
      }
    }
    if (query.breachingWithinMinutes) {
      conditions.push(`${NEXT_DUE} <= ?::timestamptz`);
      params.push(new Date(this.clock.now().getTime() + query.breachingWithinMinutes * 60_000));
    }
    const em = this.em.fork();
    const rows = await em.execute<Record<string, unknown>[]>(
      `select * from platform.support_queue
        where ${conditions.join(' and ')}
        order by ${NEXT_DUE} asc nulls last, created_at asc
        limit ?`,
      [...params, query.limit],
    );
    return rows.map((row) => QueueEntryDto.from(em.map(SupportQueueEntry, row)));
  }

  /** Assigns a ticket (to the calling agent by default), in its tenant's context. */
  async assign(ticketId: string, assigneeId: string, actorId: string): Promise<QueueEntryDto> {
    const entry = await this.em.fork().findOne(SupportQueueEntry, { ticketId });
    const tenant = entry ? await this.directory.find(entry.tenantId) : undefined;
    if (!entry || !tenant) {
      throw new SupportException(
        SupportErrorCode.TicketNotFound,
        `No ticket ${ticketId} in the queue.`,
      );
    }
    await this.tenantContext.run(tenant, () =>
      this.tickets.update(ticketId, { assigneeId }, actorId),
    );
    const fresh = await this.em.fork().findOneOrFail(SupportQueueEntry, { ticketId });
    return QueueEntryDto.from(fresh);
  }
}
