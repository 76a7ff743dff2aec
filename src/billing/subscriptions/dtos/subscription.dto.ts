import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Max,
  MaxLength,
  Min,
} from 'class-validator';
import { InvoiceDto } from '../../invoices/dtos/invoice.dto';
import { BillingInterval } from '../../entities/money';
import { Subscription, SubscriptionStatus } from '../../entities/subscription.entity';

/** Why a customer leaves (Stripe's list), kept for churn analysis. */
export const CANCEL_REASONS = [
  'too_expensive',
  'missing_features',
  'switched_service',
  'unused',
  'customer_service',
  'too_complex',
  'low_quality',
  'other',
] as const;
export type CancelReason = (typeof CANCEL_REASONS)[number];

/** More seats than this is a sales conversation, not a form. */
export const MAX_SEATS = 10_000;

export class PlanRefDto {
  @ApiProperty({ example: 'pro' })
  code!: string;

  @ApiProperty({ example: 'Pro' })
  name!: string;
}

export class PendingChangeDto {
  @ApiProperty({ format: 'uuid' })
  priceId!: string;

  @ApiProperty()
  quantity!: number;

  @ApiProperty({ description: 'When it takes effect (the end of the paid period).' })
  startsAt!: Date;
}

export class SubscriptionDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ enum: SubscriptionStatus })
  status!: SubscriptionStatus;

  @ApiProperty({ type: PlanRefDto })
  plan!: PlanRefDto;

  @ApiProperty({ format: 'uuid' })
  priceId!: string;

  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty({ enum: BillingInterval })
  interval!: BillingInterval;

  @ApiProperty({ description: 'Per seat per interval, minor units.' })
  unitAmount!: number;

  @ApiProperty({ description: 'Seats paid for.' })
  quantity!: number;

  @ApiProperty()
  currentPeriodStart!: Date;

  @ApiProperty()
  currentPeriodEnd!: Date;

  @ApiPropertyOptional({ nullable: true, type: Date })
  trialEnd!: Date | null;

  @ApiProperty({ description: 'Ends when the current period does.' })
  cancelAtPeriodEnd!: boolean;

  @ApiPropertyOptional({ nullable: true, enum: CANCEL_REASONS })
  cancelReason!: string | null;

  @ApiPropertyOptional({ nullable: true, type: Date })
  canceledAt!: Date | null;

  @ApiPropertyOptional({ nullable: true, type: Date })
  endedAt!: Date | null;

  @ApiPropertyOptional({ nullable: true, type: PendingChangeDto })
  pendingChange!: PendingChangeDto | null;

  static from(row: Subscription): SubscriptionDto {
    return Object.assign(new SubscriptionDto(), {
      id: row.id,
      status: row.status,
      plan: { code: row.plan.code, name: row.plan.name },
      priceId: row.price.id,
      currency: row.price.currency,
      interval: row.price.interval,
      unitAmount: row.price.unitAmount,
      quantity: row.quantity,
      currentPeriodStart: row.currentPeriodStart,
      currentPeriodEnd: row.currentPeriodEnd,
      trialEnd: row.trialEnd ?? null,
      cancelAtPeriodEnd: row.cancelAtPeriodEnd,
      cancelReason: row.cancelReason ?? null,
      canceledAt: row.canceledAt ?? null,
      endedAt: row.endedAt ?? null,
      pendingChange: row.pendingPrice
        ? {
            priceId: row.pendingPrice.id,
            quantity: row.pendingQuantity ?? row.quantity,
            startsAt: row.currentPeriodEnd,
          }
        : null,
    });
  }
}

export class EntitlementsDto {
  @ApiProperty({ example: 'pro' })
  planCode!: string;

  @ApiProperty({ example: 'Pro' })
  planName!: string;

  @ApiProperty({ nullable: true, type: Number, description: 'null: unlimited.' })
  seatLimit!: number | null;

  @ApiProperty({ example: 'priority' })
  supportTier!: string;

  @ApiProperty({
    type: 'object',
    additionalProperties: { oneOf: [{ type: 'boolean' }, { type: 'number' }, { type: 'string' }] },
    description: 'Feature key → value (null: unlimited or not offered).',
  })
  features!: Record<string, boolean | number | string | null>;
}

export class BillingOverviewDto {
  @ApiProperty({ type: EntitlementsDto, description: 'What the organisation may use now.' })
  entitlements!: EntitlementsDto;

