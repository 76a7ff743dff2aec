import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  IsBoolean,
  IsEnum,
  IsIn,
  IsInt,
  IsObject,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { BillingInterval, CURRENCIES, type Currency } from '../../entities/money';
import { FeatureValue, PlanStatus, SupportTier } from '../../entities/plan.entity';
import { PriceStatus } from '../../entities/price.entity';
import { FEATURE_VALUE_SCHEMA } from './pricing.dto';

/** Lower-case letters and digits in hyphen-separated words: `pro`, `team-plus`. */
export const PLAN_CODE_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
export const MAX_TRIAL_DAYS = 90;
/** Per seat per interval, in minor units: 1,000,000.00. */
export const MAX_UNIT_AMOUNT = 100_000_000;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
/** Absent means "unchanged"; null is not a value for these and must fail validation. */
const unlessAbsent = (_dto: object, value: unknown) => value !== undefined;

const FEATURES_SCHEMA = {
  type: 'object',
  additionalProperties: FEATURE_VALUE_SCHEMA,
  example: {
    support: 'Email, next business day',
    api_access: true,
    sso: false,
    uptime_sla: '99.5%',
  },
} as const;

export class AdminPriceDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'usd', description: 'ISO 4217 code, lower case.' })
  currency!: string;

  @ApiProperty({ enum: BillingInterval, enumName: 'BillingInterval' })
  interval!: BillingInterval;

  @ApiProperty({ example: 2900, description: 'Per seat per interval, in minor units.' })
  unitAmount!: number;

  @ApiProperty({
    enum: PriceStatus,
    enumName: 'PriceStatus',
    description: '`archived`: closed to new subscriptions; existing ones keep renewing at it.',
  })
  status!: PriceStatus;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  archivedAt!: string | null;
}

export class AdminPlanDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'pro', description: 'Stable identifier; never changes.' })
  code!: string;

  @ApiProperty({ example: 'Pro' })
  name!: string;

  @ApiProperty({ example: 'For teams that run their business on it.' })
  description!: string;

  @ApiProperty({ example: 30, description: 'Position on the pricing page, lowest first.' })
  sortOrder!: number;

  @ApiProperty({ enum: SupportTier, enumName: 'SupportTier' })
  supportTier!: SupportTier;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 200,
    description: 'Most seats a subscription may hold; null: unlimited.',
  })
  seatLimit!: number | null;

  @ApiProperty({ example: 14, description: 'Free trial length for new subscriptions; 0: none.' })
  trialDays!: number;

  @ApiProperty({ description: 'Highlighted on the pricing page; at most one plan is.' })
  recommended!: boolean;

  @ApiProperty({ ...FEATURES_SCHEMA, description: 'Feature key → value, one per catalog feature.' })
  features!: Record<string, FeatureValue>;

  @ApiProperty({
    enum: PlanStatus,
    enumName: 'PlanStatus',
    description: '`archived`: off the pricing page and closed to new subscriptions.',
  })
  status!: PlanStatus;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;

  @ApiProperty({
    type: [AdminPriceDto],
    description: 'Every price of the plan, archived ones included.',
  })
  prices!: AdminPriceDto[];
}

export class AdminPlanListDto {
  @ApiProperty({
    type: [AdminPlanDto],
    description: 'Every plan in display order, archived ones included.',
  })
  items!: AdminPlanDto[];
}

export class CreatePlanDto {
  @ApiProperty({
    example: 'team-plus',
    description:
      'Stable identifier, unique: 2 to 40 lower-case letters and digits in hyphen-separated words.',
  })
  @Transform(trim)
  @IsString()
  @MinLength(2)
  @MaxLength(40)
  @Matches(PLAN_CODE_PATTERN, {
    message: 'code must be lower-case letters and digits in hyphen-separated words (team-plus)',
  })
  code!: string;

  @ApiProperty({ example: 'Team Plus', minLength: 1, maxLength: 100 })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @ApiProperty({ example: 'For teams that outgrew Starter.', minLength: 1, maxLength: 500 })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  description!: string;

