import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PROJECT_ROOT } from '../../src/common/paths';
import { freePort } from '../../src/database/embedded-postgres';

/**
 * The image's `NODE_OPTIONS` (docker/Dockerfile; a unit test keeps the two
 * equal): the server runs with the heap budget it has in production.
 */
export const IMAGE_NODE_OPTIONS = '--max-old-space-size=256';

/** Secrets for a production-mode process; one set per bench run so several replicas agree. */
export const BENCH_SECRETS = {
  JWT_SECRET: randomBytes(48).toString('base64url'),
  DATA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
  STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64url')}`,
};

export interface AppProcessOptions {
  databaseUrl: string;
  /** DATA_DIR of the process (attachments, outbox files). */
  dataDir: string;
  /** Extra or overriding environment, e.g. `DATABASE_POOL_MAX`. */
  env?: Record<string, string>;
}

/**
 * `node dist/src/main.js` in production mode against a given database, as the
 * image runs it (its NODE_OPTIONS included): simulated payments, rate limits off (the load generator is one
 * IP), warn-level logs. `dist/` must be built (`npm run bench` builds it).
 */
export class AppProcess {
  readonly url: string;
  readonly readyMs: number;
  private readonly output: string[];

  private constructor(
    private readonly child: ChildProcess,
    url: string,
    readyMs: number,
    output: string[],
    private readonly exited: Promise<unknown>,
  ) {
    this.url = url;
    this.readyMs = readyMs;
    this.output = output;
  }

  static async start(options: AppProcessOptions): Promise<AppProcess> {
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      NODE_ENV: 'production',
      NODE_OPTIONS: IMAGE_NODE_OPTIONS,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: options.dataDir,
      DATABASE_URL: options.databaseUrl,
      LOG_LEVEL: 'warn',
      BILLING_GATEWAY: 'simulated',
      RATE_LIMIT_IP_PER_MINUTE: '0',
      RATE_LIMIT_USER_PER_MINUTE: '0',
      RATE_LIMIT_TENANT_PER_MINUTE: '0',
      ...BENCH_SECRETS,
      ...options.env,
    };
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [...profileFlags(), join(PROJECT_ROOT, 'dist/src/main.js')],
      {
        cwd: PROJECT_ROOT,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const output: string[] = [];
    const keep = (chunk: Buffer) => {
      output.push(chunk.toString());
      if (output.length > 200) output.shift();
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let done = false;
    const exited = new Promise((resolve) => child.on('exit', resolve)).then(() => (done = true));
    const url = `http://127.0.0.1:${port}`;
    for (;;) {
      if (done) throw new Error(`server exited before it was ready:\n${output.join('')}`);
      try {
        if ((await fetch(`${url}/health/ready`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 180_000) {
        child.kill('SIGKILL');
        throw new Error(`server did not become ready in 180 s:\n${output.join('')}`);
      }
      await sleep(20);
    }
    return new AppProcess(child, url, performance.now() - started, output, exited);
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resident set size of the server process, from /proc (Linux). */
  rssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return kib ? Number(kib[1]) * 1024 : Number.NaN;
  }

  /** Peak resident set size so far (VmHWM). */
  peakRssBytes(): number {
    const status = readFileSync(`/proc/${this.pid}/status`, 'utf8');
    const kib = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return kib ? Number(kib[1]) * 1024 : Number.NaN;
  }

  text(): string {
    return this.output.join('');
  }

  async stop(): Promise<void> {
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  /** SIGKILL, as a crashed node or an OOM kill ends a replica: no shutdown hooks, no goodbyes. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    await this.exited;
  }
}

/** BENCH_CPU_PROF_DIR=<dir>: every app process writes a V8 CPU profile there when it exits. */
function profileFlags(): string[] {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}
