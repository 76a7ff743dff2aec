import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsDate,
  IsIn,
  IsInt,
  IsOptional,
  IsUUID,
  Max,
  Min,
  ValidateBy,
  ValidateIf,
} from 'class-validator';
import { WithinStorableDates } from '../../common/http/dates';
import { PageQuery } from '../../common/http/pagination';
import { AttemptStatus, AttemptTrigger, PaymentAttempt } from '../entities/payment-attempt.entity';
import { PaymentErrorCategory } from '../payments/payment-gateway';
import { SubscriptionDto } from '../subscriptions/dtos/subscription.dto';

const FAILURE_STATUSES = [
  AttemptStatus.Failed,
  AttemptStatus.RequiresAction,
  AttemptStatus.Unknown,
] as const;

export class ListPaymentFailuresQuery extends PageQuery {
  @ApiPropertyOptional({ enum: PaymentErrorCategory })
  @IsOptional()
  @IsIn(Object.values(PaymentErrorCategory))
  category?: PaymentErrorCategory;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  tenantId?: string;

  @ApiPropertyOptional({ description: 'Attempts made at or after this time.' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @WithinStorableDates()
  from?: Date;

  @ApiPropertyOptional({ description: 'Attempts made before this time.' })
  @IsOptional()
  @Type(() => Date)
  @IsDate()
  @WithinStorableDates()
  to?: Date;
}

export class PaymentFailureDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ format: 'uuid' })
  tenantId!: string;

  @ApiProperty({ format: 'uuid' })
  invoiceId!: string;

  @ApiProperty()
  attemptNumber!: number;

  @ApiProperty({ enum: AttemptTrigger })
  trigger!: AttemptTrigger;

  @ApiProperty({ enum: FAILURE_STATUSES })
  status!: AttemptStatus;

  @ApiProperty()
  amount!: number;

  @ApiProperty()
  currency!: string;

  @ApiPropertyOptional({ nullable: true, enum: PaymentErrorCategory })
  category!: string | null;

  @ApiPropertyOptional({ nullable: true, type: String, example: 'insufficient_funds' })
  declineCode!: string | null;

  @ApiPropertyOptional({ nullable: true, type: Boolean })
  retryable!: boolean | null;

  @ApiPropertyOptional({ nullable: true, type: String })
  message!: string | null;

  @ApiPropertyOptional({ nullable: true, type: String })
  gatewayPaymentId!: string | null;

  @ApiPropertyOptional({ nullable: true, type: String, description: 'Quote it to Stripe support.' })
  gatewayRequestId!: string | null;

  @ApiProperty()
  idempotencyKey!: string;

  @ApiProperty()
  createdAt!: Date;

  static from(row: PaymentAttempt): PaymentFailureDto {
    return Object.assign(new PaymentFailureDto(), {
      id: row.id,
      tenantId: row.tenantId,
      invoiceId: row.invoice.id,
      attemptNumber: row.attemptNumber,
      trigger: row.trigger,
      status: row.status,
      amount: row.amount,
      currency: row.currency,
      category: row.category ?? null,
      declineCode: row.declineCode ?? null,
      retryable: row.retryable ?? null,
      message: row.message ?? null,
      gatewayPaymentId: row.gatewayPaymentId ?? null,
      gatewayRequestId: row.gatewayRequestId ?? null,
      idempotencyKey: row.idempotencyKey,
      createdAt: row.createdAt,
    });
  }
}

export class FailureCountDto {
  @ApiProperty({ example: 'insufficient_funds', description: '`unknown` when not classified.' })
  category!: string;

  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty()
  count!: number;

  @ApiProperty({ description: 'Sum of the failed attempts, minor units.' })
  amount!: number;
}

export class PaymentFailurePageDto {
  @ApiProperty({ type: [PaymentFailureDto] })
  items!: PaymentFailureDto[];

  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  nextCursor!: string | null;

  @ApiProperty({
    type: [FailureCountDto],
    description: 'Counts by category over the same filters (all pages).',
  })
  byCategory!: FailureCountDto[];

  @ApiProperty()
  total!: number;
}

/** Refuses a value when `other` is given too: for pairs of which a request names one. */
function AbsentWith(other: string, message: string): PropertyDecorator {
  return ValidateBy({
    name: 'absentWith',
    constraints: [other],
    validator: {
      validate: (value, args) =>
        value === undefined || (args?.object as Record<string, unknown>)[other] === undefined,
      defaultMessage: () => message,
    },
  });
}

export class AdvanceTestClockDto {
  @ApiPropertyOptional({ description: 'Move billing time to this instant.' })
  // Checked whenever given (and required when `days` is not).
  @ValidateIf((dto: AdvanceTestClockDto) => dto.to !== undefined || dto.days === undefined)
  @Type(() => Date)
  @IsDate({ message: 'give either `to` (a date) or `days`' })
  @WithinStorableDates()
  to?: Date;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: 3660,
    description: 'Or move it forward by this many days.',
  })
  @ValidateIf((dto: AdvanceTestClockDto) => dto.days !== undefined || dto.to === undefined)
  @AbsentWith('to', 'give either `days` or `to`, not both')
  @IsInt({ message: 'give either `days` (a whole number) or `to`' })
  @Min(1)
  @Max(3660)
  days?: number;
}

export class RenewalDto {
  @ApiProperty({ format: 'uuid' })
  subscriptionId!: string;

  @ApiProperty()
  periodEnd!: Date;

  @ApiProperty({ enum: ['renewed', 'ended', 'skipped'] })
  result!: string;

  @ApiPropertyOptional({ nullable: true, type: String, format: 'uuid' })
  invoiceId!: string | null;

  @ApiPropertyOptional({ nullable: true, type: String })
  payment!: string | null;
}

export class TestClockDto {
  @ApiProperty({ format: 'uuid' })
  tenantId!: string;

  @ApiProperty({ description: "The tenant's billing time." })
  frozenTime!: Date;

  @ApiProperty({ type: [RenewalDto], description: 'What fell due and ran while advancing.' })
  renewals!: RenewalDto[];

  @ApiPropertyOptional({ nullable: true, type: SubscriptionDto })
  subscription!: SubscriptionDto | null;
}