  @ApiProperty({ example: 25, description: 'Position on the pricing page, lowest first.' })
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  sortOrder!: number;

  @ApiProperty({ enum: SupportTier, enumName: 'SupportTier' })
  @IsEnum(SupportTier)
  supportTier!: SupportTier;

  @ApiProperty({
    type: Number,
    nullable: true,
    minimum: 1,
    example: 50,
    description: 'Most seats a subscription may hold; null: unlimited. Also the `seats` feature.',
  })
  @ValidateIf((_dto, value) => value !== null)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  seatLimit!: number | null;

  @ApiPropertyOptional({ minimum: 0, maximum: MAX_TRIAL_DAYS, default: 0 })
  @ValidateIf(unlessAbsent)
  @IsInt()
  @Min(0)
  @Max(MAX_TRIAL_DAYS)
  trialDays?: number;

  @ApiPropertyOptional({
    default: false,
    description: 'Highlight this plan; the plan recommended so far stops being.',
  })
  @ValidateIf(unlessAbsent)
  @IsBoolean()
  recommended?: boolean;

  @ApiProperty({
    ...FEATURES_SCHEMA,
    description:
      'A value for every catalog feature (`seats` may be left out: it follows seatLimit). ' +
      'flag: boolean; limit: integer ≥ 0 or null (unlimited); text: string or null. ' +
      'Unknown keys or values of the wrong kind: 422.',
  })
  @IsObject()
  features!: Record<string, unknown>;
}

export class UpdatePlanDto {
  @ApiPropertyOptional({ example: 'Team Plus', minLength: 1, maxLength: 100 })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 500 })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  description?: string;

  @ApiPropertyOptional({ description: 'Position on the pricing page, lowest first.' })
  @ValidateIf(unlessAbsent)
  @IsInt()
  @Min(0)
  @Max(1_000_000)
  sortOrder?: number;

  @ApiPropertyOptional({ enum: SupportTier, enumName: 'SupportTier' })
  @ValidateIf(unlessAbsent)
  @IsEnum(SupportTier)
  supportTier?: SupportTier;

  @ApiPropertyOptional({
    type: Number,
    nullable: true,
    minimum: 1,
    description: 'null: unlimited. Existing subscriptions keep the seats they hold.',
  })
  @ValidateIf((_dto, value) => value !== undefined && value !== null)
  @IsInt()
  @Min(1)
  @Max(1_000_000)
  seatLimit?: number | null;

  @ApiPropertyOptional({ minimum: 0, maximum: MAX_TRIAL_DAYS })
  @ValidateIf(unlessAbsent)
  @IsInt()
  @Min(0)
  @Max(MAX_TRIAL_DAYS)
  trialDays?: number;

  @ApiPropertyOptional({
    description:
      'true: highlight this plan (the one recommended so far stops being); false: unset.',
  })
  @ValidateIf(unlessAbsent)
  @IsBoolean()
  recommended?: boolean;

  @ApiPropertyOptional({
    ...FEATURES_SCHEMA,
    description:
      'The values to change; features left out keep theirs. Same rules as on creation (422).',
  })
  @ValidateIf(unlessAbsent)
  @IsObject()
  features?: Record<string, unknown>;
}

export class CreatePriceDto {
  @ApiProperty({ enum: CURRENCIES, example: 'usd' })
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  )
  @IsIn(CURRENCIES, { message: `currency must be one of: ${CURRENCIES.join(', ')}` })
  currency!: Currency;

  @ApiProperty({ enum: BillingInterval, enumName: 'BillingInterval' })
  @IsEnum(BillingInterval)
  interval!: BillingInterval;

  @ApiProperty({
    example: 2900,
    minimum: 0,
    maximum: MAX_UNIT_AMOUNT,
    description: 'Per seat per interval, in minor units (cents).',
  })
  @IsInt()
  @Min(0)
  @Max(MAX_UNIT_AMOUNT)
  unitAmount!: number;
}
