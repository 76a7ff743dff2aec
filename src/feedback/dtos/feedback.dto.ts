import { ApiProperty, ApiPropertyOptional, IntersectionType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsDate,
  IsEnum,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
  MinLength,
  registerDecorator,
  ValidationArguments,
} from 'class-validator';
import { WithinStorableDates } from '../../common/http/dates';
import { PageQuery } from '../../common/http/pagination';
import type { Feedback } from '../feedback.entity';
import {
  CONTEXT_LIMITS,
  contextProblem,
  FeedbackCategory,
  FeedbackContext,
  FeedbackKind,
  MESSAGE_MAX_LENGTH,
  scoreProblem,
} from '../feedback-rules';
import type { FeedbackSummary } from '../feedback-summary';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** `score` within the range of the DTO's `kind`. */
function ScoreFitsKind(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'scoreFitsKind',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown, args: ValidationArguments) =>
          scoreProblem((args.object as CreateFeedbackDto).kind, value) === null,
        defaultMessage: (args: ValidationArguments) =>
          scoreProblem((args.object as CreateFeedbackDto).kind, args.value) ?? 'score is invalid',
      },
    });
}

/** A flat, bounded `context` object (see CONTEXT_LIMITS). */
function BoundedContext(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'boundedContext',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => contextProblem(value) === null,
        defaultMessage: (args: ValidationArguments) =>
          contextProblem(args.value) ?? 'context is invalid',
      },
    });
}

export class CreateFeedbackDto {
  @ApiProperty({ enum: FeedbackKind, description: '`rating` (1–5) or `nps` (0–10).' })
  @IsEnum(FeedbackKind)
  kind!: FeedbackKind;

  @ApiProperty({
    type: 'integer',
    minimum: 0,
    maximum: 10,
    example: 9,
    description: 'rating: 1–5; nps: 0–10 ("how likely are you to recommend us?").',
  })
  @IsInt()
  @ScoreFitsKind()
  score!: number;

  @ApiPropertyOptional({ enum: FeedbackCategory, default: FeedbackCategory.Other })
  @IsOptional()
  @IsEnum(FeedbackCategory)
  category?: FeedbackCategory;

  @ApiPropertyOptional({
    maxLength: MESSAGE_MAX_LENGTH,
    description: 'Free text (trimmed; blank is stored as no message).',
  })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(MESSAGE_MAX_LENGTH)
  message?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'string' }, { type: 'number' }, { type: 'boolean' }] },
    maxProperties: CONTEXT_LIMITS.maxKeys,
    example: { page: '/settings/billing', appVersion: '4.2.0', userAgent: 'Mozilla/5.0' },
    description: `Where it was given: flat keys (letters, digits, _ . -; at most ${CONTEXT_LIMITS.maxKeys}) with strings (≤ ${CONTEXT_LIMITS.maxStringLength} characters), numbers, booleans or null; at most ${CONTEXT_LIMITS.maxBytes} bytes as JSON.`,
  })
  @IsOptional()
  @BoundedContext()
  context?: FeedbackContext;
}

export class FeedbackDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  tenantId!: string;

  @ApiProperty({ format: 'uuid' })
  userId!: string;

  @ApiProperty({ enum: FeedbackKind })
  kind!: FeedbackKind;

  @ApiProperty({ type: 'integer' })
  score!: number;

  @ApiProperty({ enum: FeedbackCategory })
  category!: FeedbackCategory;

  @ApiProperty({ type: String, nullable: true })
  message!: string | null;

  @ApiProperty({ type: 'object', additionalProperties: true })
  context!: FeedbackContext;

  @ApiProperty()
  createdAt!: Date;

  static from(row: Feedback): FeedbackDto {
    return {
      id: row.id,
      tenantId: row.tenant,
      userId: row.userId,
      kind: row.kind,
      score: row.score,
      category: row.category,
      message: row.message ?? null,
      context: row.context,
      createdAt: row.createdAt,
    };
  }
}

