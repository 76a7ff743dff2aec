import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  ArrayUnique,
  IsArray,
  IsBoolean,
  IsIn,
  IsObject,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
} from 'class-validator';
import {
  COHORT_KEY_EXAMPLE,
  FEATURE_KEY_EXAMPLE,
  FEATURE_KEY_MAX_LENGTH,
  FEATURE_KEY_MIN_LENGTH,
  FEATURE_KEY_PATTERN,
  GATEABLE_SUBJECTS,
} from '../feature-keys';
import { FlagSource } from '../feature-resolution';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
/** Absent means "unchanged"; null is not a value for these and must fail validation. */
const unlessAbsent = (_dto: object, value: unknown) => value !== undefined;

export const MAX_DESCRIPTION = 500;
export const MAX_REASON = 500;
/** More plans than any catalog has; bounds the document. */
export const MAX_PLAN_DEFAULTS = 50;

const PLAN_DEFAULTS_SCHEMA = {
  type: 'object',
  additionalProperties: { type: 'boolean' },
  example: { free: false, pro: true },
  description:
    'Plan code → on or off for organisations on that plan; plans left out use defaultEnabled. ' +
    'Every code must be a plan of the catalog.',
} as const;

/** One flag as the organisation sees it. */
export class TenantFeatureDto {
  @ApiProperty({ example: FEATURE_KEY_EXAMPLE })
  key!: string;

  @ApiProperty({ example: true })
  enabled!: boolean;

  @ApiProperty({
    enum: FlagSource,
    enumName: 'FeatureFlagSource',
    description:
      'What decided the value, most specific first: `override` (set for this organisation), ' +
      '`cohort` (a beta cohort it is in), `plan` (its current plan), `default` (the flag).',
  })
  source!: FlagSource;
}

export class TenantFeatureListDto {
  @ApiProperty({ type: [TenantFeatureDto], description: 'Every live flag, ordered by key.' })
  items!: TenantFeatureDto[];
}

export class FeatureFlagCohortRuleDto {
  @ApiProperty({ example: COHORT_KEY_EXAMPLE })
  cohort!: string;

  @ApiProperty({ example: true })
  enabled!: boolean;
}

export class AdminFeatureFlagDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: FEATURE_KEY_EXAMPLE, description: 'Stable identifier; never changes.' })
  key!: string;

  @ApiProperty({ example: 'Summaries of long ticket threads, written by a model.' })
  description!: string;

  @ApiProperty({ example: false })
  defaultEnabled!: boolean;

  @ApiProperty(PLAN_DEFAULTS_SCHEMA)
  planDefaults!: Record<string, boolean>;

  @ApiProperty({
    enum: GATEABLE_SUBJECTS,
    isArray: true,
    example: ['Ticket'],
    description: 'Subjects that cannot be created or changed while the flag is off.',
  })
  gates!: string[];

  @ApiProperty({ type: [FeatureFlagCohortRuleDto], description: 'Ordered by cohort key.' })
  cohortRules!: FeatureFlagCohortRuleDto[];

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'Set: retired, off for everyone, hidden from organisations.',
  })
  archivedAt!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}

export class AdminFeatureFlagPageDto {
  @ApiProperty({ type: [AdminFeatureFlagDto] })
  items!: AdminFeatureFlagDto[];

  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  nextCursor!: string | null;
}

export class CreateFeatureFlagDto {
  @ApiProperty({
    example: FEATURE_KEY_EXAMPLE,
    minLength: FEATURE_KEY_MIN_LENGTH,
    maxLength: FEATURE_KEY_MAX_LENGTH,
    pattern: FEATURE_KEY_PATTERN.source,
  })
  @IsString()
  @MinLength(FEATURE_KEY_MIN_LENGTH)
  @MaxLength(FEATURE_KEY_MAX_LENGTH)
  @Matches(FEATURE_KEY_PATTERN, {
    message: 'key must be snake_case: lower-case letters and digits, starting with a letter',
  })
  key!: string;

  @ApiProperty({ maxLength: MAX_DESCRIPTION })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_DESCRIPTION)
  description!: string;

  @ApiProperty()
  @IsBoolean()
  defaultEnabled!: boolean;

  @ApiPropertyOptional(PLAN_DEFAULTS_SCHEMA)
  @ValidateIf(unlessAbsent)
  @IsObject()
  planDefaults?: Record<string, boolean>;

  @ApiPropertyOptional({ enum: GATEABLE_SUBJECTS, isArray: true, example: ['Ticket'] })
  @ValidateIf(unlessAbsent)
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(GATEABLE_SUBJECTS.length)
  @IsIn(GATEABLE_SUBJECTS, { each: true })
  gates?: string[];
}

/** Fields left out keep their value; the key never changes. */
export class UpdateFeatureFlagDto {
  @ApiPropertyOptional({ maxLength: MAX_DESCRIPTION })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_DESCRIPTION)
  description?: string;

  @ApiPropertyOptional()
  @ValidateIf(unlessAbsent)
  @IsBoolean()
  defaultEnabled?: boolean;

  @ApiPropertyOptional({
    ...PLAN_DEFAULTS_SCHEMA,
    description: `${PLAN_DEFAULTS_SCHEMA.description} Replaces the whole map.`,
  })
  @ValidateIf(unlessAbsent)
  @IsObject()
  planDefaults?: Record<string, boolean>;

  @ApiPropertyOptional({
    enum: GATEABLE_SUBJECTS,
    isArray: true,
    example: ['Ticket'],
    description: 'Replaces the whole list.',
  })
  @ValidateIf(unlessAbsent)
  @IsArray()
  @ArrayUnique()
  @ArrayMaxSize(GATEABLE_SUBJECTS.length)
  @IsIn(GATEABLE_SUBJECTS, { each: true })
  gates?: string[];
}

export class SetFeatureFlagOverrideDto {
  @ApiProperty({ description: 'On or off for this organisation, whatever its plan and cohorts.' })
  @IsBoolean()
  enabled!: boolean;

  @ApiPropertyOptional({
    maxLength: MAX_REASON,
    example: 'Design partner, contract clause 4.2',
    description: 'Shown to staff only.',
  })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MaxLength(MAX_REASON)
  reason?: string;
}

export class FeatureFlagOverrideDto {
  @ApiProperty({ example: FEATURE_KEY_EXAMPLE })
  flag!: string;

  @ApiProperty({ format: 'uuid' })
  tenantId!: string;

  @ApiProperty()
  enabled!: boolean;

  @ApiProperty({ type: String, nullable: true })
  reason!: string | null;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The staff member who set it; null: the system.',
  })
  createdBy!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}

export class FeatureFlagOverridePageDto {
  @ApiProperty({ type: [FeatureFlagOverrideDto] })
  items!: FeatureFlagOverrideDto[];

  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  nextCursor!: string | null;
}

export class SetFeatureFlagCohortRuleDto {
  @ApiProperty({
    description:
      "On or off for every organisation in the cohort (off wins over another cohort's on).",
  })
  @IsBoolean()
  enabled!: boolean;
}
