import { ForeignKeyConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import { v7 } from 'uuid';
import { Clock } from '../common/clock';
import { CommonException } from '../common/errors/common.exception';
import { FieldError } from '../common/errors/domain.exception';
import { RequestStore } from '../common/request-store';
import { TenantContext } from '../tenancy/tenant-context';
import { CreateFeedbackDto, FeedbackDto } from './dtos/feedback.dto';
import { Feedback } from './feedback.entity';
import { FeedbackErrorCode, FeedbackException } from './feedback.exception';
import {
  contextProblem,
  FeedbackCategory,
  FeedbackContext,
  FeedbackKind,
  MESSAGE_MAX_LENGTH,
  scoreProblem,
} from './feedback-rules';

/** Feedback to store, as the demo data generator (or any caller without HTTP) gives it. */
export interface RecordFeedbackInput {
  tenantId: string;
  userId: string;
  kind: FeedbackKind;
  score: number;
  category?: FeedbackCategory;
  message?: string | null;
  context?: FeedbackContext;
  /** When it was given; default: the clock's now. */
  at?: Date;
}

/** Members' product feedback: written in the caller's organisation, read by the operator. */
@Injectable()
export class FeedbackService {
  constructor(
    private readonly em: EntityManager,
    private readonly tenantContext: TenantContext,
    private readonly cls: ClsService<RequestStore>,
    private readonly clock: Clock,
  ) {}

  /**
   * Feedback from the signed-in member, stored under the request's tenant
   * (never one named in the body) at the clock's now.
   */
  async submit(input: CreateFeedbackDto): Promise<FeedbackDto> {
    const principal = this.cls.get('principal');
    if (principal?.kind !== 'user') {
      throw new FeedbackException(
        FeedbackErrorCode.UserRequired,
        'Feedback is given by a signed-in member, not with an API key.',
      );
    }
    if (this.cls.get('tenantAccess')?.asStaff) {
      throw new FeedbackException(
        FeedbackErrorCode.MemberRequired,
        "Feedback is given by the organisation's members; platform staff acting on it are not one.",
      );
    }
    return this.record({
      ...input,
      tenantId: this.tenantContext.tenant.id,
      userId: principal.userId,
    });
  }

  /**
   * Stores feedback for a tenant and user at a given time, with the same rules
   * as the API (a bad input is a validation error). For demo data and
   * simulations; request handlers use `submit`.
   */
  async record(input: RecordFeedbackInput): Promise<FeedbackDto> {
    assertValid(input);
    const at = input.at ?? this.clock.now();
    const message = input.message?.trim() || null;
    const em = this.em.fork();
    const row = em.create(Feedback, {
      // Time-ordered at the moment it was given, so back-dated demo rows sort among the rest.
      id: v7({ msecs: at.getTime() }),
      tenant: input.tenantId,
      userId: input.userId,
      kind: input.kind,
      score: input.score,
      category: input.category ?? FeedbackCategory.Other,
      message,
      context: input.context ?? {},
      createdAt: at,
    });
    try {
      await em.flush();
    } catch (error) {
      if (error instanceof ForeignKeyConstraintViolationException) {
        throw new FeedbackException(
          FeedbackErrorCode.TenantNotFound,
          `No organisation ${input.tenantId}.`,
        );
      }
      throw error;
    }
    return FeedbackDto.from(row);
  }
}

/** The request DTO's rules again, for callers that do not come through the validation pipe. */
function assertValid(input: RecordFeedbackInput): void {
  const errors: FieldError[] = [];
  if (!Object.values(FeedbackKind).includes(input.kind)) {
    errors.push({ field: 'kind', message: 'kind must be rating or nps' });
  } else {
    const score = scoreProblem(input.kind, input.score);
    if (score) errors.push({ field: 'score', message: score });
  }
  if (input.category !== undefined && !Object.values(FeedbackCategory).includes(input.category)) {
    errors.push({ field: 'category', message: 'category is not a feedback category' });
  }
  if (input.message != null && input.message.trim().length > MESSAGE_MAX_LENGTH) {
    errors.push({
      field: 'message',
      message: `message must be at most ${MESSAGE_MAX_LENGTH} characters`,
    });
  }
  if (input.context !== undefined) {
    const context = contextProblem(input.context);
    if (context) errors.push({ field: 'context', message: context });
  }
  if (input.at && Number.isNaN(input.at.getTime())) {
    errors.push({ field: 'at', message: 'at must be a valid date' });
  }
  if (errors.length) throw CommonException.validation(errors);
}
