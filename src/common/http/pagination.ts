import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsUUID, Max, Min } from 'class-validator';

/**
 * Keyset pagination over time-ordered (UUIDv7) ids, newest first: list
 * queries extend this; the response carries `nextCursor` (null at the end).
 */
export class PageQuery {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 50;

  @ApiPropertyOptional({ format: 'uuid', description: 'The `nextCursor` of the previous page.' })
  @IsOptional()
  @IsUUID()
  cursor?: string;
}

/** Splits the `limit + 1` rows a keyset query fetched into a page and its next cursor. */
export function toPage<Row extends { id: string }, Item>(
  rows: Row[],
  limit: number,
  map: (row: Row) => Item,
): { items: Item[]; nextCursor: string | null } {
  const page = rows.slice(0, limit);
  return {
    items: page.map(map),
    nextCursor: rows.length > limit ? page[page.length - 1].id : null,
  };
}
