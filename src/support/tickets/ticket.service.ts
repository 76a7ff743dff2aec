import { Injectable } from '@nestjs/common';
import { LockMode } from '@mikro-orm/core';
import { EntityManager, type QBFilterQuery } from '@mikro-orm/postgresql';
import { ClsService } from 'nestjs-cls';
import { narrow } from '../../access/accessible-by';
import { EntitlementSource } from '../../access/entitlements';
import { TenantRole } from '../../access/roles';
import { User } from '../../identity/entities/user.entity';
import { Clock } from '../../common/clock';
import { KbVisibility } from '../../knowledge-base/entities/kb-article.entity';
import { KbAdminService } from '../../knowledge-base/kb-admin.service';
import { toPage } from '../../common/http/pagination';
import { RequestStore } from '../../common/request-store';
import { AuditService } from '../../tenancy/audit/audit.service';
import { Tenant } from '../../tenancy/entities/tenant.entity';
import { TenantContext } from '../../tenancy/tenant-context';
import { plainRows } from '../../database/plain-rows';
import { AppliedMacroDto } from '../macros/dtos/support-macro.dto';
import { renderMacro } from '../macros/macro-template';
import { SupportMacroService } from '../macros/support-macro.service';
import { SupportAutoAssignService } from '../queue/support-auto-assign.service';
import { SupportQueueService } from '../queue/support-queue.service';
import { SupportErrorCode, SupportException } from '../support.exception';
import {
  CreateTicketDto,
  ListTicketsQuery,
  MessageBodyDto,
  RateTicketDto,
  TicketDetailDto,
  TicketDto,
  TicketEventDto,
  TicketMessageDto,
  TicketPageDto,
  UpdateTicketDto,
  TICKET_EVENT_FIELDS,
  TICKET_LIST_FIELDS,
  TICKET_MESSAGE_FIELDS,
} from './dtos/ticket.dto';
import { TicketEvent } from './entities/ticket-event.entity';
import { AuthorRole, MessageKind, TicketMessage } from './entities/ticket-message.entity';
import { CreateKbDraftDto, KbDraftDto } from './dtos/kb-draft.dto';
import { kbDraftFromTicket } from './kb-draft';
import { Ticket } from './entities/ticket.entity';
import { TicketNotifier } from './ticket-notifier';
import { canTransition, statusAfterReply, TicketPriority, TicketStatus } from './ticket-status';

/**
 * The current organisation's tickets. Every write also updates the ticket's
 * row in the agents' queue, in the same transaction. Members see what their
 * role allows (the ability narrows every query); internal notes only agents.
 */
@Injectable()
export class TicketService {
  constructor(
    private readonly tenantContext: TenantContext,
    private readonly queue: SupportQueueService,
    private readonly entitlements: EntitlementSource,
    private readonly audit: AuditService,
    private readonly cls: ClsService<RequestStore>,
    private readonly notifier: TicketNotifier,
    private readonly clock: Clock,
    private readonly macros: SupportMacroService,
    private readonly kb: KbAdminService,
    private readonly autoAssign: SupportAutoAssignService,
  ) {}

  async create(dto: CreateTicketDto, requesterId: string): Promise<TicketDto> {
    const tenant = this.tenantContext.tenant;
    const { supportTier } = await this.entitlements.forTenant(tenant.id);
    return this.tenantContext.em.transactional(async (em) => {
      const now = this.clock.now();
      const [{ number }] = await em.execute<{ number: number }[]>(
        `select nextval('"${tenant.schemaName}".ticket_number_seq')::int as number`,
      );
      const ticket = em.create(
        Ticket,
        {
          number,
          subject: dto.subject,
          description: dto.description,
          priority: dto.priority ?? TicketPriority.Normal,
          tags: dto.tags ?? [],
          requesterId,
          createdAt: now,
          updatedAt: now,
        },
        { schema: tenant.schemaName },
      );
      const assigneeId = await this.autoAssign.next(em);
      if (assigneeId) {
        const events: TicketEvent[] = [];
        this.change(ticket, events, null, 'assigneeId', null, assigneeId, now);
        for (const event of events) em.persist(event);
        await this.notifier.assigned(em, tenant.id, ticket);
      }
      await this.queue.upsert(em, tenant.id, ticket, [], supportTier);
      this.audit.record(
        { action: 'ticket.created', target: { type: 'ticket', id: ticket.id } },
        em,
      );
      return TicketDto.from(ticket);
    });
  }

