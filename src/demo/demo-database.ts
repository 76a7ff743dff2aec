import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { DemoOptions } from './demo-world';
import { DemoSummary } from './demo-generator';

/**
 * The demo's own bookkeeping lives in a `demo` schema beside `platform`: one
 * row saying this database holds a generated world, with the options it was
 * made from. It is not application data (no entity, no migration), and a
 * database without it is never reset or filled by the demo commands.
 */
const MARKER_DDL = `create schema if not exists demo;
create table if not exists demo.world (
  id int primary key default 1 check (id = 1),
  seed text not null,
  options jsonb not null,
  summary jsonb,
  generated_at timestamptz not null default now()
)`;

export interface DemoMarker {
  options: DemoOptions;
  /** Null while the world is being generated (or when generating it failed). */
  summary: DemoSummary | null;
  generatedAt: Date;
}

export async function withClient<T>(url: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export async function readMarker(client: Client): Promise<DemoMarker | null> {
  const { rows } = await client.query<{ t: string | null }>(
    `select to_regclass('demo.world')::text as t`,
  );
  if (!rows[0]?.t) return null;
  const marker = await client.query<{
    options: DemoOptions & { until: string };
    summary: DemoSummary | null;
    generated_at: Date;
  }>('select options, summary, generated_at from demo.world where id = 1');
  const row = marker.rows[0];
  if (!row) return null;
  return {
    options: { ...row.options, until: new Date(row.options.until) },
    summary: row.summary,
    generatedAt: row.generated_at,
  };
}

export async function writeMarker(
  client: Client,
  options: DemoOptions,
  summary: DemoSummary | null,
): Promise<void> {
  await client.query(MARKER_DDL);
  await client.query(
    `insert into demo.world (id, seed, options, summary) values (1, $1, $2, $3)
     on conflict (id) do update set seed = excluded.seed, options = excluded.options,
       summary = excluded.summary, generated_at = now()`,
    [options.seed, JSON.stringify(options), summary === null ? null : JSON.stringify(summary)],
  );
}

/** How many organisations and people a database holds (0 and 0 before the first migration). */
export async function contentOf(client: Client): Promise<{ tenants: number; users: number }> {
  const { rows } = await client.query<{ t: string | null }>(
    `select to_regclass('platform.tenant')::text as t`,
  );
  if (!rows[0]?.t) return { tenants: 0, users: 0 };
  const counts = await client.query<{ tenants: number; users: number }>(
    `select (select count(*) from platform.tenant)::int as tenants,
            (select count(*) from platform.user_account)::int as users`,
  );
  return counts.rows[0];
}

/**
 * Drops the demo world: every tenant schema, the platform schema (its
 * migrations table with it, so the next start migrates from scratch) and the
 * marker. pg-boss keeps its schema (running servers hold workers on it); its
 * queued jobs are deleted, since they name rows that are gone.
 */
export async function dropWorld(client: Client): Promise<number> {
  const { rows } = await client.query<{ nspname: string }>(
    `select nspname from pg_namespace where nspname like 'tenant\\_%' order by nspname`,
  );
  for (const { nspname } of rows) {
    await client.query(`drop schema "${nspname.replace(/"/g, '""')}" cascade`);
  }
  await client.query('drop schema if exists platform cascade');
  await client.query('drop schema if exists demo cascade');
  const boss = await client.query<{ t: string | null }>(
    `select to_regclass('pgboss.job')::text as t`,
  );
  if (boss.rows[0]?.t) await client.query('delete from pgboss.job');
  return rows.length;
}

/**
 * Stops pg-boss's crons (billing run, recovery, SLA and auto-close sweeps…)
 * on every server using this database while a world is generated: running
 * servers would otherwise renew, retry and mark breaches on the half-made
 * history at the real time (everything in it is due by then). The cron
 * definitions are moved out of `pgboss.schedule` into
 * `demo_paused.schedule`, in one statement, so a generation that is killed
 * (a deadline, an eviction, an OOM kill) leaves them saved in the database,
 * not lost with the process: the next `resumeSchedules` puts them back.
 * `dropWorld` leaves that schema alone. Returns how many were paused.
 */
export async function pauseSchedules(client: Client): Promise<number> {
  const { rows } = await client.query<{ t: string | null }>(
    `select to_regclass('pgboss.schedule')::text as t`,
  );
  if (!rows[0]?.t) return 0;
  await client.query(`create schema if not exists demo_paused;
    create table if not exists demo_paused.schedule (name text primary key, row jsonb not null)`);
  const moved = await client.query(
    `with gone as (delete from pgboss.schedule returning *)
     insert into demo_paused.schedule (name, row)
     select gone.name, to_jsonb(gone) from gone
     on conflict (name) do update set row = excluded.row`,
  );
  return moved.rowCount ?? 0;
}

/**
 * Puts back every cron `pauseSchedules` saved, this run's and any a killed
 * run left behind (one a server defined meanwhile is kept), in one transaction.
 */
export async function resumeSchedules(client: Client): Promise<void> {
  const { rows } = await client.query<{ t: string | null }>(
    `select to_regclass('demo_paused.schedule')::text as t`,
  );
  if (!rows[0]?.t) return;
  await client.query('begin');
  try {
    await client.query(
      `insert into pgboss.schedule
       select (jsonb_populate_record(null::pgboss.schedule, p.row)).* from demo_paused.schedule p
       on conflict do nothing`,
    );
    await client.query('delete from demo_paused.schedule');
    await client.query('commit');
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
}

/** Columns whose values come from the wall clock, randomness or encryption, not from the seed. */
const VOLATILE_COLUMNS = new Set([
  'password_hash',
  'token_hash',
  'key_hash',
  'request_id',
  'gateway_request_id',
  'idempotency_key',
  'search_vector',
  'body_html',
]);
const UUIDS = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/gi;
/** Simulated gateway object ids (`pi_sim_…`, `cus_sim_…`) are random, as Stripe's are. */
const GATEWAY_ID = /^[a-z]+_sim_[A-Za-z0-9_-]+$/;
/** Ciphertext (`gw1.<key id>.<base64url>`: names, card holders) is random by design. */
const CIPHERTEXT = /^gw\d+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
/** Tables that record sessions and deliveries rather than the world itself. */
const SKIPPED_TABLES = new Set([
  'mikro_orm_migrations',
  // Sessions are reissued by the wall clock while generating; idempotency records likewise.
  'refresh_token',
  'idempotency_key',
  'login_challenge',
  'email_token',
]);

function normalise(value: unknown, until: Date): unknown {
  if (typeof value === 'string') {
    if (GATEWAY_ID.test(value)) return '<gateway-id>';
    if (CIPHERTEXT.test(value)) return '<encrypted>';
    const time = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}/.test(value) ? Date.parse(value) : NaN;
    if (!Number.isNaN(time) && time > until.getTime() + 60_000) return '<wall-clock>';
    // Generated ids, alone or inside a text (a link in a mail, a schema name).
    return value.replace(UUIDS, '<uuid>');
  }
  if (Array.isArray(value)) return value.map((v) => normalise(v, until));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([key]) => !VOLATILE_COLUMNS.has(key))
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([key, v]) => [key, normalise(v, until)]),
    );
  }
  return value;
}

