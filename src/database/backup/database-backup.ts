import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import { quoteIdent } from '../schema-names';
import { BackupError } from './backup.error';
import { backupFileName, backupsToPrune, checksumsFileFor, partialPathFor } from './backup-files';
import { Checksums, compareChecksums, databaseChecksums, SYSTEM_SCHEMA_FILTER } from './checksums';
import {
  lastLines,
  libpqConnection,
  PgTool,
  requireTool,
  runTool,
  ServerVersion,
  ToolResult,
  serverVersion,
} from './pg-tools';

export type Log = (line: string) => void;

export interface BackupOptions {
  url: string;
  /** The file to write; or `outputDir`, where a timestamped name is chosen. */
  output?: string;
  outputDir?: string;
  /** After success, delete all but the newest `keep` backups in the folder. */
  keep?: number;
  /** Also write the checksums of every table, taken in the dump's own snapshot. */
  verify?: boolean;
  env?: NodeJS.ProcessEnv;
  log?: Log;
  signal?: AbortSignal;
  now?: Date;
}

export interface BackupResult {
  file: string;
  bytes: number;
  tables: number;
  schemas: number;
  seconds: number;
  tool: PgTool;
  server: ServerVersion;
  checksumsFile?: string;
  pruned: string[];
}

/** The manifest `--verify` writes beside a backup. */
export interface ChecksumManifest {
  backup: string;
  takenAt: string;
  server: string;
  checksums: Checksums;
}

async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url, application_name: 'groundwork-backup' });
  await client.connect();
  return client;
}

/**
 * A whole-database backup in pg_dump's custom format. It is written under a
 * hidden temporary name and renamed only once pg_dump has succeeded and the
 * archive reads back, so the backup folder never holds half a backup.
 */