/** As staff see it: with the organisation's slug. */
export class AdminFeedbackDto extends FeedbackDto {
  @ApiProperty({ example: 'acme' })
  tenantSlug!: string;
}

export class FeedbackPageDto {
  @ApiProperty({ type: [AdminFeedbackDto] })
  items!: AdminFeedbackDto[];

  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  nextCursor!: string | null;
}

/** The period (and organisation) the summary and the filters look at. */
export class FeedbackPeriodQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  tenantId?: string;

  @ApiPropertyOptional({ description: 'Feedback given at or after this time.' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @WithinStorableDates()
  from?: Date;

  @ApiPropertyOptional({ description: 'Feedback given before this time.' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @WithinStorableDates()
  to?: Date;
}

/** The admin list's and the CSV export's filters. */
export class FeedbackFilterQuery extends FeedbackPeriodQuery {
  @ApiPropertyOptional({ enum: FeedbackKind })
  @IsOptional()
  @IsEnum(FeedbackKind)
  kind?: FeedbackKind;

  @ApiPropertyOptional({ enum: FeedbackCategory })
  @IsOptional()
  @IsEnum(FeedbackCategory)
  category?: FeedbackCategory;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10)
  minScore?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 0, maximum: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(10)
  maxScore?: number;

  @ApiPropertyOptional({
    minLength: 1,
    maxLength: 200,
    description: 'A substring of the message (case-insensitive).',
  })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  q?: string;
}

/** The filters, newest first, a page at a time. */
export class ListFeedbackQuery extends IntersectionType(PageQuery, FeedbackFilterQuery) {}

class KindCountDto {
  @ApiProperty({ enum: FeedbackKind })
  kind!: FeedbackKind;

  @ApiProperty({ type: 'integer' })
  count!: number;
}

class CategoryCountDto {
  @ApiProperty({ enum: FeedbackCategory })
  category!: FeedbackCategory;

  @ApiProperty({ type: 'integer' })
  count!: number;
}

class ScoreCountDto {
  @ApiProperty({ type: 'integer', minimum: 1, maximum: 5 })
  score!: number;

  @ApiProperty({ type: 'integer' })
  count!: number;
}

class RatingSummaryDto {
  @ApiProperty({ type: 'integer' })
  responses!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 4.25,
    description: 'Mean rating, rounded half away from zero to 2 decimals; null without ratings.',
  })
  average!: number | null;

  @ApiProperty({ type: [ScoreCountDto], description: 'How many gave each rating, 1 to 5.' })
  distribution!: ScoreCountDto[];
}

class NpsSummaryDto {
  @ApiProperty({ type: 'integer' })
  responses!: number;

  @ApiProperty({ type: 'integer', description: 'Scores 9–10.' })
  promoters!: number;

  @ApiProperty({ type: 'integer', description: 'Scores 7–8.' })
  passives!: number;

  @ApiProperty({ type: 'integer', description: 'Scores 0–6.' })
  detractors!: number;

  @ApiProperty({
    type: Number,
    nullable: true,
    minimum: -100,
    maximum: 100,
    example: 33.3,
    description:
      'Net Promoter Score: % promoters − % detractors, rounded half away from zero to 1 decimal; null without NPS answers.',
  })
  score!: number | null;
}

export class FeedbackSummaryDto {
  @ApiProperty({ type: 'integer', description: 'All feedback in the period, both kinds.' })
  responses!: number;

  @ApiProperty({ type: [KindCountDto] })
  byKind!: KindCountDto[];

  @ApiProperty({ type: [CategoryCountDto], description: 'Every category, zeros included.' })
  byCategory!: CategoryCountDto[];

  @ApiProperty({ type: RatingSummaryDto })
  rating!: RatingSummaryDto;

  @ApiProperty({ type: NpsSummaryDto })
  nps!: NpsSummaryDto;

  static from(summary: FeedbackSummary): FeedbackSummaryDto {
    return summary;
  }
}