  @ApiPropertyOptional({
    nullable: true,
    type: SubscriptionDto,
    description: 'The current subscription; null on the free plan.',
  })
  subscription!: SubscriptionDto | null;

  @ApiProperty({ description: 'Account credit (minor units) applied to the next invoices.' })
  creditBalance!: number;
}

export class PaymentStatusDto {
  @ApiProperty({
    enum: ['succeeded', 'requires_action', 'pending', 'none'],
    description:
      '`requires_action`: the bank asks the customer to authenticate (3-D Secure); confirm with Stripe.js and the client secret. `pending`: the outcome is being confirmed with the gateway.',
  })
  status!: 'succeeded' | 'requires_action' | 'pending' | 'none';

  @ApiPropertyOptional({ nullable: true, type: String, example: 'pi_3Nv…' })
  paymentId!: string | null;

  @ApiPropertyOptional({ nullable: true, type: String })
  clientSecret!: string | null;
}

export class SubscriptionResultDto {
  @ApiProperty({ type: SubscriptionDto })
  subscription!: SubscriptionDto;

  @ApiPropertyOptional({
    nullable: true,
    type: InvoiceDto,
    description: 'The invoice this change issued, if any.',
  })
  invoice!: InvoiceDto | null;

  @ApiProperty({ type: PaymentStatusDto })
  payment!: PaymentStatusDto;
}

export class CreateSubscriptionDto {
  @ApiProperty({ format: 'uuid', description: 'A price id from GET /v1/pricing.' })
  @IsUUID()
  priceId!: string;

  @ApiProperty({ minimum: 1, maximum: MAX_SEATS, description: 'Seats to pay for.' })
  @IsInt()
  @Min(1)
  @Max(MAX_SEATS)
  quantity!: number;

  @ApiPropertyOptional({
    default: false,
    description:
      "Start with the plan's free trial (once per organisation; no charge until it ends).",
  })
  @IsOptional()
  @IsBoolean()
  trial?: boolean;

  @ApiPropertyOptional({
    format: 'uuid',
    description: 'Charge this saved card (default: the default card).',
  })
  @IsOptional()
  @IsUUID()
  paymentMethodId?: string;
}

export class ChangeSubscriptionDto {
  @ApiPropertyOptional({ format: 'uuid', description: 'The new price (default: the current one).' })
  @IsOptional()
  @IsUUID()
  priceId?: string;

  @ApiPropertyOptional({
    minimum: 1,
    maximum: MAX_SEATS,
    description: 'The new seat count (default: the current one).',
  })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_SEATS)
  quantity?: number;
}

export class CancelSubscriptionDto {
  @ApiProperty({ enum: CANCEL_REASONS })
  @IsIn(CANCEL_REASONS)
  reason!: CancelReason;

  @ApiPropertyOptional({ maxLength: 1000 })
  @IsOptional()
  @IsString()
  @MaxLength(1000)
  comment?: string;
}

export class AdminCancelSubscriptionDto {
  @ApiProperty({ maxLength: 500, description: 'Why staff ended it (audited).' })
  @IsString()
  @MaxLength(500)
  reason!: string;
}

export class ProrationLineDto {
  @ApiProperty({ enum: ['proration_credit', 'proration_debit'] })
  kind!: 'proration_credit' | 'proration_debit';

  @ApiProperty()
  description!: string;

  @ApiProperty({ description: 'Minor units; credits are negative.' })
  amount!: number;

  @ApiProperty()
  periodStart!: Date;

  @ApiProperty()
  periodEnd!: Date;
}

export class ChangePreviewDto {
  @ApiProperty({
    enum: ['upgrade', 'downgrade', 'none'],
    description: 'By price per day: an upgrade costs more per day than the current plan.',
  })
  direction!: 'upgrade' | 'downgrade' | 'none';

  @ApiProperty({
    enum: ['now', 'restart', 'period_end'],
    description:
      '`now`: the rest of the period is re-priced (upgrades charged now, downgrades credited to the next invoice); `restart`: a longer interval starts now; `period_end`: a shorter interval starts at renewal.',
  })
  timing!: 'now' | 'restart' | 'period_end';

  @ApiProperty()
  effectiveAt!: Date;

  @ApiProperty({ type: [ProrationLineDto] })
  lines!: ProrationLineDto[];

  @ApiProperty({ description: 'Charged to the card now (after account credit), minor units.' })
  amountDueNow!: number;

  @ApiProperty({ description: 'Credit carried to the next invoice, minor units.' })
  creditToNextInvoice!: number;

  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty()
  currentPeriodEnd!: Date;
}