  /**
   * The hottest read of the desk, as plain rows: no managed entities, since
   * nothing on the page is changed (hydrating them into the identity map was
   * the largest single cost of the request; see docs/performance.md).
   */
  async list(query: ListTicketsQuery): Promise<TicketPageDto> {
    // narrow() builds a condition object (never a bare primary key), which the query builder takes.
    const where = narrow<Ticket>(
      {
        ...(query.status ? { status: query.status } : {}),
        ...(query.cursor ? { id: { $lt: query.cursor } } : {}),
      },
      this.cls.get('ability'),
      'read',
      'Ticket',
    ) as QBFilterQuery<Ticket>;
    const rows = await plainRows(this.tenantContext.em, Ticket, TICKET_LIST_FIELDS, {
      where,
      orderBy: { id: 'desc' },
      limit: query.limit + 1,
    });
    return toPage(rows, query.limit, (row) => TicketDto.from(row));
  }

  async get(id: string): Promise<TicketDetailDto> {
    const em = this.tenantContext.em;
    const ticket = await this.load(em, id);
    const agent = this.isAgent();
    // The conversation and history as plain rows: read-only, and the longest part of the page.
    const [messages, history] = await Promise.all([
      plainRows(em, TicketMessage, TICKET_MESSAGE_FIELDS, {
        where: { ticketId: id, ...(agent ? {} : { kind: MessageKind.Reply }) },
        orderBy: { createdAt: 'asc', id: 'asc' },
      }),
      plainRows(em, TicketEvent, TICKET_EVENT_FIELDS, {
        where: { ticketId: id },
        orderBy: { at: 'asc', id: 'asc' },
      }),
    ]);
    return Object.assign(new TicketDetailDto(), TicketDto.from(ticket), {
      messages: messages.map((row) => TicketMessageDto.from(row)),
      history: history.map((row) => TicketEventDto.from(row)),
    });
  }

  /** A public reply: the requester's reopens a ticket waiting on them; an agent's first one is the first response. */
  async reply(id: string, dto: MessageBodyDto, authorId: string): Promise<TicketMessageDto> {
    return this.write(id, async (em, ticket, now, events) => {
      this.assertOpen(ticket);
      const role = ticket.requesterId === authorId ? AuthorRole.Requester : AuthorRole.Agent;
      if (role === AuthorRole.Agent && !this.isAgent()) {
        throw new SupportException(
          SupportErrorCode.NotRequester,
          'Only the requester and support agents may reply to this ticket.',
        );
      }
      const next = statusAfterReply(
        ticket.status,
        role === AuthorRole.Agent ? 'agent' : 'requester',
      );
      if (next !== ticket.status)
        this.change(ticket, events, authorId, 'status', ticket.status, next, now);
      if (role === AuthorRole.Agent && !ticket.firstResponseAt) ticket.firstResponseAt = now;
      const message = em.create(
        TicketMessage,
        {
          ticketId: id,
          kind: MessageKind.Reply,
          authorId,
          authorRole: role,
          body: dto.body,
          createdAt: now,
        },
        { schema: this.tenantContext.tenant.schemaName },
      );
      await this.notifier.replied(
        em,
        this.tenantContext.tenant.id,
        ticket,
        role === AuthorRole.Agent ? 'agent' : 'requester',
      );
      return TicketMessageDto.from(message);
    });
  }

