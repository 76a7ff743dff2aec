import { Injectable } from '@nestjs/common';
import { toPage } from '../common/http/pagination';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import {
  ListOutboxMessagesQuery,
  OutboxMessageDetailDto,
  OutboxMessageDto,
  OutboxMessagePageDto,
} from './dtos/outbox-message.dto';
import { OutboxKind, OutboxMessage, OutboxStatus } from './entities/outbox-message.entity';
import { NotificationsErrorCode, NotificationsException } from './notifications.exception';

/** An email to send once the caller's transaction commits. */
export interface OutboxEmail {
  /** One recipient address. */
  to: string;
  subject: string;
  /** Plain-text body (always sent; the HTML part is optional). */
  text: string;
  html?: string | null;
  /** What produced the message, as a dotted name: `auth.verify_email`, `tenant.invitation`. */
  template: string;
  /** The organisation the message is about, if any. */
  tenantId?: string | null;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const TEMPLATE = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/;
// One plain address: no display name, no list, nothing a header could be split on.
const ADDRESS = /^[^\s@<>,;:"()[\]\\]+@[^\s@<>,;:"()[\]\\]+$/;
const LINE_BREAK = /[\r\n]/;

/**
 * The transactional outbox. Modules hand a message to `enqueue()` with the
 * EntityManager of their own unit of work, so the mail commits (or rolls
 * back) with the change that caused it; the outbox worker delivers it after
 * the commit. `list()` and `get()` serve the admin API.
 */
@Injectable()
export class OutboxService {
  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  /**
   * Adds the message to `em`'s unit of work; the caller flushes or commits.
   * Without SMTP_URL it is stored as `held`: readable, never sent.
   * Throws `outbox_message_invalid` for a message that cannot be sent.
   */
  enqueue(em: EntityManager, message: OutboxEmail): OutboxMessageDto {
    const email = validated(message);
    const now = this.clock.now();
    const row = em.create(OutboxMessage, {
      kind: OutboxKind.Email,
      ...email,
      status: this.config.mail.smtpUrl ? OutboxStatus.Pending : OutboxStatus.Held,
      attempts: 0,
      nextAttemptAt: now,
      lastError: null,
      createdAt: now,
      sentAt: null,
    });
    em.persist(row);
    return OutboxMessageDto.from(row);
  }

  /** Newest first, keyset-paginated on the time-ordered id. */
  async list(query: ListOutboxMessagesQuery): Promise<OutboxMessagePageDto> {
    const limit = Math.min(Math.max(Math.trunc(query.limit) || 50, 1), 100);
    const rows = await this.em.fork().find(
      OutboxMessage,
      {
        ...(query.cursor ? { id: { $lt: query.cursor } } : {}),
        ...(query.status ? { status: query.status } : {}),
        ...(query.to ? { to: query.to } : {}),
      },
      {
        orderBy: { id: 'desc' },
        limit: limit + 1,
        // The bodies can be large and hold live links; a list does not need them.
        exclude: ['text', 'html'],
      },
    );
    return toPage(rows, limit, (row) => OutboxMessageDto.from(row));
  }

  /** One message with its bodies; `outbox_message_not_found` when there is none. */
  async get(id: string): Promise<OutboxMessageDetailDto> {
    const row = UUID.test(id) ? await this.em.fork().findOne(OutboxMessage, { id }) : null;
    if (!row) {
      throw new NotificationsException(
        NotificationsErrorCode.OutboxMessageNotFound,
        `No outbox message "${id.slice(0, 64)}".`,
      );
    }
    return OutboxMessageDetailDto.from(row);
  }
}

function validated(message: OutboxEmail): Required<OutboxEmail> {
  const problems: string[] = [];
  const to = typeof message.to === 'string' ? message.to.trim() : '';
  if (to.length > 320 || !ADDRESS.test(to)) problems.push('to must be one email address');
  const subject = typeof message.subject === 'string' ? message.subject.trim() : '';
  if (!subject || subject.length > 500 || LINE_BREAK.test(subject)) {
    problems.push('subject must be one line of 1 to 500 characters');
  }
  if (typeof message.text !== 'string' || message.text.length === 0) {
    problems.push('text must be a non-empty string');
  }
  if (message.html != null && typeof message.html !== 'string') {
    problems.push('html must be a string when given');
  }
  if (typeof message.template !== 'string' || !TEMPLATE.test(message.template)) {
    problems.push('template must be a dotted name such as auth.verify_email');
  }
  if (message.tenantId != null && !UUID.test(message.tenantId)) {
    problems.push('tenantId must be a UUID when given');
  }
  if (problems.length > 0) {
    throw new NotificationsException(
      NotificationsErrorCode.OutboxMessageInvalid,
      `The message cannot be sent: ${problems.join('; ')}.`,
      { problems },
    );
  }
  return {
    to,
    subject,
    text: message.text,
    html: message.html ?? null,
    template: message.template,
    tenantId: message.tenantId ?? null,
  };
}
