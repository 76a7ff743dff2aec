import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { pipeline } from 'node:stream/promises';
import { createGunzip, createGzip } from 'node:zlib';
import { IsolationLevel } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { PLATFORM_SCHEMA, quoteIdent, tenantSchemaName } from '../schema-names';
import { rowCrypto } from '../../common/crypto/encrypted-columns';
import { TENANT_MIGRATION_TABLE, TenantSchemaMigrator } from '../tenant-schema-migrator';
import { BackupError } from './backup.error';
import { partialPathFor } from './backup-files';
import type { Log } from './database-backup';

/*
 * One organisation's data as a portable file: its tenant schema and every
 * platform row that belongs to it. Unlike pg_dump, it needs no client tools
 * of the server's version, reads back into a newer build (missing columns
 * take their defaults, later tenant migrations run after the rows are in),
 * and is restored in one transaction: all of it or none.
 *
 * Format: gzip of JSON lines, each `[kind, payload]`: one `header`, then per
 * table a `table` line followed by its `row` lines (`row_to_json`, so every
 * type round-trips through PostgreSQL's own casts), the tenant schema's
 * `sequence` states, its stored `file`s (attachments), and an `end` line
 * carrying the SHA-256 of every line before it, so a truncated or edited
 * file is refused before anything is written. Encrypted columns are written
 * decrypted and encrypted again under the importing instance's keys: the
 * file is as sensitive as the data (written owner-only).
 */

export const TENANT_ARCHIVE_FORMAT = 'groundwork.tenant-archive';
export const TENANT_ARCHIVE_VERSION = 1;

/**
 * Platform tables that carry `tenant_id` but stay behind, and why:
 * sessions must be opened again (a token is never carried elsewhere), sent
 * mail is history of the old instance and a pending one must not go out
 * twice, replay records expire within a day, and deflections point at
 * help-centre articles, which belong to the operator, not to the tenant;
 * so do feature flag overrides and beta cohort memberships (ADR 0023).
 */
export const LEFT_BEHIND: Record<string, string> = {
  refresh_token: 'sessions: members sign in again',
  outbox: 'mail of the old instance: never sent twice',
  idempotency_key: 'replay records expire within a day',
  kb_deflection: "points at the operator's help-centre articles",
  feature_flag_override: "the operator's rollout decisions on this instance, on its flags",
  beta_cohort_member: "the operator's beta cohorts on this instance",
};

/** Shared rows a tenant's rows point at: brought along when absent, never overwritten. */
const USER_TABLE = 'user_account';

/**
 * Rows that belong to a member's account rather than to the tenant, keyed by
 * `user_id`: they travel with an account the import creates, so it keeps its
 * second factor; an account that already exists here keeps its own.
 */
export const USER_OWNED: Record<string, string> = {
  user_two_factor: "the account's second factor (its secret)",
  two_factor_recovery_code: 'its unused recovery codes (hashes)',
};

/** Account rows that never travel: they only matter for minutes or hours. */
const USER_LEFT_BEHIND: Record<string, string> = {
  email_token: 'one-time mail links, valid for hours',
  login_challenge: 'sign-ins in progress, valid for minutes',
};
const BATCH = 500;

type Line =
  | ['header', ArchiveHeader]
  | ['table', TableEntry]
  | ['row', Record<string, unknown>]
  | ['sequence', SequenceState]
  | ['file', StoredFile]
  | ['end', ArchiveEnd];

export interface ArchiveHeader {
  format: typeof TENANT_ARCHIVE_FORMAT;
  version: number;
  exportedAt: string;
  server: string;
  tenant: { id: string; slug: string; name: string; status: string };
  platformMigrations: string[];
  tenantMigrations: string[];
}

interface TableEntry {
  /** `platform` or `tenant` (the tenant's own schema, whatever its name). */
  schema: 'platform' | 'tenant';
  table: string;
  columns: string[];
  rows: number;
}

interface SequenceState {
  name: string;
  lastValue: string;
  isCalled: boolean;
}

/** The bytes of one stored file (a ticket attachment), base64. */
interface StoredFile {
  key: string;
  base64: string;
}

/**
 * Files outside the database that the tenant's rows name, carried in the
 * archive with them: the rows of `table` hold the storage key in `column`.
 */
