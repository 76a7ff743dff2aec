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
} from 'class-validator';
import { KbCategoryRefDto, LOCALE_PATTERN } from './kb-article.dto';

export const MAX_SEARCH_LIMIT = 50;
/** Results past this many are not offered: nobody pages that deep, and it bounds the work. */
export const MAX_SEARCH_OFFSET = 200;

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);

export class KbSearchQuery {
  @ApiProperty({
    example: 'reset password -sso',
    maxLength: 200,
    description: 'Web-search syntax: words, "quoted phrases", `or`, `-excluded`.',
  })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  q!: string;

  @ApiPropertyOptional({ example: 'en', default: 'en' })
  @IsOptional()
  @IsString()
  @Matches(LOCALE_PATTERN)
  locale: string = 'en';

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_SEARCH_LIMIT, default: 10 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(MAX_SEARCH_LIMIT)
  limit: number = 10;

  @ApiPropertyOptional({ minimum: 0, maximum: MAX_SEARCH_OFFSET, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  @Max(MAX_SEARCH_OFFSET)
  offset: number = 0;
}

export class KbDeflectQuery {
  @ApiProperty({ example: 'Cannot reset my password', maxLength: 500 })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(500)
  subject!: string;

  @ApiPropertyOptional({ example: 'en', default: 'en' })
  @IsOptional()
  @IsString()
  @Matches(LOCALE_PATTERN)
  locale: string = 'en';
}

export class KbSearchHitDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  slug!: string;

  @ApiProperty()
  locale!: string;

  @ApiProperty()
  title!: string;

  @ApiProperty({ type: [String] })
  tags!: string[];

  @ApiProperty({ type: KbCategoryRefDto })
  category!: KbCategoryRefDto;

  @ApiProperty({
    description:
      'An excerpt of the body as HTML: text escaped, matched words in `<mark>`. Empty for title-similarity hits.',
    example: 'To <mark>reset</mark> your <mark>password</mark>, open…',
  })
  snippet!: string;

  @ApiProperty({ description: 'Relevance, higher first; comparable only within one response.' })
  score!: number;
}

export class KbSearchResultDto {
  @ApiProperty({
    enum: ['fulltext', 'similar_titles'],
    description:
      '`fulltext`: the words matched; `similar_titles`: nothing did, these titles look like the query (typos).',
  })
  match!: 'fulltext' | 'similar_titles';

  @ApiProperty({ type: [KbSearchHitDto] })
  items!: KbSearchHitDto[];
}