/**
 * A canonical digest of a world: every row of the platform and tenant tables
 * (tenant schemas in slug order, so two databases compare though their
 * tenant ids differ), with generated ids, wall-clock times, hashes and
 * ciphertext masked, rows sorted. Equal digests: the same world.
 */
export async function worldDigest(
  client: Client,
  until: Date,
): Promise<{
  digest: string;
  /** Rows per table. */
  tables: Record<string, number>;
  /** The digest of each table, to tell which one differs. */
  hashes: Record<string, string>;
  /** The canonical rows themselves, by table. */
  rows: Record<string, string[]>;
}> {
  const hash = createHash('sha256');
  const tables: Record<string, number> = {};
  const hashes: Record<string, string> = {};
  const canonical: Record<string, string[]> = {};
  const schemas = await client.query<{ schema: string; label: string }>(
    `select 'platform' as schema, 'platform' as label
     union all
     select t.schema_name, 'tenant:' || t.slug from platform.tenant t
     order by label`,
  );
  for (const { schema, label } of schemas.rows) {
    const list = await client.query<{ table_name: string }>(
      `select table_name from information_schema.tables
        where table_schema = $1 and table_type = 'BASE TABLE' order by table_name`,
      [schema],
    );
    for (const { table_name: table } of list.rows) {
      if (SKIPPED_TABLES.has(table)) continue;
      const { rows } = await client.query<{ row: Record<string, unknown> }>(
        `select to_jsonb(x) as row from "${schema}"."${table}" x`,
      );
      const lines = rows.map((r) => JSON.stringify(normalise(r.row, until))).sort();
      const name = `${label}.${table}`;
      const text = `${name}\n${lines.join('\n')}\n`;
      tables[name] = lines.length;
      hashes[name] = createHash('sha256').update(text).digest('hex');
      canonical[name] = lines;
      hash.update(text);
    }
  }
  return { digest: hash.digest('hex'), tables, hashes, rows: canonical };
}