export interface ArchivedFiles {
  table: string;
  column: string;
  storage: {
    get(key: string): Promise<Buffer>;
    put(key: string, bytes: Buffer): Promise<void>;
    delete(key: string): Promise<void>;
  };
}

interface ArchiveEnd {
  tables: number;
  rows: number;
  sha256: string;
}

export interface TenantArchiveSummary {
  file: string;
  tenant: ArchiveHeader['tenant'];
  /** `platform.invoice` / `tenant.ticket` → rows. */
  tables: Record<string, number>;
  rows: number;
  seconds: number;
}

interface TableSelection {
  table: string;
  /** SQL over alias `t` choosing the tenant's rows; `$tenant` stands for the id. */
  where: string;
}

/** Column lists of a schema's tables, without generated columns (PostgreSQL computes those). */
async function columnsOf(em: EntityManager, schema: string): Promise<Map<string, string[]>> {
  const rows = await em.execute<{ table: string; column: string }[]>(
    `select c.relname as "table", a.attname as "column"
       from pg_attribute a
       join pg_class c on c.oid = a.attrelid
       join pg_namespace n on n.oid = c.relnamespace
      where n.nspname = ? and c.relkind in ('r', 'p') and a.attnum > 0
        and not a.attisdropped and a.attgenerated = ''
      order by c.relname, a.attnum`,
    [schema],
  );
  const columns = new Map<string, string[]>();
  for (const row of rows) columns.set(row.table, [...(columns.get(row.table) ?? []), row.column]);
  return columns;
}

/** Foreign keys among a schema's tables: child → parents (self references left out). */
async function foreignKeys(em: EntityManager, schema: string): Promise<Map<string, Set<string>>> {
  const rows = await em.execute<{ child: string; parent: string }[]>(
    `select c.relname as child, p.relname as parent
       from pg_constraint k
       join pg_class c on c.oid = k.conrelid
       join pg_class p on p.oid = k.confrelid
       join pg_namespace n on n.oid = c.relnamespace
      where k.contype = 'f' and n.nspname = ? and p.relnamespace = c.relnamespace
        and c.oid <> p.oid`,
    [schema],
  );
  const parents = new Map<string, Set<string>>();
  for (const { child, parent } of rows) {
    parents.set(child, (parents.get(child) ?? new Set()).add(parent));
  }
  return parents;
}

/**
 * The tenant's id inside a cursor's query, where parameters cannot go; only
 * a canonical uuid is ever written there.
 */
function uuidLiteral(id: string): string {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
    throw new BackupError(`not a tenant id: ${JSON.stringify(id)}`);
  }
  return `'${id}'::uuid`;
}

/** Parents before children; a cycle (none today) is refused rather than half-ordered. */
export function parentsFirst(tables: string[], parents: Map<string, Set<string>>): string[] {
  const wanted = new Set(tables);
  const ordered: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (table: string, path: string[]): void => {
    if (state.get(table) === 'done') return;
    if (state.get(table) === 'visiting') {
      throw new BackupError(`foreign keys form a cycle: ${[...path, table].join(' → ')}`);
    }
    state.set(table, 'visiting');
    for (const parent of [...(parents.get(table) ?? [])].sort()) {
      if (wanted.has(parent)) visit(parent, [...path, table]);
    }
    state.set(table, 'done');
    ordered.push(table);
  };
  for (const table of [...tables].sort()) visit(table, []);
  return ordered;
}

/**
 * Which platform rows are the tenant's: its `tenant` row, every row of a table
 * with `tenant_id` (less LEFT_BEHIND), rows of tables hanging off those by a
 * foreign key (a dunning campaign's step runs), and its members' accounts.
 */
