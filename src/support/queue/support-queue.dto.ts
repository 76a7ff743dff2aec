import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsEnum, IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';
import { TicketPriority, TicketStatus } from '../tickets/ticket-status';
import { SupportQueueEntry } from './support-queue-entry.entity';

export class ListQueueQuery {
  @ApiPropertyOptional({ enum: TicketStatus })
  @IsOptional()
  @IsEnum(TicketStatus)
  status?: TicketStatus;

  @ApiPropertyOptional({ enum: TicketPriority })
  @IsOptional()
  @IsEnum(TicketPriority)
  priority?: TicketPriority;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  assigneeId?: string;

  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  tenantId?: string;

  @ApiPropertyOptional({
    description: 'Only tickets whose next SLA due time falls within this many minutes.',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10_080)
  breachingWithinMinutes?: number;

  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 50;
}

export class QueueEntryDto {
  @ApiProperty({ format: 'uuid' })
  ticketId!: string;

  @ApiProperty({ format: 'uuid' })
  tenantId!: string;

  @ApiProperty()
  number!: number;

  @ApiProperty({ enum: TicketStatus })
  status!: TicketStatus;

  @ApiProperty({ enum: TicketPriority })
  priority!: TicketPriority;

  @ApiPropertyOptional({ nullable: true, type: String, format: 'uuid' })
  assigneeId!: string | null;

  @ApiPropertyOptional({ nullable: true, type: Date })
  firstResponseDueAt!: Date | null;

  @ApiPropertyOptional({ nullable: true, type: Date })
  resolutionDueAt!: Date | null;

  @ApiPropertyOptional({
    nullable: true,
    type: Date,
    description: 'The next SLA due time still open.',
  })
  nextDueAt!: Date | null;

  @ApiPropertyOptional({ nullable: true, type: Date })
  firstResponseBreachedAt!: Date | null;

  @ApiPropertyOptional({ nullable: true, type: Date })
  resolutionBreachedAt!: Date | null;

  @ApiProperty()
  createdAt!: Date;

  static from(row: SupportQueueEntry): QueueEntryDto {
    return Object.assign(new QueueEntryDto(), {
      ticketId: row.ticketId,
      tenantId: row.tenantId,
      number: row.number,
      status: row.status,
      priority: row.priority,
      assigneeId: row.assigneeId ?? null,
      firstResponseDueAt: row.firstResponseDueAt ?? null,
      resolutionDueAt: row.resolutionDueAt ?? null,
      nextDueAt: nextDue(row),
      firstResponseBreachedAt: row.firstResponseBreachedAt ?? null,
      resolutionBreachedAt: row.resolutionBreachedAt ?? null,
      createdAt: row.createdAt,
    });
  }
}

/** The earliest SLA due time not yet met. */
export function nextDue(row: SupportQueueEntry): Date | null {
  const open = [
    row.firstResponseAt ? null : row.firstResponseDueAt,
    row.solvedAt ? null : row.resolutionDueAt,
  ].filter((d): d is Date => d instanceof Date);
  return open.length ? new Date(Math.min(...open.map((d) => d.getTime()))) : null;
}

export class SlaCountsQuery {
  @ApiPropertyOptional({ format: 'uuid' })
  @IsOptional()
  @IsUUID()
  tenantId?: string;
}

export class SlaCountsDto {
  @ApiProperty({ description: 'Open tickets whose first-response target passed unmet.' })
  firstResponseBreached!: number;

  @ApiProperty({ description: 'Open tickets whose resolution target passed unmet.' })
  resolutionBreached!: number;

  @ApiProperty({ description: 'Open tickets with a target due within the hour, not yet breached.' })
  breachingWithinHour!: number;

  @ApiProperty({ description: 'Tickets not solved or closed.' })
  open!: number;
}
