import { DomainException } from '../common/errors/domain.exception';

export enum SupportErrorCode {
  TicketNotFound = 'ticket_not_found',
  TicketClosed = 'ticket_closed',
  TransitionNotAllowed = 'ticket_transition_not_allowed',
  NotRequester = 'not_requester',
  RatingNotOpen = 'rating_not_open',
  AssigneeInvalid = 'assignee_invalid',
  MergeInvalid = 'ticket_merge_invalid',
}

export class SupportException extends DomainException<SupportErrorCode> {
  constructor(code: SupportErrorCode, detail: string, extensions?: Record<string, unknown>) {
    super(code, detail, extensions);
  }

  get status(): number {
    switch (this.code) {
      case SupportErrorCode.TicketNotFound:
        return 404;
      case SupportErrorCode.NotRequester:
        return 403;
      case SupportErrorCode.TicketClosed:
      case SupportErrorCode.TransitionNotAllowed:
      case SupportErrorCode.RatingNotOpen:
        return 409;
      case SupportErrorCode.AssigneeInvalid:
      case SupportErrorCode.MergeInvalid:
        return 422;
    }
  }
}
