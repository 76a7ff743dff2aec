import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsEnum,
  IsInt,
  IsOptional,
  IsString,
  IsUUID,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { PageQuery } from '../../../common/http/pagination';
import { Ticket, TicketChannel } from '../entities/ticket.entity';
import { AuthorRole, MessageKind, TicketMessage } from '../entities/ticket-message.entity';
import { TicketEvent } from '../entities/ticket-event.entity';
import { TicketPriority, TicketStatus } from '../ticket-status';

const trim = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value);
const TAG = /^[a-z0-9][a-z0-9_-]{0,39}$/;
/** Absent means "unchanged"; null is not a value for these and must fail validation. */
const unlessAbsent = (_dto: object, value: unknown) => value !== undefined;

export class CreateTicketDto {
  @ApiProperty({ minLength: 3, maxLength: 200, example: 'Invoices show the wrong VAT number' })
  @Transform(trim)
  @IsString()
  @MinLength(3)
  @MaxLength(200)
  subject!: string;

  @ApiProperty({ minLength: 1, maxLength: 20_000 })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(20_000)
  description!: string;

  @ApiPropertyOptional({ enum: TicketPriority, default: TicketPriority.Normal })
  @IsOptional()
  @IsEnum(TicketPriority)
  priority?: TicketPriority;

  @ApiPropertyOptional({ type: [String], maxItems: 10, example: ['billing'] })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(10)
  @Matches(TAG, {
    each: true,
    message: 'each tag is lower-case letters, digits, - or _ (up to 40)',
  })
  tags?: string[];
}

export class MessageBodyDto {
  @ApiProperty({ minLength: 1, maxLength: 20_000 })
  @Transform(trim)
  @IsString()
  @MinLength(1)
  @MaxLength(20_000)
  body!: string;
}

export class UpdateTicketDto {
  @ApiPropertyOptional({ enum: TicketStatus })
  @ValidateIf(unlessAbsent)
  @IsEnum(TicketStatus)
  status?: TicketStatus;

  @ApiPropertyOptional({ enum: TicketPriority })
  @ValidateIf(unlessAbsent)
  @IsEnum(TicketPriority)
  priority?: TicketPriority;

  @ApiPropertyOptional({
    format: 'uuid',
    nullable: true,
    type: String,
    description: 'null: unassign.',
  })
  @IsOptional()
  @IsUUID()
  assigneeId?: string | null;

  @ApiPropertyOptional({ type: [String], maxItems: 10 })
  @ValidateIf(unlessAbsent)
  @IsArray()
  @ArrayMaxSize(10)
  @Matches(TAG, {
    each: true,
    message: 'each tag is lower-case letters, digits, - or _ (up to 40)',
  })
  tags?: string[];
}

export class RateTicketDto {
  @ApiProperty({ minimum: 1, maximum: 5 })
  @IsInt()
  @Min(1)
  @Max(5)
  score!: number;

  @ApiPropertyOptional({ maxLength: 2000 })
  @IsOptional()
  @IsString()
  @MaxLength(2000)
  comment?: string;
}

export class ListTicketsQuery extends PageQuery {
  @ApiPropertyOptional({ enum: TicketStatus })
  @IsOptional()
  @IsEnum(TicketStatus)
  status?: TicketStatus;
}

export class TicketMessageDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ enum: MessageKind })
  kind!: MessageKind;

  @ApiProperty({ format: 'uuid' })
  authorId!: string;

  @ApiProperty({ enum: AuthorRole })
  authorRole!: AuthorRole;

  @ApiProperty()
  body!: string;

  @ApiProperty()
  createdAt!: Date;

  static from(row: TicketMessageRow): TicketMessageDto {
    return Object.assign(new TicketMessageDto(), {
      id: row.id,
      kind: row.kind,
      authorId: row.authorId,
      authorRole: row.authorRole,
      body: row.body,
      createdAt: row.createdAt,
    });
  }
}

export class TicketEventDto {
  @ApiProperty()
  field!: string;

  @ApiPropertyOptional({ nullable: true, type: String })
  from!: string | null;

  @ApiPropertyOptional({ nullable: true, type: String })
  to!: string | null;

