import { ApiProperty, ApiPropertyOptional, ApiPropertyOptions } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  ArrayMaxSize,
  Equals,
  IsArray,
  IsDate,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
  ValidateNested,
} from 'class-validator';
import { WithinStorableDates } from '../../common/http/dates';
import { PageQuery } from '../../common/http/pagination';
import { CampaignStatus } from '../entities/dunning-campaign.entity';
import { InvoiceStatus } from '../entities/invoice.entity';
import type { CollectOutcome } from '../payments/payment.service';
import { DunningAction, FailureClass, LIMITS } from './recovery-policy';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

/** `none`: no step has run yet. */
export const NO_ACTION = 'none';
const LAST_ACTIONS = [...Object.values(DunningAction), NO_ACTION] as const;
type LastAction = DunningAction | typeof NO_ACTION;

const COLLECT_STATUSES: CollectOutcome['status'][] = [
  'paid',
  'requires_action',
  'failed',
  'unknown',
  'nothing_due',
  'no_payment_method',
  'in_progress',
  'not_due',
];

/** A sanity bound on list sizes; the policy's own limits are checked (422) after the shape. */
const MAX_LIST = 100;

// ---- the dunning queue ----

export class ListDunningQuery extends PageQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  tenantId?: string;

  @ApiPropertyOptional({
    enum: CampaignStatus,
    description: 'Default: the running ones (`active` and `paused`).',
  })
  @IsOptional()
  @IsIn(Object.values(CampaignStatus))
  status?: CampaignStatus;

  @ApiPropertyOptional({
    enum: LAST_ACTIONS,
    description: 'The last step that ran; `none` when none has.',
  })
  @IsOptional()
  @IsIn(LAST_ACTIONS)
  lastAction?: LastAction;
}

export class DunningCampaignDto {
  @ApiProperty({ format: 'uuid' })
  campaignId!: string;

  @ApiProperty({ format: 'uuid' })
  tenantId!: string;

  @ApiProperty()
  tenantName!: string;

  @ApiProperty({ format: 'uuid' })
  invoiceId!: string;

  @ApiPropertyOptional({ nullable: true, type: String })
  invoiceNumber!: string | null;

  @ApiProperty({ description: 'What the invoice still asks for now, minor units.' })
  amountDue!: number;

  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty({ enum: CampaignStatus })
  status!: CampaignStatus;

  @ApiProperty({ enum: FailureClass, description: 'How the last failure is treated.' })
  failureClass!: FailureClass;

  @ApiProperty({ example: 'insufficient_funds', description: 'Category of the first failure.' })
  firstCategory!: string;

  @ApiPropertyOptional({ nullable: true, type: String })
  lastCategory!: string | null;

  @ApiPropertyOptional({ nullable: true, type: String, example: 'insufficient_funds' })
  lastDeclineCode!: string | null;

  @ApiProperty({ description: 'Billing time of the first failure.' })
  startedAt!: Date;

  @ApiPropertyOptional({ nullable: true, enum: DunningAction, description: 'The last step run.' })
  lastAction!: DunningAction | null;

  @ApiPropertyOptional({
    nullable: true,
    enum: DunningAction,
    description: 'The step to come; null once the campaign has ended or has no step left.',
  })
  nextAction!: DunningAction | null;

  @ApiPropertyOptional({
    nullable: true,
    type: Date,
    description: 'When that step falls due (billing time); null while paused.',
  })
  nextActionAt!: Date | null;

  @ApiPropertyOptional({
    nullable: true,
    type: Date,
    description: 'The next automatic charge attempt; null when none is planned.',
  })
  nextAttemptAt!: Date | null;

  @ApiPropertyOptional({ nullable: true, type: Date })
  pausedAt!: Date | null;

  @ApiPropertyOptional({ nullable: true, type: Date, description: 'Billing time it ended.' })
  endedAt!: Date | null;
}

export class DunningQueuePageDto {
  @ApiProperty({ type: [DunningCampaignDto] })
  items!: DunningCampaignDto[];

  @ApiProperty({
    nullable: true,
    type: String,
    format: 'uuid',
    description: 'The last campaign of this page: pass it as `cursor` for the next.',
  })
  nextCursor!: string | null;
}

export class RetryCampaignResultDto {
  @ApiProperty({ enum: COLLECT_STATUSES, description: 'What the attempt did.' })
  outcome!: CollectOutcome['status'];

  @ApiPropertyOptional({ nullable: true, type: String, format: 'uuid' })
  attemptId!: string | null;

