import { DomainException } from '../common/errors/domain.exception';

export enum NotificationsErrorCode {
  OutboxMessageNotFound = 'outbox_message_not_found',
  OutboxMessageInvalid = 'outbox_message_invalid',
}

export class NotificationsException extends DomainException<NotificationsErrorCode> {
  constructor(
    code: NotificationsErrorCode,
    detail: string,
    extensions?: Record<string, unknown>,
    cause?: unknown,
  ) {
    super(code, detail, extensions, cause);
  }

  get status(): number {
    switch (this.code) {
      case NotificationsErrorCode.OutboxMessageInvalid:
        return 400;
      case NotificationsErrorCode.OutboxMessageNotFound:
        return 404;
    }
  }
}
