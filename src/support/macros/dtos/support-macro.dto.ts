import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsEnum,
  IsOptional,
  IsString,
  Matches,
  MaxLength,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { TicketDto, TicketMessageDto } from '../../tickets/dtos/ticket.dto';
import { TicketPriority, TicketStatus } from '../../tickets/ticket-status';
import { MACRO_PLACEHOLDERS } from '../macro-template';
import { SupportMacro } from '../support-macro.entity';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const TAG = /^[a-z0-9][a-z0-9_-]{0,39}$/;
/** Absent means "unchanged"; null is not a value for these and must fail validation. */
const unlessAbsent = (_dto: object, value: unknown) => value !== undefined;
const BODY_DOC = `The reply. Placeholders: ${MACRO_PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}; any other is refused.`;

export class CreateSupportMacroDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'Ask for a screenshot' })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @ApiProperty({ minLength: 1, maxLength: 20_000, description: BODY_DOC })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(20_000)
  body!: string;

  @ApiPropertyOptional({ enum: TicketStatus, description: 'Status to move the ticket to.' })
  @IsOptional()
  @IsEnum(TicketStatus)
  setStatus?: TicketStatus;

  @ApiPropertyOptional({ enum: TicketPriority })
  @IsOptional()
  @IsEnum(TicketPriority)
  setPriority?: TicketPriority;

  @ApiPropertyOptional({ type: [String], maxItems: 10, description: 'Tags added to the ticket.' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @Matches(TAG, {
    each: true,
    message: 'each tag is lower-case letters, digits, - or _ (up to 40)',
  })
  addTags?: string[];
}

export class UpdateSupportMacroDto {
  @ApiPropertyOptional({ minLength: 1, maxLength: 100 })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name?: string;

  @ApiPropertyOptional({ minLength: 1, maxLength: 20_000, description: BODY_DOC })
  @ValidateIf(unlessAbsent)
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(20_000)
  body?: string;

  @ApiPropertyOptional({ enum: TicketStatus, nullable: true, type: String })
  @IsOptional()
  @IsEnum(TicketStatus)
  setStatus?: TicketStatus | null;

  @ApiPropertyOptional({ enum: TicketPriority, nullable: true, type: String })
  @IsOptional()
  @IsEnum(TicketPriority)
  setPriority?: TicketPriority | null;

  @ApiPropertyOptional({ type: [String], maxItems: 10 })
  @ValidateIf(unlessAbsent)
  @IsArray()
  @ArrayMaxSize(10)
  @Matches(TAG, {
    each: true,
    message: 'each tag is lower-case letters, digits, - or _ (up to 40)',
  })
  addTags?: string[];
}

export class SupportMacroDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty()
  name!: string;

  @ApiProperty()
  body!: string;

  @ApiProperty({ enum: TicketStatus, nullable: true, type: String })
  setStatus!: TicketStatus | null;

  @ApiProperty({ enum: TicketPriority, nullable: true, type: String })
  setPriority!: TicketPriority | null;

  @ApiProperty({ type: [String] })
  addTags!: string[];

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;

  static from(row: SupportMacro): SupportMacroDto {
    return Object.assign(new SupportMacroDto(), {
      id: row.id,
      name: row.name,
      body: row.body,
      setStatus: row.setStatus ?? null,
      setPriority: row.setPriority ?? null,
      addTags: [...row.addTags],
      createdAt: row.createdAt.toISOString(),
      updatedAt: row.updatedAt.toISOString(),
    });
  }
}

/** A macro applied to a ticket: the reply it posted and the ticket as it now is. */
export class AppliedMacroDto {
  @ApiProperty({ type: TicketDto })
  ticket!: TicketDto;

  @ApiProperty({ type: TicketMessageDto })
  reply!: TicketMessageDto;
}
