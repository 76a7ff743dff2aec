import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { candidateDirs, parseToolVersion } from '../../src/database/backup/pg-tools';
import { ADMIN_URL_VAR } from '../support/database';

/** Where the whole-database backup test can run: a server and pg_dump/pg_restore able to handle it. */
export type BackupTarget =
  | { ok: true; adminUrl: string; binDir: string; description: string }
  | { ok: false; reason: string };

/**
 * pg_dump only works with servers of its own major version or older, and the
 * embedded PostgreSQL ships no client tools. The test takes the harness's
 * server when the machine has a new enough pg_dump, otherwise a local server
 * that the machine's tools match (GW_TEST_BACKUP_ADMIN_URL, default
 * postgres://postgres@127.0.0.1:5432/postgres), otherwise it says why it cannot run.
 * Decided synchronously, at collection time, so jest reports a skip, not a pass.
 */
export function findBackupTarget(env: NodeJS.ProcessEnv = process.env): BackupTarget {
  const tools = candidateDirs(env)
    .filter((dir) => existsSync(join(dir, 'pg_dump')) && existsSync(join(dir, 'pg_restore')))
    .map((dir) => ({ dir, major: toolMajor(join(dir, 'pg_dump')) }))
    .filter((tool): tool is { dir: string; major: number } => tool.major !== undefined);
  const servers = [
    env[ADMIN_URL_VAR],
    env.GW_TEST_BACKUP_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  ].filter((url): url is string => Boolean(url));
  const seen: string[] = [];
  for (const url of [...new Set(servers)]) {
    const major = serverMajor(url);
    if (major === undefined) {
      seen.push(`${redact(url)} unreachable`);
      continue;
    }
    const tool = tools.find((t) => t.major >= major);
    if (tool) {
      return {
        ok: true,
        adminUrl: url,
        binDir: tool.dir,
        description: `PostgreSQL ${major} at ${redact(url)} with pg_dump ${tool.major} from ${tool.dir}`,
      };
    }
    seen.push(`${redact(url)} is PostgreSQL ${major}`);
  }
  const found = tools.length
    ? `pg_dump ${tools.map((t) => `${t.major} (${t.dir})`).join(', ')}`
    : 'no pg_dump';
  return {
    ok: false,
    reason: `${seen.join('; ')}; found ${found}. Install the client tools of the server's major (PG_BIN_DIR) or point GW_TEST_BACKUP_ADMIN_URL at a server they match.`,
  };
}

function toolMajor(path: string): number | undefined {
  try {
    return parseToolVersion(execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 5000 }))
      ?.major;
  } catch {
    return undefined;
  }
}

/** The server's major version, asked in a child process (jest collects test files synchronously). */
function serverMajor(url: string): number | undefined {
  const script = `
    const { Client } = require('pg');
    const c = new Client({ connectionString: process.argv[1], connectionTimeoutMillis: 2000 });
    c.connect()
      .then(() => c.query("select current_setting('server_version_num') as v"))
      .then((r) => { process.stdout.write(r.rows[0].v); return c.end(); })
      .catch(() => process.exit(1));`;
  try {
    const out = execFileSync(process.execPath, ['-e', script, url], {
      encoding: 'utf8',
      timeout: 5000,
      cwd: join(__dirname, '../..'),
    });
    return Math.floor(Number(out) / 10_000) || undefined;
  } catch {
    return undefined;
  }
}

const redact = (url: string): string => {
  const parsed = new URL(url);
  if (parsed.password) parsed.password = '***';
  return `${parsed.host}`;
};
