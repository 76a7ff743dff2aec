import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEnum, IsOptional, IsString, IsUUID, Matches } from 'class-validator';
import { LOCALE_PATTERN } from '../../../knowledge-base/dtos/kb-article.dto';
import { KbVisibility } from '../../../knowledge-base/entities/kb-article.entity';

const lower = ({ value }: { value: unknown }) =>
  typeof value === 'string' ? value.trim().toLowerCase() : value;

export class CreateKbDraftDto {
  @ApiProperty({ format: 'uuid', description: 'The knowledge-base category the draft goes in.' })
  @IsUUID()
  categoryId!: string;

  @ApiPropertyOptional({ example: 'en', default: 'en' })
  @IsOptional()
  @Transform(lower)
  @IsString()
  @Matches(LOCALE_PATTERN, {
    message: 'locale must be a language tag such as en or pt-br',
  })
  locale?: string;

  @ApiPropertyOptional({
    enum: KbVisibility,
    enumName: 'KbVisibility',
    default: KbVisibility.Internal,
    description: 'Internal by default: staff review the draft before anyone else reads it.',
  })
  @IsOptional()
  @IsEnum(KbVisibility)
  visibility?: KbVisibility;
}

export class KbDraftDto {
  @ApiProperty({ format: 'uuid' })
  articleId!: string;

  @ApiProperty()
  slug!: string;

  @ApiProperty({ format: 'uuid', description: 'The ticket the draft came from.' })
  ticketId!: string;
}
