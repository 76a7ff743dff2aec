import { ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { freePort } from '../../src/database/embedded-postgres';

/** Where the Debian package `pgbouncer` installs the binary. */
export const PGBOUNCER_BINARY = '/usr/sbin/pgbouncer';

/** PgBouncer refuses to run as root; the Debian package's (and embedded PostgreSQL's) user. */
const UNPRIVILEGED_USER = 'postgres';

export interface PgBouncerOptions {
  /** The PostgreSQL server behind it, as a URL; its user and password become PgBouncer's only login. */
  serverUrl: string;
  /** A folder for the ini and the auth file. */
  dir: string;
  /** Server connections per database and user: what many client connections share. */
  poolSize: number;
  /** Client connections PgBouncer accepts in all. */
  maxClientConnections: number;
}

/** One pool as PgBouncer's `SHOW POOLS` lists it. */
export interface PoolState {
  database: string;
  user: string;
  clientsActive: number;
  clientsWaiting: number;
  /** Server connections open (active, idle, used, tested or logging in). */
  servers: number;
  /** Longest a client has waited for a server connection, in seconds. */
  maxWaitSeconds: number;
}

/**
 * A PgBouncer in transaction-pooling mode in front of one PostgreSQL server,
 * started from a generated ini on a free loopback port: every database of the
 * server is reachable under its own name, with the server's own credentials
 * (SCRAM on both sides; the auth file holds the password so PgBouncer can
 * answer the server's SCRAM challenge itself).
 */
export class PgBouncer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly port: number,
    private readonly server: URL,
    private readonly output: string[],
    private readonly exited: Promise<unknown>,
  ) {}

  static available(): boolean {
    return existsSync(PGBOUNCER_BINARY);
  }

  static async start(options: PgBouncerOptions): Promise<PgBouncer> {
    const server = new URL(options.serverUrl);
    const user = decodeURIComponent(server.username);
    const password = decodeURIComponent(server.password);
    const port = await freePort();
    mkdirSync(options.dir, { recursive: true });
    const ini = join(options.dir, 'pgbouncer.ini');
    const authFile = join(options.dir, 'userlist.txt');
    const quoted = (value: string) => `"${value.replace(/"/g, '""')}"`;
    writeFileSync(authFile, `${quoted(user)} ${quoted(password)}\n`, { mode: 0o644 });
    writeFileSync(
      ini,
      [
        '[databases]',
        // Any database name maps to the same name on the server.
        `* = host=${server.hostname} port=${server.port || 5432}`,
        '',
        '[pgbouncer]',
        'listen_addr = 127.0.0.1',
        `listen_port = ${port}`,
        // TCP only: no socket file outside the scratch folder.
        "unix_socket_dir = ''",
        'pool_mode = transaction',
        `default_pool_size = ${options.poolSize}`,
        'min_pool_size = 0',
        'reserve_pool_size = 0',
        `max_client_conn = ${options.maxClientConnections}`,
        `auth_type = ${password ? 'scram-sha-256' : 'trust'}`,
        `auth_file = ${authFile}`,
        `admin_users = ${user}`,
        `stats_users = ${user}`,
        // The app sends its statement timeout as a startup parameter
        // (DATABASE_STATEMENT_TIMEOUT_MS); PgBouncer 1.18 refuses every
        // parameter it does not track, so it drops this one and the timeout is
        // set on the database or role instead (docs/deployment.md, PgBouncer).
        'ignore_startup_parameters = statement_timeout',
        'log_connections = 0',
        'log_disconnections = 0',
        '',
      ].join('\n'),
      { mode: 0o644 },
    );
    const asRoot = process.getuid?.() === 0;
    const args = asRoot ? ['-u', UNPRIVILEGED_USER, ini] : [ini];
    const child = spawn(PGBOUNCER_BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    // Not daemonised, PgBouncer logs to stderr: no log file the dropped-privilege user must write.
    const output: string[] = [];
    child.stderr.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 200) output.shift();
    });
    let done = false;
    const exited = new Promise((resolve) => child.on('exit', resolve)).then(() => (done = true));
    const bouncer = new PgBouncer(child, port, server, output, exited);
    const started = performance.now();
    for (;;) {
      if (done) throw new Error(`pgbouncer exited at start: ${output.join('')}`);
      try {
        await bouncer.pools();
        return bouncer;
      } catch (error) {
        if (performance.now() - started > 10_000) {
          child.kill('SIGKILL');
          throw new Error(
            `pgbouncer did not accept connections in 10 s: ${String(error)} ${output.join('')}`,
          );
        }
        await sleep(50);
      }
    }
  }

  /** `url` (a database URL on the server) with PgBouncer's host and port instead. */
  urlFor(url: string): string {
    const through = new URL(url);
    through.hostname = '127.0.0.1';
    through.port = String(this.port);
    return through.toString();
  }

  /** `SHOW POOLS` on the admin console (simple protocol only, as the console requires). */
  async pools(): Promise<PoolState[]> {
    const admin = new URL(this.server.toString());
    admin.hostname = '127.0.0.1';
    admin.port = String(this.port);
    admin.pathname = '/pgbouncer';
    const client = new Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      const result = await client.query<Record<string, string>>('SHOW POOLS');
      return result.rows.map((row) => ({
        database: row.database,
        user: row.user,
        clientsActive: Number(row.cl_active),
        clientsWaiting: Number(row.cl_waiting),
        servers:
          Number(row.sv_active) +
          Number(row.sv_idle) +
          Number(row.sv_used) +
          Number(row.sv_tested) +
          Number(row.sv_login),
        maxWaitSeconds: Number(row.maxwait) + Number(row.maxwait_us) / 1e6,
      }));
    } finally {
      await client.end();
    }
  }

  /** PgBouncer's recent log lines (refused logins, unsupported startup parameters…). */
  text(): string {
    return this.output.join('');
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}