async function platformSelection(
  em: EntityManager,
  columns: Map<string, string[]>,
): Promise<TableSelection[]> {
  const parents = await foreignKeys(em, PLATFORM_SCHEMA);
  const selected = new Map<string, string>([['tenant', 't.id = $tenant']]);
  for (const [table, cols] of columns) {
    if (cols.includes('tenant_id') && !(table in LEFT_BEHIND) && table !== 'tenant') {
      selected.set(table, 't.tenant_id = $tenant');
    }
  }
  // Children of selected tables without a tenant_id of their own, found through their keys.
  let grew = true;
  while (grew) {
    grew = false;
    const keys = await em.execute<{ child: string; parent: string; columns: string[] }[]>(
      `select c.relname as child, p.relname as parent,
              array(select a.attname from unnest(k.conkey) with ordinality u(n, i)
                      join pg_attribute a on a.attrelid = k.conrelid and a.attnum = u.n
                     order by u.i)::text[] as columns
         from pg_constraint k
         join pg_class c on c.oid = k.conrelid
         join pg_class p on p.oid = k.confrelid
         join pg_namespace n on n.oid = c.relnamespace
        where k.contype = 'f' and n.nspname = ? and c.oid <> p.oid`,
      [PLATFORM_SCHEMA],
    );
    for (const key of keys) {
      const parentWhere = selected.get(key.parent);
      if (!parentWhere || selected.has(key.child) || key.child in LEFT_BEHIND) continue;
      if (key.columns.length !== 1) continue;
      selected.set(
        key.child,
        `t.${quoteIdent(key.columns[0])} in (select t.id from ${PLATFORM_SCHEMA}.${quoteIdent(key.parent)} t where ${parentWhere})`,
      );
      grew = true;
    }
  }
  const members = `select m.user_id from ${PLATFORM_SCHEMA}.membership m where m.tenant_id = $tenant`;
  selected.set(USER_TABLE, `t.id in (${members})`);
  for (const table of Object.keys(USER_OWNED)) {
    if (columns.has(table)) selected.set(table, `t.user_id in (${members})`);
  }
  // Tables with tenant_id are taken above unless left behind; a table added
  // later that holds users' rows must be placed on one side or the other
  // here, never silently left out of archives.
  const unplaced = [...columns]
    .filter(([, cols]) => cols.includes('user_id'))
    .map(([table]) => table)
    .filter((t) => !selected.has(t) && !(t in LEFT_BEHIND) && !(t in USER_LEFT_BEHIND));
  if (unplaced.length) {
    throw new BackupError(
      `platform tables ${unplaced.join(', ')} hold user rows that tenant archives do not place: ` +
        'add each to the selection, USER_OWNED or a left-behind list in src/database/backup/tenant-archive.ts',
    );
  }
  const order = parentsFirst([...selected.keys()], parents);
  // Accounts first: memberships point at them (by id, without a key).
  return [USER_TABLE, ...order.filter((t) => t !== USER_TABLE)].map((table) => ({
    table,
    where: selected.get(table)!,
  }));
}

async function appliedPlatformMigrations(em: EntityManager): Promise<string[]> {
  const rows = await em.execute<{ name: string }[]>(
    `select name from ${PLATFORM_SCHEMA}.mikro_orm_migrations order by id`,
  );
  return rows.map((r) => r.name);
}

async function appliedTenantMigrations(em: EntityManager, schema: string): Promise<string[]> {
  const rows = await em.execute<{ name: string }[]>(
    `select name from ${quoteIdent(schema)}.${TENANT_MIGRATION_TABLE} order by name`,
  );
  return rows.map((r) => r.name);
}

/** Streams lines into a gzip file, hashing them as written. */
class ArchiveWriter {
  private readonly gzip = createGzip();
  private readonly hash = createHash('sha256');
  private readonly done: Promise<void>;
  rows = 0;

  constructor(file: string) {
    this.done = pipeline(this.gzip, createWriteStream(file, { mode: 0o600 }));
  }

  async write(line: Line): Promise<void> {
    const text = `${JSON.stringify(line)}\n`;
    this.hash.update(text);
    if (!this.gzip.write(text)) {
      await new Promise<void>((resolveDrain) => this.gzip.once('drain', resolveDrain));
    }
  }

  async close(tables: number): Promise<void> {
    const end: ArchiveEnd = { tables, rows: this.rows, sha256: this.hash.digest('hex') };
    this.gzip.end(`${JSON.stringify(['end', end])}\n`);
    await this.done;
  }

  async abort(): Promise<void> {
    this.gzip.destroy();
    await this.done.catch(() => undefined);
  }
}

export interface ExportOptions {
  /** The tenant's id or slug. */
  tenant: string;
  output: string;
  /** Ticket attachments: their bytes travel in the archive. */
  files?: ArchivedFiles;
  log?: Log;
}

