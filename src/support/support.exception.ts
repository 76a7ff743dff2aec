import { DomainException } from '../common/errors/domain.exception';

export enum SupportErrorCode {
  TicketNotFound = 'ticket_not_found',
  TicketClosed = 'ticket_closed',
  TransitionNotAllowed = 'ticket_transition_not_allowed',
  NotRequester = 'not_requester',
  RatingNotOpen = 'rating_not_open',
  AssigneeInvalid = 'assignee_invalid',
  MergeInvalid = 'ticket_merge_invalid',
  AttachmentNotFound = 'attachment_not_found',
  AttachmentTooLarge = 'attachment_too_large',
  AttachmentTypeNotAllowed = 'attachment_type_not_allowed',
  MacroNotFound = 'support_macro_not_found',
  MacroNameTaken = 'support_macro_name_taken',
  MacroTemplateInvalid = 'support_macro_template_invalid',
  TicketNotSolved = 'ticket_not_solved',
}

export class SupportException extends DomainException<SupportErrorCode> {
  constructor(code: SupportErrorCode, detail: string, extensions?: Record<string, unknown>) {
    super(code, detail, extensions);
  }

  get status(): number {
    switch (this.code) {
      case SupportErrorCode.TicketNotFound:
      case SupportErrorCode.AttachmentNotFound:
      case SupportErrorCode.MacroNotFound:
        return 404;
      case SupportErrorCode.MacroTemplateInvalid:
        return 400;
      case SupportErrorCode.NotRequester:
        return 403;
      case SupportErrorCode.TicketClosed:
      case SupportErrorCode.TransitionNotAllowed:
      case SupportErrorCode.RatingNotOpen:
      case SupportErrorCode.MacroNameTaken:
      case SupportErrorCode.TicketNotSolved:
        return 409;
      case SupportErrorCode.AssigneeInvalid:
      case SupportErrorCode.MergeInvalid:
        return 422;
      case SupportErrorCode.AttachmentTooLarge:
        return 413;
      case SupportErrorCode.AttachmentTypeNotAllowed:
        return 415;
    }
  }
}
