import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsEnum,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { PageQuery } from '../../common/http/pagination';
import { KbArticleStatus, KbVisibility } from '../entities/kb-article.entity';
import { SLUG_MAX_LENGTH, SLUG_PATTERN } from '../slug';

/** BCP 47 language tag, lower case: `en`, `fr`, `pt-br`. */
export const LOCALE_PATTERN = /^[a-z]{2,3}(-[a-z0-9]{2,8})?$/;
export const MAX_BODY_LENGTH = 100_000;
export const MAX_TAGS = 20;
const TAG_PATTERN = /^[\p{L}\p{N}][\p{L}\p{N} _-]{0,39}$/u;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const lower = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;
const tags = ({ value }: { value: unknown }): unknown =>
  Array.isArray(value)
    ? [...new Set(value.map((v: unknown) => (typeof v === 'string' ? v.trim().toLowerCase() : v)))]
    : value;
/** Absent means "unchanged"; null is not a value for these and must fail validation. */
const unlessAbsent = (_dto: object, value: unknown) => value !== undefined;

export class KbCategoryRefDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'billing' })
  slug!: string;

  @ApiProperty({ example: 'Billing' })
  name!: string;
}

/** An article as readers see it. */
export class KbArticleDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'reset-your-password' })
  slug!: string;

  @ApiProperty({ example: 'en' })
  locale!: string;

  @ApiProperty({ example: 'Reset your password' })
  title!: string;

  @ApiProperty({
    description:
      'The body rendered from Markdown: raw HTML is not allowed, links are http(s), mailto or relative.',
  })
  bodyHtml!: string;

  @ApiProperty({ type: [String], example: ['account', 'security'] })
  tags!: string[];

  @ApiProperty({ type: KbCategoryRefDto })
  category!: KbCategoryRefDto;

  @ApiProperty({ enum: KbVisibility, enumName: 'KbVisibility' })
  visibility!: KbVisibility;

  @ApiProperty()
  viewCount!: number;

  @ApiProperty()
  helpfulCount!: number;

  @ApiProperty()
  notHelpfulCount!: number;

  @ApiProperty({ type: String, format: 'date-time', nullable: true })
  publishedAt!: string | null;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}

/** An article as staff edit it. */
export class AdminKbArticleDto extends KbArticleDto {
  @ApiProperty({ description: 'The Markdown source.' })
  bodyMarkdown!: string;

  @ApiProperty({ enum: KbArticleStatus, enumName: 'KbArticleStatus' })
  status!: KbArticleStatus;

  @ApiProperty({ description: 'Number of the latest revision.' })
  revision!: number;

  @ApiProperty({ description: '"This answered my question" signals.' })
  deflectionCount!: number;

  @ApiProperty({ format: 'uuid' })
  authorId!: string;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
}

/** A list row: no body. */
export class AdminKbArticleSummaryDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  slug!: string;

  @ApiProperty()
  locale!: string;

  @ApiProperty()
  title!: string;

  @ApiProperty({ enum: KbArticleStatus, enumName: 'KbArticleStatus' })
  status!: KbArticleStatus;

  @ApiProperty({ enum: KbVisibility, enumName: 'KbVisibility' })
  visibility!: KbVisibility;

  @ApiProperty({ format: 'uuid' })
  categoryId!: string;

  @ApiProperty()
  revision!: number;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;
}

export class AdminKbArticlePageDto {
  @ApiProperty({ type: [AdminKbArticleSummaryDto] })
  items!: AdminKbArticleSummaryDto[];

  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  nextCursor!: string | null;
}

export class AdminKbArticleQuery extends PageQuery {
  @ApiPropertyOptional({ enum: KbArticleStatus, enumName: 'KbArticleStatus' })
  @IsOptional()
  @IsEnum(KbArticleStatus)
  status?: KbArticleStatus;

  @ApiPropertyOptional({ example: 'en' })
  @IsOptional()
  @IsString()
  @Matches(LOCALE_PATTERN)
  locale?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  categoryId?: string;
}

export class KbArticleQuery {
  @ApiPropertyOptional({ example: 'en', default: 'en' })
  @IsOptional()
  @IsString()
  @Matches(LOCALE_PATTERN)
  locale: string = 'en';
}