/**
 * Writes the tenant's archive from one repeatable-read snapshot, so the
 * platform rows and the schema agree even while the app writes.
 */
export async function exportTenant(
  rootEm: EntityManager,
  options: ExportOptions,
): Promise<TenantArchiveSummary> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const target = resolve(options.output);
  if (existsSync(target)) throw new BackupError(`${target} already exists: choose another name`);
  await mkdir(dirname(target), { recursive: true });
  const partial = partialPathFor(target);
  const writer = new ArchiveWriter(partial);
  const tables: Record<string, number> = {};
  try {
    const header = await rootEm.fork().transactional(
      async (em) => {
        await em.execute('set transaction read only');
        const found = await em.execute<ArchiveHeader['tenant'][]>(
          `select id::text as id, slug, name, status from ${PLATFORM_SCHEMA}.tenant
            where id::text = ? or slug = ?`,
          [options.tenant, options.tenant.toLowerCase()],
        );
        if (found.length === 0)
          throw new BackupError(`no tenant with id or slug ${options.tenant}`);
        const tenant = found[0];
        if (tenant.status === 'deleted') {
          throw new BackupError(`tenant ${tenant.slug} is deleted: its schema is gone`);
        }
        const schema = tenantSchemaName(tenant.id);
        const head: ArchiveHeader = {
          format: TENANT_ARCHIVE_FORMAT,
          version: TENANT_ARCHIVE_VERSION,
          exportedAt: new Date().toISOString(),
          server: (
            await em.execute<{ v: string }[]>(`select current_setting('server_version') as v`)
          )[0].v,
          tenant,
          platformMigrations: await appliedPlatformMigrations(em),
          tenantMigrations: await appliedTenantMigrations(em, schema),
        };
        await writer.write(['header', head]);
        log(`Exporting ${tenant.slug} (${tenant.id})`);

        const platformColumns = await columnsOf(em, PLATFORM_SCHEMA);
        for (const { table, where } of await platformSelection(em, platformColumns)) {
          const rows = await dumpTable(em, writer, {
            entry: { schema: 'platform', table, columns: platformColumns.get(table)! },
            from: `${PLATFORM_SCHEMA}.${quoteIdent(table)}`,
            where: where.replaceAll('$tenant', uuidLiteral(tenant.id)),
          });
          tables[`platform.${table}`] = rows;
        }

        const tenantColumns = await columnsOf(em, schema);
        const tenantTables = parentsFirst(
          [...tenantColumns.keys()].filter((t) => t !== TENANT_MIGRATION_TABLE),
          await foreignKeys(em, schema),
        );
        for (const table of tenantTables) {
          tables[`tenant.${table}`] = await dumpTable(em, writer, {
            entry: { schema: 'tenant', table, columns: tenantColumns.get(table)! },
            from: `${quoteIdent(schema)}.${quoteIdent(table)}`,
            where: 'true',
          });
        }
        const sequences = await em.execute<{ name: string }[]>(
          `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
            where n.nspname = ? and c.relkind = 'S' order by 1`,
          [schema],
        );
        for (const { name } of sequences) {
          const [state] = await em.execute<{ lastValue: string; isCalled: boolean }[]>(
            `select last_value::text as "lastValue", is_called as "isCalled"
               from ${quoteIdent(schema)}.${quoteIdent(name)}`,
          );
          await writer.write(['sequence', { name, ...state }]);
        }
        if (options.files && tenantColumns.has(options.files.table)) {
          const count = await dumpFiles(em, writer, schema, options.files);
          if (count) log(`${count} stored files`);
        }
        return head;
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ },
    );
    await writer.close(Object.keys(tables).length);
    await rename(partial, target);
    return {
      file: target,
      tenant: header.tenant,
      tables,
      rows: writer.rows,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (error) {
    await writer.abort();
    await rm(partial, { force: true });
    throw error;
  }
}

/** The bytes of every file the tenant's rows name; a file missing from storage stops the export. */
async function dumpFiles(
  em: EntityManager,
  writer: ArchiveWriter,
  schema: string,
  files: ArchivedFiles,
): Promise<number> {
  const rows = await em.execute<{ key: string }[]>(
    `select ${quoteIdent(files.column)} as key from ${quoteIdent(schema)}.${quoteIdent(files.table)} order by 1`,
  );
  for (const { key } of rows) {
    let bytes: Buffer;
    try {
      bytes = await files.storage.get(key);
    } catch (error) {
      throw new BackupError(
        `stored file ${key} (${files.table}) cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
    await writer.write(['file', { key, base64: bytes.toString('base64') }]);
  }
  return rows.length;
}

/** Reads one table through a cursor, so a large tenant never sits in memory whole. */
async function dumpTable(
  em: EntityManager,
  writer: ArchiveWriter,
  source: { entry: Omit<TableEntry, 'rows'>; from: string; where: string },
): Promise<number> {
  const [{ count }] = await em.execute<{ count: number }[]>(
    `select count(*)::int as count from ${source.from} t where ${source.where}`,
  );
  await writer.write(['table', { ...source.entry, rows: count }]);
  // Ordered by the whole row's text: the same data always gives the same file body.
  await em.execute(
    `declare tenant_archive no scroll cursor for
       select row_to_json(t)::text as row from ${source.from} t where ${source.where}
        order by row_to_json(t)::text collate "C"`,
  );
  // Encrypted columns travel as plaintext (like the attached files), so the
  // archive imports into an instance that holds other keys.
  const crypto = rowCrypto(em);
  let written = 0;
  for (;;) {
    const batch = await em.execute<{ row: string }[]>(`fetch ${BATCH} from tenant_archive`);
    for (const { row } of batch) {
      const values = JSON.parse(row) as Record<string, unknown>;
      crypto.decrypt(source.entry.schema, source.entry.table, values);
      await writer.write(['row', values]);
      written++;
    }
    if (batch.length < BATCH) break;
  }
  await em.execute('close tenant_archive');
  if (written !== count) {
    throw new BackupError(`${source.from}: counted ${count} rows but read ${written}`);
  }
  writer.rows += written;
  return written;
}

/** The lines of an archive as they are read (the end line last), each with its raw text. */
async function* archiveLines(
  file: string,
): AsyncGenerator<{ line: Line; raw: string; index: number }> {
  const input = createReadStream(file).pipe(createGunzip());
  let index = 0;
  try {
    for await (const raw of createInterface({ input, crlfDelay: Infinity })) {
      index++;
      let line: Line;
      try {
        line = JSON.parse(raw) as Line;
      } catch {
        throw new BackupError(`${file}: line ${index} is not JSON (a damaged archive)`);
      }
      yield { line, raw, index };
    }
  } catch (error) {
    if (error instanceof BackupError) throw error;
    throw new BackupError(
      `${file} is not a readable tenant archive: ${error instanceof Error ? error.message : String(error)}`,
    );
  } finally {
    input.destroy();
  }
}

/**
 * Reads the whole archive once and checks it against its end line, before a
 * single row is written: a truncated or altered file is refused whole.
 */
export async function verifyArchive(file: string): Promise<ArchiveHeader> {
  if (!existsSync(file)) throw new BackupError(`${file} does not exist`);
  const hash = createHash('sha256');
  let header: ArchiveHeader | undefined;
  let end: ArchiveEnd | undefined;
  for await (const { line, raw, index } of archiveLines(file)) {
    if (end) throw new BackupError(`${file}: lines after the end line`);
    if (index === 1) {
      if (line[0] !== 'header' || line[1].format !== TENANT_ARCHIVE_FORMAT) {
        throw new BackupError(`${file} is not a Groundwork tenant archive`);
      }
      header = line[1];
    }
    if (line[0] === 'end') end = line[1];
    else hash.update(`${raw}\n`);
  }
  if (!header) throw new BackupError(`${file} is empty`);
  if (!end) throw new BackupError(`${file} ends early (no end line): a truncated archive`);
  if (end.sha256 !== hash.digest('hex')) {
    throw new BackupError(`${file}: checksum mismatch (the archive was changed or damaged)`);
  }
  if (header.version > TENANT_ARCHIVE_VERSION) {
    throw new BackupError(
      `${file} is archive version ${header.version}; this build reads up to ${TENANT_ARCHIVE_VERSION}`,
    );
  }
  return header;
}

export interface ImportOptions {
  input: string;
  /** Where the archive's stored files go (written before the rows commit, removed if they do not). */
  files?: ArchivedFiles;
  log?: Log;
}

/**
 * Puts an archived tenant back, in one transaction: the platform rows, the
 * schema at the archive's tenant migrations, its rows and sequences, then
 * this build's later tenant migrations. Refused, with nothing written, when
 * the tenant (or its schema) exists, when the archive is newer than this
 * build, or when a member's email belongs to another account here.
 */
export async function importTenant(
  rootEm: EntityManager,
  migrator: TenantSchemaMigrator,
  options: ImportOptions,
): Promise<TenantArchiveSummary> {
  const log = options.log ?? (() => undefined);
  const started = performance.now();
  const file = resolve(options.input);
  const header = await verifyArchive(file);
  const { tenant } = header;
  const schema = tenantSchemaName(tenant.id);

  const known = migrator.migrations.map((m) => m.name);
  const archived = header.tenantMigrations;
  if (archived.some((name, i) => known[i] !== name)) {
    throw new BackupError(
      `the archive's tenant schema has migrations this build does not (${archived.filter((n) => !known.includes(n)).join(', ') || 'in another order'}): import with the version that exported it`,
    );
  }

  const tables: Record<string, number> = {};
  let total = 0;
  const written: string[] = [];
  try {
    await rootEm.fork().transactional(async (em) => {
      const applied = new Set(await appliedPlatformMigrations(em));
      const missing = header.platformMigrations.filter((name) => !applied.has(name));
      if (missing.length) {
        throw new BackupError(
          `the archive comes from a newer platform schema (${missing.join(', ')}): run this build's migrations or a newer build`,
        );
      }
      const exists = await em.execute<{ slug: string }[]>(
        `select slug from ${PLATFORM_SCHEMA}.tenant where id = ? or slug = ?`,
        [tenant.id, tenant.slug],
      );
      if (exists.length) {
        throw new BackupError(
          `a tenant with id ${tenant.id} or slug ${tenant.slug} already exists here (${exists[0].slug}): nothing was imported`,
        );
      }
      const [{ present }] = await em.execute<{ present: boolean }[]>(
        'select exists (select 1 from pg_namespace where nspname = ?) as present',
        [schema],
      );
      if (present) throw new BackupError(`schema ${schema} already exists: nothing was imported`);

      const platformColumns = await columnsOf(em, PLATFORM_SCHEMA);
      const newUsers = new Set<string>();
      let tenantColumns: Map<string, string[]> | undefined;
      let current:
        { entry: TableEntry; qualified: string; rows: Record<string, unknown>[] } | undefined;
      const flush = async (): Promise<void> => {
        if (!current || current.rows.length === 0) return;
        try {
          await insertRows(em, current.entry, current.qualified, current.rows, newUsers);
        } catch (error) {
          if (error instanceof BackupError) throw error;
          throw new BackupError(
            `${current.qualified}: ${databaseReason(error)} (nothing was imported)`,
          );
        }
        current.rows = [];
      };
      for await (const { line } of archiveLines(file)) {
        if (line[0] === 'table') {
          await flush();
          const entry = line[1];
          if (entry.schema === 'tenant' && !tenantColumns) {
            // The schema as the archive knew it; the rest of this build's migrations run after the rows.
            await new TenantSchemaMigrator(
              em,
              migrator.migrations.slice(0, archived.length),
            ).applyInTransaction(em, schema, { create: true });
            tenantColumns = await columnsOf(em, schema);
          }
          const target = entry.schema === 'tenant' ? tenantColumns! : platformColumns;
          const have = target.get(entry.table);
          if (!have) {
            throw new BackupError(
              `the archive has table ${entry.schema}.${entry.table}, which this database lacks`,
            );
          }
          const extra = entry.columns.filter((c) => !have.includes(c));
          if (extra.length) {
            throw new BackupError(
              `the archive has columns ${entry.schema}.${entry.table}.${extra.join(', ')} this database lacks: import with the version that exported it`,
            );
          }
          const qualified = `${entry.schema === 'tenant' ? quoteIdent(schema) : PLATFORM_SCHEMA}.${quoteIdent(entry.table)}`;
          current = { entry, qualified, rows: [] };
          tables[`${entry.schema}.${entry.table}`] = entry.rows;
          total += entry.rows;
          log(`${entry.schema}.${entry.table}: ${entry.rows} rows`);
        } else if (line[0] === 'row') {
          if (!current) throw new BackupError(`${file}: a row before any table`);
          current.rows.push(line[1]);
          if (current.rows.length >= BATCH) await flush();
        } else if (line[0] === 'file') {
          if (!options.files) {
            throw new BackupError(
              'the archive holds stored files and no storage was given for them',
            );
          }
          await options.files.storage.put(line[1].key, Buffer.from(line[1].base64, 'base64'));
          written.push(line[1].key);
        } else if (line[0] === 'sequence') {
          await flush();
          const { name, lastValue, isCalled } = line[1];
          await em.execute(`select setval(?::regclass, ?::bigint, ?)`, [
            `${quoteIdent(schema)}.${quoteIdent(name)}`,
            lastValue,
            isCalled,
          ]);
        }
      }
      await flush();
      if (!tenantColumns) {
        await new TenantSchemaMigrator(
          em,
          migrator.migrations.slice(0, archived.length),
        ).applyInTransaction(em, schema, { create: true });
      }
      const outcome = await migrator.applyInTransaction(em, schema);
      await em.execute(`update ${PLATFORM_SCHEMA}.tenant set schema_version = ? where id = ?`, [
        outcome.version ?? null,
        tenant.id,
      ]);
      if (outcome.applied.length)
        log(`Tenant migrations applied after the rows: ${outcome.applied.join(', ')}`);
    });
  } catch (error) {
    // The rows were rolled back: the files they named go too.
    for (const key of written) await options.files?.storage.delete(key).catch(() => undefined);
    throw error;
  }
  if (written.length) log(`${written.length} stored files`);
  return { file, tenant, tables, rows: total, seconds: (performance.now() - started) / 1000 };
}

async function insertRows(
  em: EntityManager,
  entry: TableEntry,
  qualified: string,
  rows: Record<string, unknown>[],
  /** Accounts this import created: only their own rows (USER_OWNED) are written. */
  newUsers: Set<string>,
): Promise<void> {
  if (entry.schema === 'platform' && entry.table in USER_OWNED) {
    rows = rows.filter((row) => newUsers.has(String(row.user_id)));
    if (rows.length === 0) return;
  }
  // Under this instance's active key (the archive holds them as plaintext).
  const crypto = rowCrypto(em);
  for (const row of rows) crypto.encrypt(entry.schema, entry.table, row);
  const columns = entry.columns.map(quoteIdent).join(', ');
  const source = `select ${columns} from json_populate_recordset(null::${qualified}, ?::json)`;
  if (entry.schema === 'platform' && entry.table === USER_TABLE) {
    // Accounts are shared between organisations: one already here is kept as it is,
    // unless its email now belongs to someone else, which would merge two people.
    const clash = await em.execute<{ email: string }[]>(
      `select u.email from ${qualified} u
         join json_populate_recordset(null::${qualified}, ?::json) r
           on lower(u.email) = lower(r.email) and u.id <> r.id`,
      [JSON.stringify(rows)],
    );
    if (clash.length) {
      throw new BackupError(
        `members' emails belong to other accounts here (${clash.map((c) => c.email).join(', ')}): nothing was imported`,
      );
    }
    const created = await em.execute<{ id: string }[]>(
      `insert into ${qualified} (${columns}) ${source} on conflict (id) do nothing returning id::text as id`,
      [JSON.stringify(rows)],
    );
    for (const { id } of created) newUsers.add(id);
    return;
  }
  await em.execute(`insert into ${qualified} (${columns}) ${source}`, [JSON.stringify(rows)]);
}

/**
 * A database error in one line: its constraint and detail (a missing plan,
 * a duplicate key), never the statement, which carries a batch of rows.
 */
function databaseReason(error: unknown): string {
  const e = error as { constraint?: string; detail?: string; message?: string };
  const parts = [e.constraint && `constraint ${e.constraint}`, e.detail].filter(Boolean);
  if (parts.length) return parts.join(': ');
  const message = e.message ?? String(error);
  const tail = message.split(' - ').at(-1) ?? message;
  return tail.slice(0, 300);
}