  /**
   * Applies a canned response as the agent, all or nothing: its reply is posted
   * under the rules of an agent's reply (a new ticket opens; the first one is
   * the first response), then its field changes follow, status transitions
   * enforced from the status after the reply. Placeholders are filled last, so
   * they name the ticket as the macro leaves it.
   */
  async applyMacro(id: string, macroId: string, agentId: string): Promise<AppliedMacroDto> {
    return this.write(id, async (em, ticket, now, events) => {
      this.assertOpen(ticket);
      const macro = await this.macros.find(em, macroId);
      const afterReply = statusAfterReply(ticket.status, 'agent');
      const target = macro.setStatus ?? afterReply;
      if (target !== afterReply && !canTransition(afterReply, target)) {
        throw new SupportException(
          SupportErrorCode.TransitionNotAllowed,
          `A ${afterReply} ticket cannot become ${target}.`,
          { from: afterReply, to: target },
        );
      }
      if (target !== ticket.status)
        this.change(ticket, events, agentId, 'status', ticket.status, target, now);
      if (macro.setPriority && macro.setPriority !== ticket.priority)
        this.change(ticket, events, agentId, 'priority', ticket.priority, macro.setPriority, now);
      const tags = [...new Set([...ticket.tags, ...macro.addTags])];
      if (tags.length !== ticket.tags.length)
        this.change(ticket, events, agentId, 'tags', ticket.tags.join(','), tags.join(','), now);
      if (!ticket.firstResponseAt) ticket.firstResponseAt = now;
      const people = await em.find(User, { id: { $in: [ticket.requesterId, agentId] } });
      const nameOf = (userId: string) => people.find((u) => u.id === userId)?.name ?? '';
      const message = em.create(
        TicketMessage,
        {
          ticketId: id,
          kind: MessageKind.Reply,
          authorId: agentId,
          authorRole: AuthorRole.Agent,
          body: renderMacro(macro.body, {
            'ticket.number': String(ticket.number),
            'ticket.subject': ticket.subject,
            'ticket.priority': ticket.priority,
            'requester.name': nameOf(ticket.requesterId),
            'agent.name': nameOf(agentId),
          }),
          createdAt: now,
        },
        { schema: this.tenantContext.tenant.schemaName },
      );
      await this.notifier.replied(em, this.tenantContext.tenant.id, ticket, 'agent');
      this.audit.record(
        {
          action: 'ticket.macro_applied',
          target: { type: 'ticket', id: ticket.id },
          data: { macroId: macro.id },
        },
        em,
      );
      return Object.assign(new AppliedMacroDto(), {
        ticket: TicketDto.from(ticket),
        reply: TicketMessageDto.from(message),
      });
    });
  }

  /**
   * A knowledge-base draft from a solved ticket: the subject as title, the
   * question and the agents' public replies as body (never the requester's
   * replies or internal notes), with the requester's name and e-mail, the
   * organisation's name, any e-mail address and long numbers taken out. The
   * article is the operator's: written through the knowledge base's service,
   * audited in the platform log with the ticket it came from.
   */
  async kbDraft(id: string, dto: CreateKbDraftDto): Promise<KbDraftDto> {
    const tenant = this.tenantContext.tenant;
    const em = this.tenantContext.em;
    const ticket = await this.load(em, id);
    const solved =
      ticket.status === TicketStatus.Solved ||
      (ticket.status === TicketStatus.Closed && ticket.solvedAt);
    if (!solved) {
      throw new SupportException(
        SupportErrorCode.TicketNotSolved,
        'Only a solved ticket has an answer to turn into an article.',
        { status: ticket.status },
      );
    }
    const [replies, requester, organisation] = await Promise.all([
      em.find(
        TicketMessage,
        { ticketId: id, kind: MessageKind.Reply, authorRole: AuthorRole.Agent },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      ),
      em.findOne(User, { id: ticket.requesterId }),
      em.findOne(Tenant, { id: tenant.id }),
    ]);
    const draft = kbDraftFromTicket(
      {
        subject: ticket.subject,
        description: ticket.description,
        agentReplies: replies.map((reply) => reply.body),
      },
      {
        requesterName: requester?.name ?? '',
        requesterEmail: requester?.email ?? '',
        organisationName: organisation?.name ?? '',
      },
    );
    const article = await this.kb.createArticle(
      {
        categoryId: dto.categoryId,
        title: draft.title.slice(0, 200),
        locale: dto.locale ?? 'en',
        body: draft.body,
        visibility: dto.visibility ?? KbVisibility.Internal,
      },
      { tenantId: tenant.id, ticketId: ticket.id },
    );
    return Object.assign(new KbDraftDto(), {
      articleId: article.id,
      slug: article.slug,
      ticketId: ticket.id,
    });
  }

