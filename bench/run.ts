/**
 * `npm run bench`: platform-foundation benchmarks, each beside a baseline run on
 * the same machine in the same run, because absolute times on a shared machine
 * drift. Not part of `npm test`.
 *
 *   --tenants <n>       schemas to provision and migrate (default 200)
 *   --concurrency <n>   schemas migrated at once (default 4)
 *   --skip-startup      skip the server start-up scenario
 */
import 'reflect-metadata';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { MikroORM } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';
import { EntityManager } from '@mikro-orm/postgresql';
import { NestFactory } from '@nestjs/core';
import { Client } from 'pg';
import { tenantMigrations } from '../migrations/tenant';
import { AppModule } from '../src/app.module';
import { PROJECT_ROOT } from '../src/common/paths';
import { loadConfig } from '../src/config/app-config';
import { ensureDatabase, withDatabaseUrl } from '../src/database/database-server';
import { freePort, startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { PlatformMigrator } from '../src/database/platform-migrator';
import { TenantSchemaMigrator } from '../src/database/tenant-schema-migrator';
import { TenantMigrationService } from '../src/tenancy/tenant-migration.service';
import { TenantProvisioningService } from '../src/tenancy/tenant-provisioning.service';

const NEW_TABLE = [
  'create table bench_ticket (id uuid primary key, subject text not null, created_at timestamptz not null default now())',
  'create index bench_ticket_created_at_idx on bench_ticket (created_at)',
];
class BenchMigration extends Migration {
  override up(): void {
    for (const sql of NEW_TABLE) this.addSql(sql);
  }
}

interface Row {
  scenario: string;
  ours: string;
  baseline: string;
  ratio: string;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      tenants: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '4' },
      'skip-startup': { type: 'boolean' },
    },
  });
  const tenants = Number(values.tenants);
  const concurrency = Number(values.concurrency);
  const rows: Row[] = [];
  const figures: Record<string, number> = {};
  const scratch = mkdtempSync(join(tmpdir(), 'groundwork-bench-'));

  try {
    if (!values['skip-startup']) await startup(scratch, rows, figures);
    await tenancy(scratch, tenants, concurrency, rows, figures);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  process.stdout.write(`\nGroundwork benchmarks — ${machine}\n\n`);
  const width = (k: keyof Row) => Math.max(k.length, ...rows.map((r) => r[k].length));
  const line = (r: Row) =>
    (['scenario', 'ours', 'baseline', 'ratio'] as const)
      .map((k) => r[k].padEnd(width(k)))
      .join('  ');
  process.stdout.write(
    `${line({ scenario: 'scenario', ours: 'ours', baseline: 'baseline', ratio: 'ratio' })}\n`,
  );
  for (const row of rows) process.stdout.write(`${line(row)}\n`);

  const dir = join(PROJECT_ROOT, 'bench/results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ at: new Date().toISOString(), machine, tenants, concurrency, figures, rows }, null, 2)}\n`,
  );
  process.stdout.write(`\nWritten to ${file}\n`);
}

/** Start-up to ready, cold (fresh data dir: initdb + migrations) and warm; baseline: PostgreSQL alone. */
async function startup(
  scratch: string,
  rows: Row[],
  figures: Record<string, number>,
): Promise<void> {
  const dataDir = join(scratch, 'startup');
  const cold = await timeServerStart(dataDir);
  const warm = await timeServerStart(dataDir);
  const pgDir = join(scratch, 'startup-pg');
  const pgCold = await timePostgresStart(pgDir);
  const pgWarm = await timePostgresStart(pgDir);
  Object.assign(figures, {
    startupColdMs: cold,
    startupWarmMs: warm,
    postgresColdMs: pgCold,
    postgresWarmMs: pgWarm,
  });
  rows.push(
    {
      scenario: 'server start → /health/ready, cold',
      ours: ms(cold),
      baseline: `${ms(pgCold)} (PostgreSQL alone)`,
      ratio: ratio(cold, pgCold),
    },
    {
      scenario: 'server start → /health/ready, warm',
      ours: ms(warm),
      baseline: `${ms(pgWarm)} (PostgreSQL alone)`,
      ratio: ratio(warm, pgWarm),
    },
  );
}