export class CreateKbArticleDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID()
  categoryId!: string;

  @ApiProperty({ example: 'Reset your password', maxLength: 200 })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title!: string;

  @ApiPropertyOptional({
    pattern: SLUG_PATTERN.source,
    maxLength: SLUG_MAX_LENGTH,
    description: 'Default: made from the title.',
  })
  @IsOptional()
  @Transform(trim)
  @IsString()
  @MaxLength(SLUG_MAX_LENGTH)
  @Matches(SLUG_PATTERN, { message: 'slug must be lower-case words joined by hyphens' })
  slug?: string;

  @ApiProperty({ example: 'en', pattern: LOCALE_PATTERN.source })
  @Transform(lower)
  @IsString()
  @Matches(LOCALE_PATTERN, { message: 'locale must be a language tag such as en or pt-br' })
  locale!: string;

  @ApiProperty({ description: 'Markdown; raw HTML is shown as text.', maxLength: MAX_BODY_LENGTH })
  @IsString()
  @MaxLength(MAX_BODY_LENGTH)
  body!: string;

  @ApiPropertyOptional({ type: [String], maxItems: MAX_TAGS, example: ['account'] })
  @IsOptional()
  @Transform(tags)
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @Matches(TAG_PATTERN, {
    each: true,
    message: 'each tag must be 1 to 40 letters, digits, spaces, _ or -',
  })
  tags?: string[];

  @ApiPropertyOptional({
    enum: KbVisibility,
    enumName: 'KbVisibility',
    default: KbVisibility.Public,
  })
  @IsOptional()
  @IsEnum(KbVisibility)
  visibility?: KbVisibility;
}

export class UpdateKbArticleDto {
  @ApiPropertyOptional({ format: 'uuid' })
  @ValidateIf(unlessAbsent)
  @IsUUID()
  categoryId?: string;

  @ApiPropertyOptional({ maxLength: 200 })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  title?: string;

  @ApiPropertyOptional({ pattern: SLUG_PATTERN.source, maxLength: SLUG_MAX_LENGTH })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MaxLength(SLUG_MAX_LENGTH)
  @Matches(SLUG_PATTERN, { message: 'slug must be lower-case words joined by hyphens' })
  slug?: string;

  @ApiPropertyOptional({ maxLength: MAX_BODY_LENGTH })
  @ValidateIf(unlessAbsent)
  @IsString()
  @MaxLength(MAX_BODY_LENGTH)
  body?: string;

  @ApiPropertyOptional({ type: [String], maxItems: MAX_TAGS })
  @ValidateIf(unlessAbsent)
  @Transform(tags)
  @IsArray()
  @ArrayMaxSize(MAX_TAGS)
  @Matches(TAG_PATTERN, {
    each: true,
    message: 'each tag must be 1 to 40 letters, digits, spaces, _ or -',
  })
  tags?: string[];

  @ApiPropertyOptional({ enum: KbVisibility, enumName: 'KbVisibility' })
  @ValidateIf(unlessAbsent)
  @IsEnum(KbVisibility)
  visibility?: KbVisibility;
}

export class KbRevisionDto {
  @ApiProperty()
  number!: number;

  @ApiProperty()
  title!: string;

  @ApiProperty({ description: 'The Markdown source at this revision.' })
  bodyMarkdown!: string;

  @ApiProperty({ type: [String] })
  tags!: string[];

  @ApiProperty({ format: 'uuid' })
  editorId!: string;

  @ApiProperty({ type: Number, nullable: true, description: 'The revision this one restored.' })
  restoredFrom!: number | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;
}

export class KbRevisionListDto {
  @ApiProperty({ type: [KbRevisionDto], description: 'Newest first.' })
  items!: KbRevisionDto[];

  @ApiProperty({ type: String, nullable: true, format: 'uuid' })
  nextCursor!: string | null;
}

export class KbVoteDto {
  @ApiProperty({ description: 'true: the article helped; false: it did not.' })
  @IsBoolean()
  helpful!: boolean;
}

export class KbVoteResultDto {
  @ApiProperty()
  helpfulCount!: number;

  @ApiProperty()
  notHelpfulCount!: number;
}

export class CreateKbDeflectionDto {
  @ApiProperty({
    example: 'cannot reset password',
    maxLength: 500,
    description: 'The search or draft ticket subject the article answered.',
  })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  query!: string;
}

export class KbDeflectionResultDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ description: 'Tickets this article has deflected so far.' })
  deflectionCount!: number;
}
