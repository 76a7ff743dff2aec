import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { SupportTier } from '../../billing/entities/plan.entity';
import { Clock } from '../../common/clock';
import { evaluateSla, intervalsFromChanges, TicketStatus as SlaStatus } from '../sla/sla-clock';
import { slaPolicyFor } from '../sla/sla-policy';
import { TicketEvent } from '../tickets/entities/ticket-event.entity';
import { Ticket } from '../tickets/entities/ticket.entity';
import { SupportQueueEntry } from './support-queue-entry.entity';

const TIERS = new Set<string>(Object.values(SupportTier));

/**
 * Keeps `platform.support_queue` in step with the tenants' tickets: one narrow
 * row per ticket (ids, status, priority, assignee, SLA due times), written in
 * the ticket's own transaction.
 */
@Injectable()
export class SupportQueueService {
  constructor(private readonly clock: Clock) {}

  /** SLA due times from the plan's support tier, the priority and the status history. */
  dueTimes(
    ticket: Ticket,
    statusEvents: readonly Pick<TicketEvent, 'toValue' | 'at'>[],
    supportTier: string,
  ): { firstResponseDueAt: Date | null; resolutionDueAt: Date | null } {
    const tier = TIERS.has(supportTier) ? (supportTier as SupportTier) : SupportTier.Community;
    const policy = slaPolicyFor(tier, ticket.priority);
    const state = evaluateSla(
      {
        targets: policy.targets,
        calendar: policy.calendar,
        createdAt: ticket.createdAt,
        timeline: intervalsFromChanges(
          ticket.createdAt,
          statusEvents.map((event) => ({ status: event.toValue as SlaStatus, at: event.at })),
        ),
        firstRespondedAt: ticket.firstResponseAt ?? null,
        resolvedAt: ticket.solvedAt ?? null,
      },
      this.clock.now(),
    );
    // A paused clock (the ticket waits on the requester) has no due time: it is
    // computed again from the history when the ticket moves on.
    const due = (metric: typeof state.firstResponse) =>
      metric && !metric.paused ? metric.dueAt : null;
    return {
      firstResponseDueAt: due(state.firstResponse),
      resolutionDueAt: due(state.resolution),
    };
  }

  /** Writes the ticket's queue row in the caller's transaction. */
  async upsert(
    em: EntityManager,
    tenantId: string,
    ticket: Ticket,
    statusEvents: readonly Pick<TicketEvent, 'toValue' | 'at'>[],
    supportTier: string,
  ): Promise<SupportQueueEntry> {
    const due = this.dueTimes(ticket, statusEvents, supportTier);
    const fields = {
      tenantId,
      number: ticket.number,
      status: ticket.status,
      priority: ticket.priority,
      requesterId: ticket.requesterId,
      assigneeId: ticket.assigneeId ?? null,
      firstResponseAt: ticket.firstResponseAt ?? null,
      solvedAt: ticket.solvedAt ?? null,
      ...due,
      updatedAt: this.clock.now(),
    };
    const existing = await em.findOne(SupportQueueEntry, { ticketId: ticket.id });
    if (existing) {
      em.assign(existing, fields);
      return existing;
    }
    return em.create(SupportQueueEntry, {
      ticketId: ticket.id,
      createdAt: ticket.createdAt,
      ...fields,
    });
  }
}