  @ApiPropertyOptional({ nullable: true, type: String, description: 'Category of a failure.' })
  category!: string | null;

  @ApiPropertyOptional({ nullable: true, type: String })
  declineCode!: string | null;

  @ApiProperty({ enum: InvoiceStatus })
  invoiceStatus!: InvoiceStatus;

  @ApiProperty({ enum: CampaignStatus })
  campaignStatus!: CampaignStatus;
}

export class MarkUncollectibleDto {
  @ApiProperty({ minLength: 1, maxLength: 500, description: 'Why staff wrote it off (audited).' })
  @Transform(trim)
  @IsString()
  @Length(1, 500, { message: 'reason must be 1 to 500 characters (not only spaces)' })
  reason!: string;
}

// ---- recovery figures ----

export class RecoveryFiguresQuery {
  @ApiPropertyOptional({
    description: 'Campaigns started at or after this time. Default: 30 days before `to`.',
  })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'from must be a date-time' })
  @WithinStorableDates()
  from?: Date;

  @ApiPropertyOptional({ description: 'Campaigns started before this time. Default: now.' })
  @IsOptional()
  @Type(() => Date)
  @IsDate({ message: 'to must be a date-time' })
  @WithinStorableDates()
  to?: Date;
}

export class CampaignCountsDto {
  @ApiProperty()
  started!: number;

  @ApiProperty()
  recovered!: number;

  @ApiProperty({ description: 'The cancel step ran.' })
  canceled!: number;

  @ApiProperty({ description: 'Staff marked the invoice uncollectible.' })
  writtenOff!: number;

  @ApiProperty({ description: 'The invoice was voided.' })
  closed!: number;

  @ApiProperty({ description: 'Still active or paused.' })
  running!: number;
}

export class CurrencyRecoveryDto {
  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty({ description: 'Sum of the amounts due when the campaigns started, minor units.' })
  failedAmount!: number;

  @ApiProperty({ description: 'Sum paid on the invoices of recovered campaigns, minor units.' })
  recoveredAmount!: number;

  @ApiPropertyOptional({
    nullable: true,
    type: Number,
    example: 0.4167,
    description: 'recoveredAmount / failedAmount, 4 decimals; null when nothing failed.',
  })
  recoveryRate!: number | null;

  @ApiProperty({ type: CampaignCountsDto })
  counts!: CampaignCountsDto;
}

export class CategoryRecoveryDto {
  @ApiProperty({ example: 'insufficient_funds', description: 'Category of the first failure.' })
  category!: string;

  @ApiProperty()
  started!: number;

  @ApiProperty()
  recovered!: number;

  @ApiProperty({ example: 0.5, description: 'recovered / started (campaigns), 4 decimals.' })
  rate!: number;
}

export class StepRecoveryDto {
  @ApiProperty({
    enum: LAST_ACTIONS,
    description: 'The last step that had run when the campaign recovered (`none`: no step).',
  })
  lastAction!: LastAction;

  @ApiProperty({ description: 'Campaigns recovered after that step.' })
  recovered!: number;
}

export class RecoveryFiguresDto {
  @ApiProperty()
  from!: Date;

  @ApiProperty()
  to!: Date;

  @ApiProperty({
    type: [CurrencyRecoveryDto],
    description: 'Amounts are never summed across currencies.',
  })
  currencies!: CurrencyRecoveryDto[];

  @ApiProperty({ type: [CategoryRecoveryDto] })
  byCategory!: CategoryRecoveryDto[];

  @ApiProperty({ type: [StepRecoveryDto] })
  byStep!: StepRecoveryDto[];
}

// ---- recovery policies ----

export class RecoveryStepDto {
  @ApiProperty({ minimum: 0, maximum: LIMITS.maxDay, description: 'Days after the first failure.' })
  @IsInt({ message: 'day must be a whole number of days' })
  day!: number;

  @ApiProperty({ enum: DunningAction })
  @IsIn(Object.values(DunningAction), {
    message: `action must be one of ${Object.values(DunningAction).join(', ')}`,
  })
  action!: DunningAction;
}

const RETRY_DAYS_DOC: ApiPropertyOptions = {
  type: [Number],
  example: [1, 3, 5, 7],
  description: `Automatic retries of a soft decline, in days after the first failure (strictly increasing, at most ${LIMITS.maxRetries}).`,
};
const STEPS_DOC: ApiPropertyOptions = {
  type: [RecoveryStepDto],
  description:
    'The campaign in order of day: at most one suspend and one cancel, cancel last, ' +
    `a warn needs a suspend after it (at most ${LIMITS.maxSteps} steps).`,
};
const NOTICE_DOC: ApiPropertyOptions = {
  minimum: 0,
  maximum: LIMITS.maxNoticeDays,
  description: 'Days before the default card expires to send the card-expiring mail (0: none).',
};

