import { ApiProperty } from '@nestjs/swagger';
import { IsISO8601, Matches } from 'class-validator';
import { MAX_RANGE_DAYS, METRIC_KEYS, METRIC_UNITS } from '../business-metrics';
import type { MetricKey, MetricUnit, TargetOp } from '../business-metrics';

/** A UTC day from 1970 on (PostgreSQL has no year 0, and nothing here is older). */
const DAY = /^(19[7-9]\d|[2-9]\d{3})-\d{2}-\d{2}$/;

export class BusinessMetricsQuery {
  @ApiProperty({
    example: '2031-01-01',
    format: 'date',
    description: 'First day of the period (UTC), included; not after today.',
  })
  @Matches(DAY, { message: 'from must be a day from 1970-01-01 on, YYYY-MM-DD' })
  @IsISO8601({ strict: true }, { message: 'from must be a real calendar day' })
  from!: string;

  @ApiProperty({
    example: '2031-03-31',
    format: 'date',
    description: `Last day of the period (UTC), included; the period holds at most ${MAX_RANGE_DAYS} days.`,
  })
  @Matches(DAY, { message: 'to must be a day from 1970-01-01 on, YYYY-MM-DD' })
  @IsISO8601({ strict: true }, { message: 'to must be a real calendar day' })
  to!: string;
}

export class MetricTargetDto {
  @ApiProperty({ enum: ['>', '<'] })
  op!: TargetOp;

  @ApiProperty({ example: 0.05 })
  value!: number;
}

export class MetricBasisDto {
  @ApiProperty({ description: 'What was counted as meeting the definition.' })
  numerator!: number;

  @ApiProperty({ description: 'What it was counted out of.' })
  denominator!: number;
}

export class MetricFigureDto {
  @ApiProperty({ enum: METRIC_KEYS })
  key!: MetricKey;

  @ApiProperty({
    type: String,
    nullable: true,
    example: 'usd',
    description: 'Money figures are per currency (never summed across); null otherwise.',
  })
  currency!: string | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    description:
      'Rates: decimals rounded to 4 places; money: integer minor units; null when there is no basis.',
  })
  value!: number | null;

  @ApiProperty({ enum: METRIC_UNITS })
  unit!: MetricUnit;

  @ApiProperty({ type: MetricTargetDto, nullable: true, description: 'The launch target.' })
  target!: MetricTargetDto | null;

  @ApiProperty({
    type: Boolean,
    nullable: true,
    description: 'Whether value meets target; null without a target or a value.',
  })
  met!: boolean | null;

  @ApiProperty({
    type: MetricBasisDto,
    nullable: true,
    description: 'The counts a rate was computed from; null for money and latency.',
  })
  basis!: MetricBasisDto | null;
}

export class BusinessMetricsDto {
  @ApiProperty({ example: '2031-01-01' })
  from!: string;

  @ApiProperty({ example: '2031-03-31' })
  to!: string;

  @ApiProperty({ description: 'Start of the period: midnight UTC of from.' })
  periodStart!: Date;

  @ApiProperty({
    description:
      'End of the period, excluded: midnight UTC after to, or now when that is earlier. MRR, ARR and ARPA are at this instant.',
  })
  periodEnd!: Date;

  @ApiProperty({
    description:
      'Start of the HTTP latency figures: they cover every request this process answered since it started, whatever the period.',
  })
  latencySince!: Date;

  @ApiProperty({ type: [MetricFigureDto] })
  figures!: MetricFigureDto[];
}
