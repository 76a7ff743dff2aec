import { PageQuery } from '../../common/http/pagination';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEnum, IsOptional, IsString, MaxLength } from 'class-validator';
import { OutboxKind, OutboxMessage, OutboxStatus } from '../entities/outbox-message.entity';

/** An outbox message as the admin API lists it: everything but the bodies. */
export class OutboxMessageDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ enum: OutboxKind, enumName: 'OutboxKind' })
  kind!: OutboxKind;

  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  tenantId!: string | null;

  @ApiProperty({ example: 'ada@example.com' })
  to!: string;

  @ApiProperty({ example: 'Confirm your email address' })
  subject!: string;

  @ApiProperty({ example: 'auth.verify_email' })
  template!: string;

  @ApiProperty({ enum: OutboxStatus, enumName: 'OutboxStatus' })
  status!: OutboxStatus;

  @ApiProperty({ description: 'Delivery attempts started so far.' })
  attempts!: number;

  @ApiProperty({
    format: 'date-time',
    description: 'When a pending message is due; for a sending one, when its claim expires.',
  })
  nextAttemptAt!: string;

  @ApiProperty({ nullable: true, type: String })
  lastError!: string | null;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ nullable: true, type: String, format: 'date-time' })
  sentAt!: string | null;

  static from(message: Omit<OutboxMessage, 'text' | 'html'>): OutboxMessageDto {
    return {
      id: message.id,
      kind: message.kind,
      tenantId: message.tenantId ?? null,
      to: message.to,
      subject: message.subject,
      template: message.template,
      status: message.status,
      attempts: message.attempts,
      nextAttemptAt: message.nextAttemptAt.toISOString(),
      lastError: message.lastError ?? null,
      createdAt: message.createdAt.toISOString(),
      sentAt: message.sentAt?.toISOString() ?? null,
    };
  }
}

/**
 * One message with its bodies. They may hold live links (password reset,
 * invitations): whoever is allowed to read this can act on them.
 */
export class OutboxMessageDetailDto extends OutboxMessageDto {
  @ApiProperty()
  text!: string;

  @ApiProperty({ nullable: true, type: String })
  html!: string | null;

  static override from(message: OutboxMessage): OutboxMessageDetailDto {
    return { ...OutboxMessageDto.from(message), text: message.text, html: message.html ?? null };
  }
}

export class OutboxMessagePageDto {
  @ApiProperty({ type: [OutboxMessageDto] })
  items!: OutboxMessageDto[];

  @ApiProperty({
    nullable: true,
    type: String,
    description: 'Pass as `cursor` for the next page; null at the end.',
  })
  nextCursor!: string | null;
}

export class ListOutboxMessagesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: OutboxStatus, enumName: 'OutboxStatus' })
  @IsOptional()
  @IsEnum(OutboxStatus)
  status?: OutboxStatus;

  @ApiPropertyOptional({ example: 'ada@example.com', description: 'Exact recipient address.' })
  @IsOptional()
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @MaxLength(320)
  to?: string;
}
