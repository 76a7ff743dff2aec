import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsOptional } from 'class-validator';
import { FeatureKind } from '../../entities/feature.entity';
import { BillingInterval, CURRENCIES, type Currency } from '../../entities/money';
import { FeatureValue, SupportTier } from '../../entities/plan.entity';

/** OpenAPI schema of one feature value: a flag, a limit (null: unlimited) or a text. */
export const FEATURE_VALUE_SCHEMA = {
  oneOf: [{ type: 'boolean' }, { type: 'integer', minimum: 0 }, { type: 'string' }],
  nullable: true,
};

export class PricingQuery {
  @ApiPropertyOptional({
    enum: CURRENCIES,
    description: 'Only prices in this currency (case-insensitive). Absent: every currency.',
  })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  )
  @IsIn(CURRENCIES, { message: `currency must be one of: ${CURRENCIES.join(', ')}` })
  currency?: Currency;
}

export class PricingAmountDto {
  @ApiProperty({ format: 'uuid', description: 'The price to subscribe to.' })
  priceId!: string;

  @ApiProperty({ enum: BillingInterval, enumName: 'BillingInterval' })
  interval!: BillingInterval;

  @ApiProperty({ example: 2900, description: 'Per seat per interval, in minor units (cents).' })
  unitAmount!: number;

  @ApiProperty({ example: 'usd', description: 'ISO 4217 code, lower case.' })
  currency!: string;
}

export class YearlySavingDto {
  @ApiProperty({
    example: 5800,
    description: 'Per seat per year, in minor units: 12 × the monthly price − the yearly price.',
  })
  amount!: number;

  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty({
    example: 17,
    description: 'The saving as a whole percent of 12 monthly payments.',
  })
  percent!: number;
}

export class PricingCurrencyDto {
  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty({ type: PricingAmountDto, nullable: true, description: 'Billed every month.' })
  monthly!: PricingAmountDto | null;

  @ApiProperty({ type: PricingAmountDto, nullable: true, description: 'Billed every year.' })
  yearly!: PricingAmountDto | null;

  @ApiProperty({
    type: YearlySavingDto,
    nullable: true,
    description:
      'What paying yearly saves; null unless both intervals exist and yearly is cheaper.',
  })
  yearlySaving!: YearlySavingDto | null;
}

export class PricingTierDto {
  @ApiProperty({ example: 'pro', description: 'Stable identifier of the plan.' })
  code!: string;

  @ApiProperty({ example: 'Pro' })
  name!: string;

  @ApiProperty({ example: 'For teams that run their business on it.' })
  description!: string;

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

  @ApiProperty({ description: 'The tier the page highlights.' })
  recommended!: boolean;

  @ApiProperty({
    type: [PricingCurrencyDto],
    description: 'Per-seat prices by currency; empty for a free tier.',
  })
  prices!: PricingCurrencyDto[];
}

export class PricingFeatureRowDto {
  @ApiProperty({ example: 'sso' })
  key!: string;

  @ApiProperty({ example: 'Single sign-on' })
  name!: string;

  @ApiProperty({ type: String, nullable: true })
  description!: string | null;

  @ApiProperty({
    enum: FeatureKind,
    enumName: 'FeatureKind',
    description:
      '`flag`: boolean; `limit`: integer, null meaning unlimited; `text`: string or null.',
  })
  kind!: FeatureKind;

  @ApiProperty({
    type: 'object',
    additionalProperties: FEATURE_VALUE_SCHEMA,
    example: { free: false, starter: false, pro: true, enterprise: true },
    description: "Plan code → the plan's value for this feature, one cell per tier.",
  })
  cells!: Record<string, FeatureValue>;
}

export class PricingMatrixDto {
  @ApiProperty({
    type: [String],
    example: ['free', 'starter', 'pro', 'enterprise'],
    description: 'Column order: plan codes in display order.',
  })
  plans!: string[];

  @ApiProperty({ type: [PricingFeatureRowDto], description: 'One row per feature, in sort order.' })
  rows!: PricingFeatureRowDto[];
}

export class PricingDto {
  @ApiProperty({
    type: String,
    nullable: true,
    example: 'usd',
    description: 'The currency the prices were filtered by; null: every currency.',
  })
  currency!: string | null;

  @ApiProperty({
    type: [String],
    example: ['usd', 'eur'],
    description: 'Every currency the catalog offers, whatever the filter.',
  })
  currencies!: string[];

  @ApiProperty({ type: [PricingTierDto], description: 'Tiers in display order.' })
  tiers!: PricingTierDto[];

  @ApiProperty({ type: PricingMatrixDto, description: 'The feature comparison matrix.' })
  matrix!: PricingMatrixDto;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'pro',
    description: 'Code of the recommended tier; null when none is.',
  })
  recommended!: string | null;
}