  /** An internal note: agents only, never shown to the organisation's members. */
  async note(id: string, dto: MessageBodyDto, authorId: string): Promise<TicketMessageDto> {
    return this.write(id, (em, ticket, now) => {
      this.assertOpen(ticket);
      const message = em.create(
        TicketMessage,
        {
          ticketId: id,
          kind: MessageKind.Note,
          authorId,
          authorRole: AuthorRole.Agent,
          body: dto.body,
          createdAt: now,
        },
        { schema: this.tenantContext.tenant.schemaName },
      );
      return TicketMessageDto.from(message);
    });
  }

  /** Status (transitions enforced), priority, assignee, tags; each change kept in the history. */
  async update(id: string, dto: UpdateTicketDto, actorId: string): Promise<TicketDto> {
    return this.write(id, async (em, ticket, now, events) => {
      if (dto.status !== undefined && dto.status !== ticket.status) {
        if (!canTransition(ticket.status, dto.status)) {
          throw new SupportException(
            SupportErrorCode.TransitionNotAllowed,
            `A ${ticket.status} ticket cannot become ${dto.status}.`,
            { from: ticket.status, to: dto.status },
          );
        }
        this.change(ticket, events, actorId, 'status', ticket.status, dto.status, now);
      }
      if (dto.priority !== undefined && dto.priority !== ticket.priority) {
        this.change(ticket, events, actorId, 'priority', ticket.priority, dto.priority, now);
      }
      if (dto.assigneeId !== undefined && dto.assigneeId !== (ticket.assigneeId ?? null)) {
        if (dto.assigneeId) await this.assertAssignable(em, dto.assigneeId);
        this.change(
          ticket,
          events,
          actorId,
          'assigneeId',
          ticket.assigneeId ?? null,
          dto.assigneeId,
          now,
        );
        if (dto.assigneeId && dto.assigneeId !== actorId) {
          await this.notifier.assigned(em, this.tenantContext.tenant.id, ticket);
        }
      }
      if (dto.tags !== undefined && dto.tags.join(',') !== ticket.tags.join(',')) {
        this.change(
          ticket,
          events,
          actorId,
          'tags',
          ticket.tags.join(','),
          dto.tags.join(','),
          now,
        );
      }
      return TicketDto.from(ticket);
    });
  }

  /**
   * Closes a ticket solved at or before `solvedBefore` (the auto-close job), in
   * its own transaction, through the same transition, history and queue-row
   * update as an agent's close; the history entry has no actor (the system).
   * Returns false, changing nothing, when the ticket is no longer solved that
   * long (reopened or closed since the job read the queue).
   */
  async autoClose(id: string, solvedBefore: Date): Promise<boolean> {
    return this.write(id, (em, ticket, now, events) => {
      const solvedAt = ticket.solvedAt;
      if (ticket.status !== TicketStatus.Solved || !solvedAt || solvedAt > solvedBefore) {
        return false;
      }
      this.change(ticket, events, null, 'status', ticket.status, TicketStatus.Closed, now);
      this.audit.record(
        {
          action: 'ticket.auto_closed',
          actor: { type: 'system' },
          target: { type: 'ticket', id: ticket.id },
          data: { solvedAt: solvedAt.toISOString() },
        },
        em,
      );
      return true;
    });
  }