async function timeServerStart(dataDir: string): Promise<number> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(process.execPath, [join(PROJECT_ROOT, 'dist/src/main.js')], {
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      PORT: String(port),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let done = false;
  const exited = new Promise((resolve) => child.on('exit', resolve)).then(() => (done = true));
  try {
    for (;;) {
      if (done) throw new Error(`server exited before it was ready:\n${stderr}`);
      try {
        if ((await fetch(`http://127.0.0.1:${port}/health/ready`)).status === 200) break;
      } catch {
        // not listening yet
      }
      if (performance.now() - started > 120_000)
        throw new Error('server did not become ready in 120 s');
      await sleep(20);
    }
    return performance.now() - started;
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

async function timePostgresStart(dataDir: string): Promise<number> {
  const started = performance.now();
  const pg = await startEmbeddedPostgres({ dataDir, persistent: true });
  const elapsed = performance.now() - started;
  await pg.stop();
  return elapsed;
}

/** Provisioning and migrating N tenant schemas; baseline: the same DDL through one plain pg client. */
async function tenancy(
  scratch: string,
  n: number,
  concurrency: number,
  rows: Row[],
  figures: Record<string, number>,
): Promise<void> {
  const server = process.env.DATABASE_URL
    ? { url: process.env.DATABASE_URL, stop: () => Promise.resolve() }
    : await startEmbeddedPostgres({ dataDir: join(scratch, 'pg'), persistent: false });
  const database = `groundwork_bench_${process.pid}`;
  const url = new URL(server.url);
  url.pathname = `/${database}`;
  await ensureDatabase(server.url, database);
  const config = withDatabaseUrl(
    loadConfig({
      NODE_ENV: 'production',
      LOG_LEVEL: 'warn',
      JWT_SECRET: 'x'.repeat(32),
      DATA_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString('base64')}`,
      DATA_DIR: scratch,
      DATABASE_URL: url.toString(),
      DATABASE_POOL_MAX: String(Math.max(concurrency + 2, 10)),
    }),
    url.toString(),
  );
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), {
    logger: ['error', 'warn'],
  });
  try {
    await app.get(PlatformMigrator).up();
    const provisioning = app.get(TenantProvisioningService);
    let started = performance.now();
    for (let i = 0; i < n; i++)
      await provisioning.provision({ slug: `bench-${i}`, name: `Bench ${i}` });
    const provisionMs = performance.now() - started;

    const orm = app.get(MikroORM);
    const migrator = new TenantSchemaMigrator(orm.em as EntityManager, [
      ...tenantMigrations,
      { name: 'Migration29990101000000_bench_ticket', class: BenchMigration },
    ]);
    const service = new TenantMigrationService(orm.em as EntityManager, migrator);
    started = performance.now();
    const report = await service.migrate({ concurrency });
    const migrateMs = performance.now() - started;
    if (report.migrated !== n || report.failed.length)
      throw new Error(`migration run incomplete: ${JSON.stringify(report)}`);

    // Baseline: the same work with nothing of ours — one connection, one transaction per schema.
    const baseline = await rawBaseline(server.url, n);
    Object.assign(figures, {
      tenants: n,
      provisionMs,
      provisionPerSecond: (n / provisionMs) * 1000,
      migrateMs,
      migratePerSecond: (n / migrateMs) * 1000,
      baselineCreateMs: baseline.createMs,
      baselineMigrateMs: baseline.migrateMs,
    });
    rows.push(
      {
        scenario: `provision ${n} tenants (row + schema + migrations)`,
        ours: `${ms(provisionMs)} (${rate(n, provisionMs)})`,
        baseline: `${ms(baseline.createMs)} (${rate(n, baseline.createMs)}, raw SQL)`,
        ratio: ratio(provisionMs, baseline.createMs),
      },
      {
        scenario: `migrate ${n} tenant schemas, concurrency ${concurrency}`,
        ours: `${ms(migrateMs)} (${rate(n, migrateMs)})`,
        baseline: `${ms(baseline.migrateMs)} (${rate(n, baseline.migrateMs)}, raw SQL, serial)`,
        ratio: ratio(migrateMs, baseline.migrateMs),
      },
    );
  } finally {
    await app.close();
    const admin = new Client({ connectionString: server.url });
    await admin.connect();
    await admin.query(`drop database if exists "${database}" with (force)`);
    await admin.end();
    await server.stop();
  }
}

async function rawBaseline(
  adminUrl: string,
  n: number,
): Promise<{ createMs: number; migrateMs: number }> {
  const database = `groundwork_bench_raw_${process.pid}`;
  await ensureDatabase(adminUrl, database);
  const url = new URL(adminUrl);
  url.pathname = `/${database}`;
  const client = new Client({ connectionString: url.toString() });
  await client.connect();
  try {
    const auditDdl =
      'create table audit_event (id uuid primary key, action text not null, data jsonb not null, at timestamptz not null)';
    let started = performance.now();
    for (let i = 0; i < n; i++) {
      await client.query('begin');
      await client.query(`create schema raw_${i}`);
      await client.query(`set local search_path to raw_${i}`);
      await client.query(auditDdl);
      await client.query('commit');
    }
    const createMs = performance.now() - started;
    started = performance.now();
    for (let i = 0; i < n; i++) {
      await client.query('begin');
      await client.query(`set local search_path to raw_${i}`);
      for (const sql of NEW_TABLE) await client.query(sql);
      await client.query('commit');
    }
    return { createMs, migrateMs: performance.now() - started };
  } finally {
    await client.end();
    const admin = new Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`drop database if exists "${database}" with (force)`);
    await admin.end();
  }
}

const ms = (v: number) => (v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);
const rate = (n: number, v: number) => `${((n / v) * 1000).toFixed(0)}/s`;
const ratio = (ours: number, base: number) => `${(ours / base).toFixed(2)}×`;

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
