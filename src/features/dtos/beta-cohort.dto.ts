import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Matches, MaxLength, MinLength, ValidateIf } from 'class-validator';
import {
  COHORT_KEY_EXAMPLE,
  FEATURE_KEY_MAX_LENGTH,
  FEATURE_KEY_MIN_LENGTH,
  FEATURE_KEY_PATTERN,
} from '../feature-keys';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const unlessAbsent = (_dto: object, value: unknown) => value !== undefined;

export const MAX_COHORT_NAME = 200;
export const MAX_COHORT_DESCRIPTION = 500;

export class BetaCohortDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: COHORT_KEY_EXAMPLE, description: 'Stable identifier; never changes.' })
  key!: string;

  @ApiProperty({ example: 'Design partners' })
  name!: string;

  @ApiProperty({ example: 'Organisations that try new work first and tell us about it.' })
  description!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}

export class BetaCohortPageDto {
  @ApiProperty({ type: [BetaCohortDto] })
  items!: BetaCohortDto[];

  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  nextCursor!: string | null;
}

export class CreateBetaCohortDto {
  @ApiProperty({
    example: COHORT_KEY_EXAMPLE,
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

  @ApiProperty({ maxLength: MAX_COHORT_NAME })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_COHORT_NAME)
  name!: string;

  @ApiPropertyOptional({ maxLength: MAX_COHORT_DESCRIPTION, default: '' })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MaxLength(MAX_COHORT_DESCRIPTION)
  description?: string;
}

/** Fields left out keep their value; the key never changes. */
export class UpdateBetaCohortDto {
  @ApiPropertyOptional({ maxLength: MAX_COHORT_NAME })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_COHORT_NAME)
  name?: string;

  @ApiPropertyOptional({ maxLength: MAX_COHORT_DESCRIPTION })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MaxLength(MAX_COHORT_DESCRIPTION)
  description?: string;
}

export class BetaCohortMemberDto {
  @ApiProperty({ example: COHORT_KEY_EXAMPLE })
  cohort!: string;

  @ApiProperty({ format: 'uuid' })
  tenantId!: string;

  @ApiProperty({
    type: String,
    format: 'uuid',
    nullable: true,
    description: 'The staff member who added it; null: the system.',
  })
  addedBy!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
}

export class BetaCohortMemberPageDto {
  @ApiProperty({ type: [BetaCohortMemberDto] })
  items!: BetaCohortMemberDto[];

  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  nextCursor!: string | null;
}