  /**
   * Merges a duplicate into the ticket that stays: its messages move there, it
   * closes with a pointer, and both histories say so.
   */
  async merge(id: string, intoId: string, actorId: string): Promise<TicketDto> {
    if (id === intoId) {
      throw new SupportException(
        SupportErrorCode.MergeInvalid,
        'A ticket cannot be merged into itself.',
      );
    }
    const tenant = this.tenantContext.tenant;
    const { supportTier } = await this.entitlements.forTenant(tenant.id);
    return this.tenantContext.em.transactional(async (em) => {
      // Not-found answers follow the request (the source first); then both are
      // locked in id order, so two opposite merges cannot deadlock.
      await this.load(em, id);
      await this.load(em, intoId);
      const [first, second] = [id, intoId].sort();
      const a = await this.load(em, first, true);
      const b = await this.load(em, second, true);
      const [source, target] = a.id === id ? [a, b] : [b, a];
      for (const ticket of [source, target]) this.assertOpen(ticket);
      const now = this.clock.now();
      await em.nativeUpdate(TicketMessage, { ticketId: source.id }, { ticketId: target.id });
      em.create(
        TicketMessage,
        {
          ticketId: target.id,
          kind: MessageKind.Note,
          authorId: actorId,
          authorRole: AuthorRole.Agent,
          body: `Ticket #${source.number} ("${source.subject}") was merged into this one.`,
          createdAt: now,
        },
        { schema: tenant.schemaName },
      );
      const events: TicketEvent[] = [];
      this.change(source, events, actorId, 'status', source.status, TicketStatus.Closed, now);
      events.push(
        Object.assign(new TicketEvent(), {
          ticketId: source.id,
          actorId,
          field: 'mergedInto',
          fromValue: null,
          toValue: target.id,
          at: now,
        }),
        Object.assign(new TicketEvent(), {
          ticketId: target.id,
          actorId,
          field: 'merged',
          fromValue: null,
          toValue: source.id,
          at: now,
        }),
      );
      source.mergedIntoId = target.id;
      source.updatedAt = now;
      target.updatedAt = now;
      for (const event of events) em.persist(event);
      for (const ticket of [source, target]) {
        const history = await em.find(
          TicketEvent,
          { ticketId: ticket.id, field: 'status' },
          { orderBy: { at: 'asc', id: 'asc' } },
        );
        const fresh = events.filter((e) => e.ticketId === ticket.id && e.field === 'status');
        await this.queue.upsert(em, tenant.id, ticket, [...history, ...fresh], supportTier);
      }
      this.audit.record(
        {
          action: 'ticket.merged',
          target: { type: 'ticket', id: source.id },
          data: { into: target.id },
        },
        em,
      );
      return TicketDto.from(target);
    });
  }

  /** The requester rates a solved ticket, once it is solved (or closed). */
  async rate(id: string, dto: RateTicketDto, userId: string): Promise<TicketDto> {
    return this.write(id, (_em, ticket, now) => {
      if (ticket.requesterId !== userId) {
        throw new SupportException(
          SupportErrorCode.NotRequester,
          'Only the requester rates a ticket.',
        );
      }
      if (ticket.status !== TicketStatus.Solved && ticket.status !== TicketStatus.Closed) {
        throw new SupportException(
          SupportErrorCode.RatingNotOpen,
          'A ticket is rated once it is solved.',
        );
      }
      ticket.csatScore = dto.score;
      ticket.csatComment = dto.comment ?? null;
      ticket.csatAt = now;
      return TicketDto.from(ticket);
    });
  }

  /** Fails with `ticket_not_found` unless the caller may read the ticket (members: their own). */
  async assertReadable(id: string): Promise<void> {
    await this.load(this.tenantContext.em, id);
  }

  /**
   * Runs `fn` in the ticket's write transaction when the caller may reply to
   * it (the requester or an agent, the ticket not closed), and records
   * `label` as an `attachment` entry of its history.
   */
  async attach<T>(
    id: string,
    actorId: string,
    label: string,
    fn: (em: EntityManager, now: Date) => T | Promise<T>,
  ): Promise<T> {
    return this.write(id, async (em, ticket, now, events) => {
      this.assertOpen(ticket);
      if (ticket.requesterId !== actorId && !this.isAgent()) {
        throw new SupportException(
          SupportErrorCode.NotRequester,
          'Only the requester and support agents may add files to this ticket.',
        );
      }
      const result = await fn(em, now);
      events.push(
        Object.assign(new TicketEvent(), {
          ticketId: id,
          actorId,
          field: 'attachment',
          fromValue: null,
          toValue: label,
          at: now,
        }),
      );
      return result;
    });
  }