export class CreateRecoveryPolicyDto {
  @ApiProperty({ example: 'enterprise', pattern: '^[a-z0-9_-]{2,40}$' })
  @IsString()
  @Matches(/^[a-z0-9_-]{2,40}$/, {
    message: 'code must be 2 to 40 lowercase letters, digits, dashes or underscores',
  })
  code!: string;

  @ApiProperty({ maxLength: 200, example: 'Enterprise recovery' })
  @Transform(trim)
  @IsString()
  @MinLength(1, { message: 'name must not be empty' })
  @MaxLength(200)
  name!: string;

  @ApiProperty(RETRY_DAYS_DOC)
  @IsArray()
  @ArrayMaxSize(MAX_LIST)
  @IsInt({ each: true, message: 'retryDays must hold whole numbers of days' })
  retryDays!: number[];

  @ApiProperty(STEPS_DOC)
  @IsArray()
  @ArrayMaxSize(MAX_LIST)
  @ValidateNested({ each: true })
  @Type(() => RecoveryStepDto)
  steps!: RecoveryStepDto[];

  @ApiProperty(NOTICE_DOC)
  @IsInt({ message: 'cardExpiryNoticeDays must be a whole number of days' })
  cardExpiryNoticeDays!: number;
}

export class UpdateRecoveryPolicyDto {
  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MinLength(1, { message: 'name must not be empty' })
  @MaxLength(200)
  name?: string;

  @ApiPropertyOptional(RETRY_DAYS_DOC)
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_LIST)
  @IsInt({ each: true, message: 'retryDays must hold whole numbers of days' })
  retryDays?: number[];

  @ApiPropertyOptional(STEPS_DOC)
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_LIST)
  @ValidateNested({ each: true })
  @Type(() => RecoveryStepDto)
  steps?: RecoveryStepDto[];

  @ApiPropertyOptional(NOTICE_DOC)
  @IsOptional()
  @IsInt({ message: 'cardExpiryNoticeDays must be a whole number of days' })
  cardExpiryNoticeDays?: number;

  @ApiPropertyOptional({
    enum: [true],
    description:
      'Make this the platform default (the previous default stops being it). ' +
      'There is always one default, so `false` is refused: make another policy the default instead.',
  })
  @IsOptional()
  @Equals(true, { message: 'isDefault can only be set to true (make another policy the default)' })
  isDefault?: true;
}

export class RecoveryPolicyDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'default' })
  code!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty({ description: 'The platform default: plans without their own policy use it.' })
  isDefault!: boolean;

  @ApiProperty({ type: [Number] })
  retryDays!: number[];

  @ApiProperty({ type: [RecoveryStepDto] })
  steps!: RecoveryStepDto[];

  @ApiProperty()
  cardExpiryNoticeDays!: number;

  @ApiProperty({ type: [String], description: 'Codes of the plans that name this policy.' })
  planCodes!: string[];

  @ApiProperty()
  createdAt!: Date;

  @ApiProperty()
  updatedAt!: Date;
}

export class RecoveryPolicyListDto {
  @ApiProperty({ type: [RecoveryPolicyDto] })
  items!: RecoveryPolicyDto[];
}

export class SetPlanRecoveryPolicyDto {
  @ApiProperty({
    nullable: true,
    type: String,
    format: 'uuid',
    description: 'The policy for this plan; null: the platform default.',
  })
  @ValidateIf((dto: SetPlanRecoveryPolicyDto) => dto.policyId !== null)
  @IsUUID(undefined, { message: 'policyId must be a UUID, or null for the platform default' })
  policyId!: string | null;
}

export class PlanRecoveryPolicyDto {
  @ApiProperty({ format: 'uuid' })
  planId!: string;

  @ApiProperty({ example: 'pro' })
  planCode!: string;

  @ApiPropertyOptional({
    nullable: true,
    type: String,
    format: 'uuid',
    description: "The plan's own policy; null: it follows the platform default.",
  })
  policyId!: string | null;

  @ApiPropertyOptional({
    nullable: true,
    type: RecoveryPolicyDto,
    description:
      'The policy new campaigns of the plan start under (null only if no default exists).',
  })
  effectivePolicy!: RecoveryPolicyDto | null;
}
