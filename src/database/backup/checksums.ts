import { Client } from 'pg';
import { quoteIdent } from '../schema-names';

export interface RelationChecksum {
  rows: number;
  md5: string;
}

/** `schema.table` (tables) or `sequence schema.name` (a sequence's position) → checksum. */
export type Checksums = Record<string, RelationChecksum>;

/** Schemas that belong to PostgreSQL itself, never to the application. */
export const SYSTEM_SCHEMA_FILTER = `n.nspname not in ('pg_catalog', 'information_schema') and n.nspname not like 'pg\\_%'`;

/**
 * The text of a row depends on session settings (time zone, date style, float
 * digits): fixed here so that two servers configured differently agree.
 */
export async function useCanonicalOutput(client: Client): Promise<void> {
  await client.query(
    `select set_config('timezone', 'UTC', false), set_config('datestyle', 'ISO, YMD', false),
            set_config('intervalstyle', 'postgres', false), set_config('extra_float_digits', '1', false),
            set_config('bytea_output', 'hex', false)`,
  );
}

/**
 * Row count and an order-independent digest of every table and sequence in
 * the application's schemas (all but PostgreSQL's own), optionally only
 * `schemas`. Each row is hashed on its own and the sorted hashes hashed again,
 * so memory grows by 32 bytes a row rather than by the row.
 */
export async function databaseChecksums(
  client: Client,
  options: { schemas?: string[] } = {},
): Promise<Checksums> {
  await useCanonicalOutput(client);
  const { rows: relations } = await client.query<{ schema: string; name: string; kind: string }>(
    `select n.nspname as schema, c.relname as name, c.relkind as kind
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'S') and ${SYSTEM_SCHEMA_FILTER}
        and ($1::text[] is null or n.nspname = any($1))
      order by 1, 2`,
    [options.schemas ?? null],
  );
  const result: Checksums = {};
  for (const { schema, name, kind } of relations) {
    const qualified = `${quoteIdent(schema)}.${quoteIdent(name)}`;
    if (kind === 'S') {
      const { rows } = await client.query<{ state: string }>(
        `select last_value::text || ':' || is_called::text as state from ${qualified}`,
      );
      result[`sequence ${schema}.${name}`] = { rows: 1, md5: rows[0].state };
      continue;
    }
    const { rows } = await client.query<{ rows: string; md5: string | null }>(
      `select count(*) as rows,
              md5(string_agg(md5(t::text), '' order by md5(t::text) collate "C")) as md5
         from ${qualified} t`,
    );
    result[`${schema}.${name}`] = { rows: Number(rows[0].rows), md5: rows[0].md5 ?? '' };
  }
  return result;
}

/** What differs between two checksum sets, one line each (empty when they are equal). */
export function compareChecksums(expected: Checksums, actual: Checksums): string[] {
  const problems: string[] = [];
  for (const [name, want] of Object.entries(expected)) {
    const got = actual[name];
    if (!got) problems.push(`${name}: missing`);
    else if (got.rows !== want.rows)
      problems.push(`${name}: ${got.rows} rows, expected ${want.rows}`);
    else if (got.md5 !== want.md5) problems.push(`${name}: same row count, different content`);
  }
  for (const name of Object.keys(actual)) {
    if (!(name in expected)) problems.push(`${name}: not in the backup`);
  }
  return problems;
}

/** Total rows in tables (sequences left out), for summaries. */
export const totalRows = (checksums: Checksums): number =>
  Object.entries(checksums)
    .filter(([name]) => !name.startsWith('sequence '))
    .reduce((sum, [, c]) => sum + c.rows, 0);
