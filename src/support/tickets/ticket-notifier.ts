import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { User } from '../../identity/entities/user.entity';
import { OutboxService } from '../../notifications/outbox.service';
import { Ticket } from './entities/ticket.entity';

/** An SLA target the breach job found missed. */
export type SlaTarget = 'first_response' | 'resolution';

const TARGET_NAMES: Record<SlaTarget, string> = {
  first_response: 'first response',
  resolution: 'resolution',
};

/**
 * Ticket mail through the outbox, in the ticket's transaction: the requester
 * hears of an agent's reply, the assignee of the requester's reply, of being
 * assigned and of a missed SLA target. Mails name the ticket and link to it;
 * the words stay in the tenant's schema.
 */
@Injectable()
export class TicketNotifier {
  constructor(
    private readonly outbox: OutboxService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async replied(
    em: EntityManager,
    tenantId: string,
    ticket: Ticket,
    by: 'requester' | 'agent',
  ): Promise<void> {
    const to = by === 'agent' ? ticket.requesterId : ticket.assigneeId;
    if (!to) return;
    await this.send(
      em,
      tenantId,
      to,
      ticket,
      'support.ticket_replied',
      `New reply on ticket #${ticket.number}`,
    );
  }

  async assigned(em: EntityManager, tenantId: string, ticket: Ticket): Promise<void> {
    if (!ticket.assigneeId) return;
    await this.send(
      em,
      tenantId,
      ticket.assigneeId,
      ticket,
      'support.ticket_assigned',
      `Ticket #${ticket.number} is assigned to you`,
    );
  }

  /**
   * One missed target of an assigned ticket, in the breach job's transaction
   * (which reads only the platform queue: the mail names the ticket by number).
   */
  slaBreached(
    em: EntityManager,
    breach: { tenantId: string; ticketId: string; number: number; assigneeEmail: string },
    target: SlaTarget,
  ): void {
    const what = TARGET_NAMES[target];
    this.outbox.enqueue(em, {
      to: breach.assigneeEmail,
      subject: `SLA breached: ${what} on ticket #${breach.number} is overdue`,
      text:
        `The ${what} target of ticket #${breach.number}, assigned to you, has passed.\n\n` +
        `Open it: ${this.config.http.publicUrl}/support/tickets/${breach.ticketId}\n`,
      template: `support.sla_breached.${target}`,
      tenantId: breach.tenantId,
    });
  }

  private async send(
    em: EntityManager,
    tenantId: string,
    userId: string,
    ticket: Ticket,
    template: string,
    subject: string,
  ): Promise<void> {
    const user = await em.findOne(User, { id: userId }, { fields: ['email'] });
    if (!user) return;
    // A subject may hold line breaks; a mail header may not (the outbox refuses it,
    // which would fail every reply to the ticket).
    const oneLine = ticket.subject.replace(/\s+/g, ' ').trim();
    this.outbox.enqueue(em, {
      to: user.email,
      subject: `${subject}: ${oneLine}`.slice(0, 200),
      text: `${subject}: "${ticket.subject}".\n\nOpen it: ${this.config.http.publicUrl}/support/tickets/${ticket.id}\n`,
      template,
      tenantId,
    });
  }
}
