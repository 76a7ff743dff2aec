import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';
import { BackupError } from './backup.error';

export type PgToolName = 'pg_dump' | 'pg_restore';

export interface PgTool {
  name: PgToolName;
  path: string;
  /** As the tool prints it, e.g. `15.20 (Debian 15.20-0+deb12u1)`. */
  version: string;
  major: number;
}

export interface ServerVersion {
  /** `SHOW server_version_num`, e.g. 180001. */
  num: number;
  major: number;
  /** `SHOW server_version`, for messages. */
  text: string;
}

/** `pg_dump (PostgreSQL) 15.20 (Debian …)` → 15; `9.6.24` → 9 (majors before 10 were x.y; only x is compared). */
export function parseToolVersion(output: string): { version: string; major: number } | undefined {
  const match = /\(PostgreSQL\)\s+((\d+)(?:\.\d+)*[^\r\n]*)/.exec(output);
  if (!match) return undefined;
  return { version: match[1].trim(), major: Number(match[2]) };
}

/** 180001 → 18; 90624 → 9 (before 10 the major was x.y, but x alone decides tool compatibility here). */
export function majorOfServerVersionNum(num: number): number {
  return Math.floor(num / 10_000);
}

/**
 * Where the tools may be, in the order they are tried: `PG_BIN_DIR` alone when
 * set (an operator who names a folder means it), otherwise every folder on
 * PATH, then Debian/Ubuntu's versioned installs, newest first.
 */
export function candidateDirs(
  env: NodeJS.ProcessEnv,
  versionedRoot = '/usr/lib/postgresql',
): string[] {
  if (env.PG_BIN_DIR) return [env.PG_BIN_DIR];
  const onPath = (env.PATH ?? '').split(delimiter).filter(Boolean);
  let versioned: string[] = [];
  if (existsSync(versionedRoot)) {
    versioned = readdirSync(versionedRoot)
      .filter((name) => /^\d+$/.test(name))
      .sort((a, b) => Number(b) - Number(a))
      .map((name) => join(versionedRoot, name, 'bin'));
  }
  return [...new Set([...onPath, ...versioned])];
}

const run = promisify(execFile);

async function describeTool(name: PgToolName, path: string): Promise<PgTool | undefined> {
  try {
    const { stdout } = await run(path, ['--version'], { timeout: 10_000 });
    const parsed = parseToolVersion(stdout);
    return parsed && { name, path, ...parsed };
  } catch {
    return undefined;
  }
}

/** Every copy of `name` found in the candidate folders, in their order. */
export async function findTools(name: PgToolName, env: NodeJS.ProcessEnv): Promise<PgTool[]> {
  const found: PgTool[] = [];
  const seen = new Set<string>();
  for (const dir of candidateDirs(env)) {
    const path = join(dir, name);
    if (seen.has(path) || !existsSync(path)) continue;
    seen.add(path);
    const tool = await describeTool(name, path);
    if (tool) found.push(tool);
  }
  return found;
}

/**
 * The first tool able to work with a server of `serverMajor`: a pg_dump or
 * pg_restore reads and writes servers of its own major and older ones, never
 * newer (pg_dump refuses outright: "server version mismatch").
 */
export function pickTool(
  name: PgToolName,
  found: PgTool[],
  server: ServerVersion,
  env: NodeJS.ProcessEnv,
): PgTool {
  const usable = found.find((tool) => tool.major >= server.major);
  if (usable) return usable;
  throw new BackupError(incompatibleToolMessage(name, found, server, env));
}

export function incompatibleToolMessage(
  name: PgToolName,
  found: PgTool[],
  server: ServerVersion,
  env: NodeJS.ProcessEnv,
): string {
  const what = found.length
    ? `found ${found.map((t) => `${name} ${t.major} (${t.path})`).join(', ')}`
    : env.PG_BIN_DIR
      ? `PG_BIN_DIR=${env.PG_BIN_DIR} has no working ${name}`
      : `no ${name} on PATH or under /usr/lib/postgresql/*/bin`;
  return (
    `${name} ${server.major} or newer is needed for PostgreSQL ${server.text}, but ${what}. ` +
    `Install the PostgreSQL ${server.major} client tools (e.g. apt install postgresql-client-${server.major}) ` +
    `and point PG_BIN_DIR at their folder (e.g. PG_BIN_DIR=/usr/lib/postgresql/${server.major}/bin).`
  );
}

export async function serverVersion(client: Client): Promise<ServerVersion> {
  const { rows } = await client.query<{ num: string; text: string }>(
    `select current_setting('server_version_num') as num, current_setting('server_version') as text`,
  );
  const num = Number(rows[0].num);
  return { num, major: majorOfServerVersionNum(num), text: rows[0].text.split(' ')[0] };
}

/** Finds a tool compatible with the server of `url`, or explains which one is needed. */
export async function requireTool(
  name: PgToolName,
  server: ServerVersion,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PgTool> {
  return pickTool(name, await findTools(name, env), server, env);
}

/**
 * libpq reads the password from PGPASSWORD: a password inside a URL given on
 * the command line would be readable by every user through `ps`.
 */
export function libpqConnection(url: string): { dbname: string; env: NodeJS.ProcessEnv } {
  const parsed = new URL(url);
  const password = decodeURIComponent(parsed.password);
  parsed.password = '';
  return {
    dbname: parsed.toString(),
    env: password ? { PGPASSWORD: password } : {},
  };
}

export interface ToolResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a PostgreSQL tool, keeping its output for the error message (it is never large). */
export function runTool(
  path: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  signal?: AbortSignal,
): Promise<ToolResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    // An abort (Ctrl+C) kills the tool and rejects: the caller removes its partial file.
    child.on('error', reject);
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      }),
    );
  });
}

/** The tool's last words, for a one-line failure reason. */
export function lastLines(text: string, count = 5): string {
  return text.trim().split('\n').slice(-count).join(' | ');
}
