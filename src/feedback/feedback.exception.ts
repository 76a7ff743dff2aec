import { DomainException } from '../common/errors/domain.exception';

export enum FeedbackErrorCode {
  /** Feedback is a person's: API keys may not give it. */
  UserRequired = 'feedback_user_required',
  /** Platform staff acting on an organisation they do not belong to may not speak for it. */
  MemberRequired = 'feedback_member_required',
  /** The organisation named (by the demo generator, without HTTP) does not exist. */
  TenantNotFound = 'feedback_tenant_not_found',
  /** The list's cursor is not a row of this list. */
  CursorInvalid = 'feedback_cursor_invalid',
}

export class FeedbackException extends DomainException<FeedbackErrorCode> {
  constructor(code: FeedbackErrorCode, detail: string, extensions?: Record<string, unknown>) {
    super(code, detail, extensions);
  }

  get status(): number {
    switch (this.code) {
      case FeedbackErrorCode.UserRequired:
      case FeedbackErrorCode.MemberRequired:
        return 403;
      case FeedbackErrorCode.TenantNotFound:
        return 404;
      case FeedbackErrorCode.CursorInvalid:
        return 400;
    }
  }
}
