import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import {
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { SLUG_MAX_LENGTH, SLUG_PATTERN } from '../slug';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
/** Absent means "unchanged"; null is not a value for these and must fail validation. */
const unlessAbsent = (_dto: object, value: unknown) => value !== undefined;

export class KbCategoryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'billing' })
  slug!: string;

  @ApiProperty({ example: 'Billing' })
  name!: string;

  @ApiProperty({ type: String, nullable: true, example: 'Invoices, cards and plans.' })
  description!: string | null;

  @ApiProperty({ example: 10, description: 'Position in the help centre, lowest first.' })
  sortOrder!: number;

  @ApiProperty({
    example: 12,
    description:
      'Articles in this category the caller may read (published and visible to them); ' +
      'for staff on the admin route, every article whatever its status.',
  })
  articleCount!: number;
}

export class KbCategoryListDto {
  @ApiProperty({ type: [KbCategoryDto] })
  items!: KbCategoryDto[];
}

export class KbCategoryQuery {
  @ApiPropertyOptional({
    example: 'en',
    description: 'Count only articles in this locale (default: every locale).',
  })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z]{2,3}(-[a-z0-9]{2,8})?$/)
  locale?: string;
}

export class CreateKbCategoryDto {
  @ApiProperty({ example: 'billing', pattern: SLUG_PATTERN.source, maxLength: SLUG_MAX_LENGTH })
  @Transform(trim)
  @IsString()
  @MaxLength(SLUG_MAX_LENGTH)
  @Matches(SLUG_PATTERN, { message: 'slug must be lower-case words joined by hyphens' })
  slug!: string;

  @ApiProperty({ example: 'Billing', maxLength: 120 })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(120)
  name!: string;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 1000 })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(1000)
  description?: string | null;

  @ApiPropertyOptional({ example: 10, default: 0, minimum: 0, maximum: 100000 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(100_000)
  sortOrder?: number;
}

export class UpdateKbCategoryDto {
  @ApiPropertyOptional({ pattern: SLUG_PATTERN.source, maxLength: SLUG_MAX_LENGTH })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MaxLength(SLUG_MAX_LENGTH)
  @Matches(SLUG_PATTERN, { message: 'slug must be lower-case words joined by hyphens' })
  slug?: string;

  @ApiPropertyOptional({ maxLength: 120 })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(120)
  name?: string;

  @ApiPropertyOptional({ type: String, nullable: true, maxLength: 1000 })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(1000)
  description?: string | null;

  @ApiPropertyOptional({ minimum: 0, maximum: 100000 })
  @ValidateIf(unlessAbsent)
  @IsInt()
  @Min(0)
  @Max(100_000)
  sortOrder?: number;
}
