import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  Invoice,
  InvoiceLine,
  InvoiceLineKind,
  InvoiceReason,
  InvoiceStatus,
} from '../../entities/invoice.entity';

export class InvoiceLineDto {
  @ApiProperty({ enum: InvoiceLineKind })
  kind!: InvoiceLineKind;

  @ApiProperty({ example: 'Pro × 5 seats (monthly), 1 Dec 2026 – 1 Jan 2027' })
  description!: string;

  @ApiProperty()
  quantity!: number;

  @ApiProperty({ description: 'Full-period price per seat, minor units.' })
  unitAmount!: number;

  @ApiProperty({ description: 'Minor units; credits are negative.' })
  amount!: number;

  @ApiProperty()
  periodStart!: Date;

  @ApiProperty()
  periodEnd!: Date;

  static from(line: InvoiceLine): InvoiceLineDto {
    return Object.assign(new InvoiceLineDto(), {
      kind: line.kind,
      description: line.description,
      quantity: line.quantity,
      unitAmount: line.unitAmount,
      amount: line.amount,
      periodStart: line.periodStart,
      periodEnd: line.periodEnd,
    });
  }
}

export class InvoiceDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'GW-000042', nullable: true, type: String })
  number!: string | null;

  @ApiProperty({ enum: InvoiceStatus })
  status!: InvoiceStatus;

  @ApiProperty({ enum: InvoiceReason })
  reason!: InvoiceReason;

  @ApiProperty({ example: 'usd' })
  currency!: string;

  @ApiProperty({ description: 'Sum of the lines, minor units.' })
  subtotal!: number;

  @ApiProperty()
  total!: number;

  @ApiProperty({ description: 'Account credit used towards the total.' })
  creditApplied!: number;

  @ApiProperty({ description: 'What the card is charged.' })
  amountDue!: number;

  @ApiProperty()
  amountPaid!: number;

  @ApiProperty()
  amountRefunded!: number;

  @ApiProperty()
  periodStart!: Date;

  @ApiProperty()
  periodEnd!: Date;

  @ApiProperty({ description: 'Charge attempts so far.' })
  attemptCount!: number;

  @ApiPropertyOptional({ nullable: true, type: Date })
  paidAt!: Date | null;

  @ApiProperty()
  createdAt!: Date;

  @ApiProperty({ type: [InvoiceLineDto] })
  lines!: InvoiceLineDto[];

  static from(invoice: Invoice): InvoiceDto {
    return Object.assign(new InvoiceDto(), {
      id: invoice.id,
      number: invoice.number ?? null,
      status: invoice.status,
      reason: invoice.reason,
      currency: invoice.currency,
      subtotal: invoice.subtotal,
      total: invoice.total,
      creditApplied: invoice.creditApplied,
      amountDue: invoice.amountDue,
      amountPaid: invoice.amountPaid,
      amountRefunded: invoice.amountRefunded,
      periodStart: invoice.periodStart,
      periodEnd: invoice.periodEnd,
      attemptCount: invoice.attemptCount,
      paidAt: invoice.paidAt ?? null,
      createdAt: invoice.createdAt,
      lines: invoice.lines.isInitialized()
        ? invoice.lines.getItems().map((line) => InvoiceLineDto.from(line))
        : [],
    });
  }
}

export class InvoicePageDto {
  @ApiProperty({ type: [InvoiceDto] })
  items!: InvoiceDto[];

  @ApiProperty({ nullable: true, type: String, format: 'uuid' })
  nextCursor!: string | null;
}

export class InvoicePaymentStatusDto {
  @ApiProperty({ enum: ['succeeded', 'requires_action', 'pending'] })
  status!: 'succeeded' | 'requires_action' | 'pending';

  @ApiPropertyOptional({ nullable: true, type: String })
  paymentId!: string | null;

  @ApiPropertyOptional({ nullable: true, type: String })
  clientSecret!: string | null;
}

export class InvoicePaymentDto {
  @ApiProperty({ type: InvoiceDto })
  invoice!: InvoiceDto;

  @ApiProperty({ type: InvoicePaymentStatusDto })
  payment!: InvoicePaymentStatusDto;
}