  /** Whether the caller handles tickets (the tenant's support agents, admins, the operator's staff). */
  isAgent(): boolean {
    return this.cls.get('ability')?.can('create', 'TicketNote') ?? false;
  }

  private async write<T>(
    id: string,
    fn: (em: EntityManager, ticket: Ticket, now: Date, events: TicketEvent[]) => T | Promise<T>,
  ): Promise<T> {
    const tenant = this.tenantContext.tenant;
    const { supportTier } = await this.entitlements.forTenant(tenant.id);
    return this.tenantContext.em.transactional(async (em) => {
      const ticket = await this.load(em, id, true);
      const now = this.clock.now();
      const events: TicketEvent[] = [];
      const result = await fn(em, ticket, now, events);
      ticket.updatedAt = now;
      for (const event of events) em.persist(event);
      const history = await em.find(
        TicketEvent,
        { ticketId: id, field: 'status' },
        { orderBy: { at: 'asc', id: 'asc' } },
      );
      await this.queue.upsert(
        em,
        tenant.id,
        ticket,
        [...history, ...events.filter((e) => e.field === 'status')],
        supportTier,
      );
      return result;
    });
  }

  private change(
    ticket: Ticket,
    events: TicketEvent[],
    actorId: string | null,
    field: 'status' | 'priority' | 'assigneeId' | 'tags',
    from: string | null,
    to: string | null,
    now: Date,
  ): void {
    events.push(
      Object.assign(new TicketEvent(), {
        ticketId: ticket.id,
        actorId,
        field,
        fromValue: from,
        toValue: to,
        at: now,
      }),
    );
    switch (field) {
      case 'status':
        ticket.status = to as TicketStatus;
        if (to === TicketStatus.Solved) ticket.solvedAt = now;
        if (to === TicketStatus.Open) ticket.solvedAt = null;
        if (to === TicketStatus.Closed) ticket.closedAt = now;
        break;
      case 'priority':
        ticket.priority = to as TicketPriority;
        break;
      case 'assigneeId':
        ticket.assigneeId = to;
        break;
      case 'tags':
        ticket.tags = to ? to.split(',') : [];
        break;
    }
  }

  /**
   * Tickets go to people who handle them here: the operator's staff, or this
   * organisation's owners, admins and support agents. Anyone else (another
   * organisation's user, a plain member, an unknown id) would be mailed the
   * ticket's subject without being able to open it.
   */
  private async assertAssignable(em: EntityManager, userId: string): Promise<void> {
    const [row] = await em.execute<{ ok: number }[]>(
      `select 1 as ok from platform.user_account u
        where u.id = ? and (u.platform_role is not null or exists (
          select 1 from platform.membership m
           where m.user_id = u.id and m.tenant_id = ? and m.role in (?, ?, ?)))`,
      [
        userId,
        this.tenantContext.tenant.id,
        TenantRole.Owner,
        TenantRole.Admin,
        TenantRole.SupportAgent,
      ],
    );
    if (!row) {
      throw new SupportException(
        SupportErrorCode.AssigneeInvalid,
        'Tickets are assigned to support staff or to agents of this organisation.',
        { assigneeId: userId },
      );
    }
  }

  private assertOpen(ticket: Ticket): void {
    if (ticket.status === TicketStatus.Closed) {
      throw new SupportException(
        SupportErrorCode.TicketClosed,
        'The ticket is closed; open a new one.',
      );
    }
  }

  /** One of the tenant's tickets the caller may read, or 404 (not found and not allowed look the same). */
  private async load(em: EntityManager, id: string, lock = false): Promise<Ticket> {
    const ticket = await em.findOne(
      Ticket,
      narrow({ id }, this.cls.get('ability'), 'read', 'Ticket'),
      lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {},
    );
    if (!ticket) throw new SupportException(SupportErrorCode.TicketNotFound, `No ticket ${id}.`);
    return ticket;
  }
}
