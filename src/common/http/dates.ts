import { applyDecorators } from '@nestjs/common';
import { MaxDate, MinDate } from 'class-validator';

/**
 * The instants a date-time input may name: `new Date('100000')` is a valid
 * JavaScript date (year 100000) that PostgreSQL cannot parse, so an
 * unbounded `@Type(() => Date) @IsDate()` field let one through to a 500.
 */
export const EARLIEST_DATE = new Date('1970-01-01T00:00:00.000Z');
export const LATEST_DATE = new Date('9999-12-31T23:59:59.999Z');

/** Bounds a `@Type(() => Date)` field to what the database stores (after its `@IsDate()`). */
export const WithinStorableDates = (): PropertyDecorator =>
  applyDecorators(MinDate(EARLIEST_DATE), MaxDate(LATEST_DATE));