  @ApiPropertyOptional({ nullable: true, type: String, format: 'uuid' })
  actorId!: string | null;

  @ApiProperty()
  at!: Date;

  static from(row: TicketEventRow): TicketEventDto {
    return Object.assign(new TicketEventDto(), {
      field: row.field,
      from: row.fromValue ?? null,
      to: row.toValue ?? null,
      actorId: row.actorId ?? null,
      at: row.at,
    });
  }
}

/** What a message on the ticket page is made of (read as plain rows). */
export const TICKET_MESSAGE_FIELDS = [
  'id',
  'kind',
  'authorId',
  'authorRole',
  'body',
  'createdAt',
] as const satisfies readonly (keyof TicketMessage)[];
export type TicketMessageRow = Pick<TicketMessage, (typeof TICKET_MESSAGE_FIELDS)[number]>;

/** What a history entry on the ticket page is made of (read as plain rows). */
export const TICKET_EVENT_FIELDS = [
  'field',
  'fromValue',
  'toValue',
  'actorId',
  'at',
] as const satisfies readonly (keyof TicketEvent)[];
export type TicketEventRow = Pick<TicketEvent, (typeof TICKET_EVENT_FIELDS)[number]>;

/** What a ticket's summary is made of: read alone where whole entities are not needed. */
export const TICKET_LIST_FIELDS = [
  'id',
  'number',
  'subject',
  'description',
  'status',
  'priority',
  'channel',
  'tags',
  'requesterId',
  'assigneeId',
  'firstResponseAt',
  'solvedAt',
  'mergedIntoId',
  'createdAt',
  'updatedAt',
] as const satisfies readonly (keyof Ticket)[];

export type TicketRow = Pick<Ticket, (typeof TICKET_LIST_FIELDS)[number]>;

export class TicketDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 42 })
  number!: number;

  @ApiProperty()
  subject!: string;

  @ApiProperty()
  description!: string;

  @ApiProperty({ enum: TicketStatus })
  status!: TicketStatus;

  @ApiProperty({ enum: TicketPriority })
  priority!: TicketPriority;

  @ApiProperty({ enum: TicketChannel })
  channel!: TicketChannel;

  @ApiProperty({ type: [String] })
  tags!: string[];

  @ApiProperty({ format: 'uuid' })
  requesterId!: string;

  @ApiPropertyOptional({ nullable: true, type: String, format: 'uuid' })
  assigneeId!: string | null;

  @ApiPropertyOptional({ nullable: true, type: Date })
  firstResponseAt!: Date | null;

  @ApiPropertyOptional({ nullable: true, type: Date })
  solvedAt!: Date | null;

  @ApiPropertyOptional({
    nullable: true,
    type: String,
    format: 'uuid',
    description: 'Merged into this ticket (and closed).',
  })
  mergedIntoId!: string | null;

  @ApiProperty()
  createdAt!: Date;

  @ApiProperty()
  updatedAt!: Date;

  static from(row: TicketRow): TicketDto {
    return Object.assign(new TicketDto(), {
      id: row.id,
      number: row.number,
      subject: row.subject,
      description: row.description,
      status: row.status,
      priority: row.priority,
      channel: row.channel,
      tags: row.tags,
      requesterId: row.requesterId,
      assigneeId: row.assigneeId ?? null,
      firstResponseAt: row.firstResponseAt ?? null,
      solvedAt: row.solvedAt ?? null,
      mergedIntoId: row.mergedIntoId ?? null,
      createdAt: row.createdAt,
      updatedAt: row.updatedAt,
    });
  }
}

export class TicketDetailDto extends TicketDto {
  @ApiProperty({
    type: [TicketMessageDto],
    description: 'Replies, and internal notes for agents only.',
  })
  messages!: TicketMessageDto[];

  @ApiProperty({ type: [TicketEventDto], description: 'Every field change, oldest first.' })
  history!: TicketEventDto[];
}

export class TicketPageDto {
  @ApiProperty({ type: [TicketDto] })
  items!: TicketDto[];

  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  nextCursor!: string | null;
}

export class MergeTicketDto {
  @ApiProperty({ format: 'uuid', description: 'The ticket that stays: this one closes into it.' })
  @IsUUID()
  intoTicketId!: string;
}