export async function backupDatabase(options: BackupOptions): Promise<BackupResult> {
  const log = options.log ?? (() => undefined);
  const env = options.env ?? process.env;
  const started = performance.now();
  const target = resolve(
    options.output ?? join(options.outputDir ?? '.', backupFileName(options.now ?? new Date())),
  );
  if (existsSync(target)) throw new BackupError(`${target} already exists: choose another name`);
  await mkdir(dirname(target), { recursive: true });

  const client = await connect(options.url);
  const partial = partialPathFor(target);
  const partialChecksums = partialPathFor(checksumsFileFor(target));
  try {
    const server = await serverVersion(client);
    const tool = await requireTool('pg_dump', server, env);
    log(`Server: PostgreSQL ${server.text}; using ${tool.path} (${tool.version})`);

    // pg_dump reads the snapshot exported here, so the counts and checksums
    // below describe exactly the rows in the archive, even while the app writes.
    await client.query('begin isolation level repeatable read read only');
    const { rows } = await client.query<{ snapshot: string }>(
      'select pg_export_snapshot() as snapshot',
    );
    const { dbname, env: pgEnv } = libpqConnection(options.url);
    log(`Dumping to ${target}`);
    const dump = runTool(
      tool.path,
      [
        '--format=custom',
        `--file=${partial}`,
        `--snapshot=${rows[0].snapshot}`,
        `--dbname=${dbname}`,
      ],
      pgEnv,
      options.signal,
    );
    const [shape, checksums] = await Promise.all([
      countTables(client),
      options.verify ? databaseChecksums(client) : undefined,
    ]);
    const result = await dump;
    await client.query('commit');
    if (result.code !== 0) {
      throw new BackupError(`pg_dump failed (exit ${result.code}): ${lastLines(result.stderr)}`);
    }
    await checkArchive(tool, partial, shape.tables);

    if (checksums) {
      const manifest: ChecksumManifest = {
        backup: target,
        takenAt: new Date().toISOString(),
        server: server.text,
        checksums,
      };
      await writeFile(partialChecksums, `${JSON.stringify(manifest, null, 2)}\n`);
      await rename(partialChecksums, checksumsFileFor(target));
    }
    await rename(partial, target);
    const pruned = options.keep ? await prune(dirname(target), options.keep, log) : [];
    return {
      file: target,
      bytes: (await stat(target)).size,
      ...shape,
      seconds: (performance.now() - started) / 1000,
      tool,
      server,
      checksumsFile: checksums ? checksumsFileFor(target) : undefined,
      pruned,
    };
  } catch (error) {
    await rm(partial, { force: true });
    await rm(partialChecksums, { force: true });
    throw error;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function countTables(client: Client): Promise<{ tables: number; schemas: number }> {
  const { rows } = await client.query<{ tables: string; schemas: string }>(
    `select count(*) filter (where c.relkind in ('r', 'p')) as tables,
            count(distinct n.nspname) as schemas
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
      where c.relkind in ('r', 'p', 'S', 'v', 'm') and ${SYSTEM_SCHEMA_FILTER}`,
  );
  return { tables: Number(rows[0].tables), schemas: Number(rows[0].schemas) };
}

/**
 * Reads the archive's table of contents back with the pg_restore beside
 * pg_dump: a truncated or unreadable file fails here, not on the day it is needed.
 */
async function checkArchive(tool: PgTool, file: string, tables: number): Promise<void> {
  const pgRestore = join(dirname(tool.path), 'pg_restore');
  if (!existsSync(pgRestore)) return;
  const list = await runTool(pgRestore, ['--list', file]);
  if (list.code !== 0) {
    throw new BackupError(`the new archive does not read back: ${lastLines(list.stderr)}`);
  }
  // Every table has a TABLE entry, even an empty one; fewer means a broken dump.
  const listed = list.stdout.split('\n').filter((line) => / TABLE (?!DATA)/.test(line)).length;
  if (listed < tables) {
    throw new BackupError(`the new archive lists ${listed} tables, the database has ${tables}`);
  }
}

async function prune(dir: string, keep: number, log: Log): Promise<string[]> {
  const doomed = backupsToPrune(await readdir(dir), keep);
  for (const name of doomed) {
    await rm(join(dir, name), { force: true });
    await rm(checksumsFileFor(join(dir, name)), { force: true });
    log(`Deleted old backup ${name} (keeping the newest ${keep})`);
  }
  return doomed;
}

export interface RestoreOptions {
  url: string;
  input: string;
  /** Replace what the database holds (pg_restore --clean --if-exists) instead of refusing. */
  clean?: boolean;
  /** Parallel pg_restore jobs; 1 restores in a single transaction (all or nothing). */
  jobs?: number;
  /** Compare every table with the checksums written by `backup --verify`. */
  verify?: boolean;
  env?: NodeJS.ProcessEnv;
  log?: Log;
  signal?: AbortSignal;
}

export interface RestoreResult {
  tables: number;
  schemas: number;
  seconds: number;
  tool: PgTool;
  server: ServerVersion;
  /** Relations compared with the manifest, when verified. */
  verified?: number;
}

/** Every schema but PostgreSQL's own and `public` (which holds only extensions). */
async function applicationSchemas(client: Client): Promise<string[]> {
  const { rows } = await client.query<{ name: string }>(
    `select n.nspname as name from pg_namespace n
      where ${SYSTEM_SCHEMA_FILTER} and n.nspname <> 'public' order by 1`,
  );
  return rows.map((r) => r.name);
}

/**
 * `drop schema … cascade` for each schema, then the archive as SQL
 * (pg_restore writing to psql), all in psql's single transaction that stops
 * at the first error: the old database stays whole unless the new one is.
 */
function restoreReplacing(
  pgRestore: string,
  psql: string,
  input: string,
  dbname: string,
  schemas: string[],
  restoreArgs: string[],
  env: NodeJS.ProcessEnv,
): Promise<ToolResult> {
  return new Promise((resolvePromise, reject) => {
    const childEnv = { ...process.env, ...env };
    const restore = spawn(pgRestore, [...restoreArgs, '--file=-', input], {
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const apply = spawn(
      psql,
      [
        '--no-psqlrc',
        '--quiet',
        '--single-transaction',
        '--set=ON_ERROR_STOP=1',
        `--dbname=${dbname}`,
      ],
      { env: childEnv, stdio: ['pipe', 'ignore', 'pipe'] },
    );
    const errors: Buffer[] = [];
    restore.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    apply.stderr.on('data', (chunk: Buffer) => errors.push(chunk));
    restore.on('error', reject);
    apply.on('error', reject);
    // psql ending early (an error) closes its input: pg_restore then sees EPIPE, which is fine.
    apply.stdin.on('error', () => undefined);
    apply.stdin.write(schemas.map((name) => `drop schema ${quoteIdent(name)} cascade;\n`).join(''));
    restore.stdout.pipe(apply.stdin);
    let restoreCode: number | null = null;
    restore.on('close', (code) => (restoreCode = code));
    apply.on('close', (code) =>
      resolvePromise({
        code: code === 0 && restoreCode !== 0 && restoreCode !== null ? restoreCode : code,
        stdout: '',
        stderr: Buffer.concat(errors).toString(),
      }),
    );
  });
}

/** Restores a custom-format backup into the database of `url`. */
export async function restoreDatabase(options: RestoreOptions): Promise<RestoreResult> {
  const log = options.log ?? (() => undefined);
  const env = options.env ?? process.env;
  const started = performance.now();
  const input = resolve(options.input);
  if (!existsSync(input)) throw new BackupError(`${input} does not exist`);
  const manifestFile = checksumsFileFor(input);
  if (options.verify && !existsSync(manifestFile)) {
    throw new BackupError(
      `--verify needs ${manifestFile}, written by a backup taken with --verify`,
    );
  }
  const jobs = options.jobs ?? 1;

  const client = await connect(options.url);
  try {
    const server = await serverVersion(client);
    const tool = await requireTool('pg_restore', server, env);
    log(`Server: PostgreSQL ${server.text}; using ${tool.path} (${tool.version})`);
    const list = await runTool(tool.path, ['--list', input]);
    if (list.code !== 0) {
      throw new BackupError(`${input} is not a readable backup: ${lastLines(list.stderr)}`);
    }
    const existing = await countTables(client);
    if (existing.schemas > 0 && !options.clean) {
      throw new BackupError(
        `the database is not empty (${existing.tables} tables in ${existing.schemas} schemas): ` +
          'restore into an empty database, or pass --clean to replace the objects the backup holds',
      );
    }

    const { dbname, env: pgEnv } = libpqConnection(options.url);
    // Owners and grants name roles of the old server, which a new one may not
    // have: the restoring role owns everything, as the app's role did.
    const common = ['--no-owner', '--no-privileges'];
    if (options.clean) {
      // pg_restore --clean drops object by object and trips over partitioned
      // tables (pg-boss's queues); dropping every application schema and
      // restoring in the same transaction replaces the database as a whole.
      const psql = join(dirname(tool.path), 'psql');
      if (!existsSync(psql)) {
        throw new BackupError(`--clean needs psql beside ${tool.path} (the same client tools)`);
      }
      const schemas = await applicationSchemas(client);
      log(`Replacing ${schemas.length} schemas in one transaction`);
      const result = await restoreReplacing(tool.path, psql, input, dbname, schemas, common, pgEnv);
      if (result.code !== 0) {
        throw new BackupError(
          `restore failed (exit ${result.code}), nothing was changed: ${lastLines(result.stderr)}`,
        );
      }
    } else {
      const args = [`--dbname=${dbname}`, ...common];
      args.push(...(jobs > 1 ? [`--jobs=${jobs}`, '--exit-on-error'] : ['--single-transaction']));
      log(`Restoring ${input}${jobs > 1 ? ` with ${jobs} jobs` : ' in one transaction'}`);
      const result = await runTool(tool.path, [...args, input], pgEnv, options.signal);
      if (result.code !== 0) {
        throw new BackupError(
          `pg_restore failed (exit ${result.code})${jobs > 1 ? ' and may have left a partial restore' : ', nothing was changed'}: ${lastLines(result.stderr)}`,
        );
      }
    }
    const restored = await countTables(client);

    let verified: number | undefined;
    if (options.verify) {
      log('Verifying every table against the backup checksums');
      const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as ChecksumManifest;
      const problems = compareChecksums(manifest.checksums, await databaseChecksums(client));
      if (problems.length) {
        throw new BackupError(
          `restored data differs from the backup in ${problems.length} relations: ${problems.slice(0, 5).join('; ')}`,
        );
      }
      verified = Object.keys(manifest.checksums).length;
    }
    return {
      ...restored,
      seconds: (performance.now() - started) / 1000,
      tool,
      server,
      verified,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
