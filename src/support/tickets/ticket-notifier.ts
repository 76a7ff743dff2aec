import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { User } from '../../identity/entities/user.entity';
import { OutboxService } from '../../notifications/outbox.service';
import { Ticket } from './entities/ticket.entity';

/**
 * Ticket mail through the outbox, in the ticket's transaction: the requester
 * hears of an agent's reply, the assignee of the requester's reply and of
 * being assigned. Mails name the ticket and link to it; the words stay in the
 * tenant's schema.
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
    this.outbox.enqueue(em, {
      to: user.email,
      subject: `${subject}: ${ticket.subject}`.slice(0, 200),
      text: `${subject}: "${ticket.subject}".\n\nOpen it: ${this.config.http.publicUrl}/support/tickets/${ticket.id}\n`,
      template,
      tenantId,
    });
  }
}
