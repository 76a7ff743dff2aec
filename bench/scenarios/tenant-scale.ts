import { join } from 'node:path';
import { Migration } from '@mikro-orm/migrations';
import { Client } from 'pg';
import { AppProcess } from '../lib/app-process';
import { assertClean, drive, quantile, type Endpoint, type LoadResult } from '../lib/load';
import {
  backendMemory,
  ownMemory,
  type BackendMemory,
  type OwnMemory,
} from '../lib/postgres-memory';
import { mib, ms, perSecond, rate, ratio, type Report } from '../lib/report';
import type { BenchContext, Scenario } from '../lib/scenario';
import { TenantFleet, type SignedInOwner } from '../lib/tenant-fleet';

const GROUP = 'tenant scale';
/** The small fleet the read latency at scale is compared with. */
const SMALL_FLEET = 10;
/** Fixed request rate of the read phases: a steady load, well below saturation. */
const READ_RATE = 200;
const PROVISION_TARGET_PER_SECOND = 10;
const MIGRATION_TARGET_MS = 5 * 60_000;
const P99_RATIO_TARGET = 1.2;

/** The "new tenant migration" applied to every schema: a table and an index, as a feature adds. */
const NEW_TABLE = [
  'create table bench_ticket (id uuid primary key, subject text not null, created_at timestamptz not null default now())',
  'create index bench_ticket_created_at_idx on bench_ticket (created_at)',
];
const NEW_MIGRATION_NAME = 'Migration29990101000000_bench_ticket';
class BenchMigration extends Migration {
  override up(): void {
    for (const sql of NEW_TABLE) this.addSql(sql);
  }
}

interface ReadPhase {
  tenants: number;
  result: LoadResult;
  appRssBytes: number;
  appPeakRssBytes: number;
  /** Undefined when PostgreSQL runs on another machine. */
  backends?: BackendMemory;
}

/**
 * Schema-per-tenant at scale, through the app's own services and over HTTP:
 *
 * 1. Provisioning rate (TenantProvisioningService, one tenant after another:
 *    row, schema and every tenant migration in one transaction). Baseline:
 *    the same rows and DDL through one plain `pg` client.
 * 2. One new tenant migration over every schema (TenantMigrationService,
 *    the default MIGRATION_CONCURRENCY). Baseline: the same SQL, serial.
 * 3. Tenant-scoped reads (list tickets, each request as another tenant's
 *    owner, round-robin over every tenant) at a fixed rate with 10 tenants,
 *    then with `--schemas` tenants, each on a freshly started production
 *    process. Each pooled connection ends up touching many schemas, so
 *    PostgreSQL's per-backend catalog and relation caches grow with the fleet:
 *    the p99 ratio is the target, app RSS and backend memory are recorded.
 * 4. The cause, measured on one plain connection: its catalog cache after
 *    the list-tickets query on 10 and on N schemas, and that query's time on
 *    a schema's first touch against cached.
 *
 * The 10-tenant phase runs before the rest are provisioned, in the same
 * database, so both phases see one server and one configuration.
 */
export const tenantScale: Scenario = {
  name: 'tenant-scale',
  description: 'provisioning rate, one migration over N schemas, reads with 10 vs N tenants',
  async run(context) {
    const { options, postgres, scratch, report } = context;
    if (options.schemas <= SMALL_FLEET) {
      report.skip('tenant-scale', `--schemas must exceed ${SMALL_FLEET} to compare with it`);
      return;
    }
    const started = performance.now();
    const url = await postgres.create('tenant_scale');
    const fleet = await TenantFleet.open(url, join(scratch, 'tenant-scale-fleet'));
    try {
      let provisionMs = await fleet.provision(SMALL_FLEET);
      const small = await readPhase(context, url, fleet);
      provisionMs += await fleet.provision(options.schemas - SMALL_FLEET);
      const large = await readPhase(context, url, fleet);
      const catalog = await catalogCacheProbe(
        url,
        fleet.tenants.map((t) => t.schemaName),
      );
      const migration = await fleet.migrate({ name: NEW_MIGRATION_NAME, class: BenchMigration });
      const { outcome } = migration;
      if (outcome.migrated !== options.schemas || outcome.failed.length > 0) {
        throw new Error(`tenant migration run incomplete: ${JSON.stringify(outcome)}`);
      }
      const baseline = await plainSqlBaseline(context, await fleet.migrationStatements());
      const wallMs = performance.now() - started;

      report.figure('tenantScale', {
        schemas: options.schemas,
        provisionMs,
        provisionPerSecond: perSecond(options.schemas, provisionMs),
        migrationConcurrency: fleet.migrationConcurrency,
        migrateMs: migration.elapsedMs,
        baseline,
        reads: { rate: READ_RATE, durationSeconds: options.duration, small, large },
        catalog,
        wallMs,
      });
      reportRows(report, {
        schemas: options.schemas,
        provisionMs,
        migrateMs: migration.elapsedMs,
        concurrency: fleet.migrationConcurrency,
        baseline,
        small,
        large,
        catalog,
        wallMs,
      });
    } finally {
      await fleet.close();
      await postgres.drop('tenant_scale');
    }
  },
};

/**
 * One read phase on a freshly started production process: a warm-up at the
 * phase's rate, at least one pass over every tenant (the pool opens, each
 * tenant's session, membership and plan are looked up once, as in a process
 * that has been serving a while), then the measured run, spread round-robin
 * over every tenant provisioned so far. The measured run starts again from the
 * first tenant, so with 5,000 tenants each of the pool's connections still
 * meets schemas it has never read: the catalog cost is in the figure.
 */
async function readPhase(
  { options, postgres, scratch }: BenchContext,
  databaseUrl: string,
  fleet: TenantFleet,
): Promise<ReadPhase> {
  const owners = await fleet.signIn(fleet.tenants);
  const app = await AppProcess.start({
    databaseUrl,
    dataDir: join(scratch, 'tenant-scale-app'),
  });
  try {
    const load = {
      url: app.url,
      connections: options.connections,
      durationSeconds: options.duration,
      rate: READ_RATE,
    };
    const warmUpSeconds = Math.max(options.duration, Math.ceil(owners.length / READ_RATE));
    assertClean(
      await drive(listTicketsAcross(owners), { ...load, durationSeconds: warmUpSeconds }),
    );
    const result = await drive(listTicketsAcross(owners), load);
    assertClean(result);
    return {
      tenants: owners.length,
      result,
      appRssBytes: app.rssBytes(),
      appPeakRssBytes: app.peakRssBytes(),
      backends: await backendMemory(postgres.adminUrl, app.pid),
    };
  } finally {
    await app.stop();
  }
}

/** GET /v1/support/tickets, each request signed in as the next tenant's owner. */
function listTicketsAcross(owners: readonly SignedInOwner[]): Endpoint {
  let next = 0;
  return {
    name: `list tickets across ${owners.length} tenants`,
    requests: [
      {
        method: 'GET',
        path: '/v1/support/tickets',
        setupRequest: (request) => {
          const owner = owners[next++ % owners.length];
          request.headers = {
            ...request.headers,
            authorization: owner.authorization,
            'x-tenant-id': owner.tenantId,
          };
          return request;
        },
      },
    ],
  };
}

interface CatalogProbe {
  /** Schemas the connection had queried when measured. */
  schemas: number;
  memory: OwnMemory;
}

interface CatalogFigures {
  /** The backend's memory before its first tenant query. */
  fresh: OwnMemory;
  small: CatalogProbe;
  large: CatalogProbe;
  /** Per-query ms of the first query on each schema, and of the same again (cached). */
  firstTouchP99: number;
  cachedP99: number;
}

/**
 * The known risk, measured directly on one fresh connection: the list-tickets
 * query shape on every tenant schema (the planner opens the table and each of
 * its indexes, and PostgreSQL caches their catalog rows in this backend for
 * as long as the connection lives). Records the backend's cache after 10 and
 * after N schemas, and the query time on a schema's first touch against a
 * second pass once everything is cached. A pool of P connections that all
 * serve every tenant holds about P times the large figure, until recycled
 * (DATABASE_CONNECTION_MAX_LIFETIME_MS).
 */
async function catalogCacheProbe(
  databaseUrl: string,
  schemaNames: readonly string[],
): Promise<CatalogFigures> {
  const client = new Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const timed = async (schemaName: string) => {
      const started = performance.now();
      await client.query(`select * from ${schemaName}.ticket order by id desc limit 26`);
      return performance.now() - started;
    };
    const fresh = await ownMemory(client);
    const firstTouch: number[] = [];
    let small: CatalogProbe | undefined;
    for (const [i, schemaName] of schemaNames.entries()) {
      firstTouch.push(await timed(schemaName));
      if (i + 1 === SMALL_FLEET) small = { schemas: SMALL_FLEET, memory: await ownMemory(client) };
    }
    const large = { schemas: schemaNames.length, memory: await ownMemory(client) };
    const cached: number[] = [];
    for (const schemaName of schemaNames) cached.push(await timed(schemaName));
    const sorted = (values: number[]) => values.sort((a, b) => a - b);
    return {
      fresh,
      small: small!,
      large,
      firstTouchP99: quantile(sorted(firstTouch), 0.99),
      cachedP99: quantile(sorted(cached), 0.99),
    };
  } finally {
    await client.end();
  }
}

interface PlainSqlFigures {
  /** Schemas the baseline created and migrated: a sample, since its figure is a rate. */
  schemas: number;
  provisionMs: number;
  migrateMs: number;
}

/**
 * The plain-SQL baseline's sample size. Its cost per schema does not grow with
 * the count the way the app's reads might, and provisioning 5,000 schemas twice
 * would double the scenario's wall time for the same rate.
 */
const BASELINE_SAMPLE = 500;

/**
 * What provisioning and migrating cost with nothing of ours: one `pg` client
 * on a database of its own, per tenant one transaction inserting a tenant row,
 * creating the schema and running every tenant migration's SQL with its
 * record; then the new migration, schema after schema.
 */
async function plainSqlBaseline(
  { options, postgres }: BenchContext,
  migrations: { name: string; statements: string[] }[],
): Promise<PlainSqlFigures> {
  const client = new Client({ connectionString: await postgres.create('tenant_scale_sql') });
  await client.connect();
  const schemas = Math.min(options.schemas, BASELINE_SAMPLE);
  try {
    await client.query(
      'create table tenant (id int primary key, slug text not null unique, schema_name text not null, schema_version text)',
    );
    const record = (schema: string) =>
      `create table ${schema}.schema_migration (name text primary key, applied_at timestamptz not null default now())`;
    let started = performance.now();
    for (let i = 0; i < schemas; i++) {
      const schema = `tenant_${i}`;
      await client.query('begin');
      await client.query('insert into tenant (id, slug, schema_name) values ($1, $2, $3)', [
        i,
        `bench-${i}`,
        schema,
      ]);
      await client.query(`create schema ${schema}`);
      await client.query(`set local search_path to ${schema}, public`);
      await client.query(record(schema));
      for (const migration of migrations) {
        for (const sql of migration.statements) await client.query(sql);
        await client.query(`insert into ${schema}.schema_migration (name) values ($1)`, [
          migration.name,
        ]);
      }
      await client.query('update tenant set schema_version = $2 where id = $1', [
        i,
        migrations.at(-1)?.name,
      ]);
      await client.query('commit');
    }
    const provisionMs = performance.now() - started;
    started = performance.now();
    for (let i = 0; i < schemas; i++) {
      const schema = `tenant_${i}`;
      await client.query('begin');
      await client.query(`set local search_path to ${schema}, public`);
      for (const sql of NEW_TABLE) await client.query(sql);
      await client.query(`insert into ${schema}.schema_migration (name) values ($1)`, [
        NEW_MIGRATION_NAME,
      ]);
      await client.query('update tenant set schema_version = $2 where id = $1', [
        i,
        NEW_MIGRATION_NAME,
      ]);
      await client.query('commit');
    }
    return { schemas, provisionMs, migrateMs: performance.now() - started };
  } finally {
    await client.end();
    await postgres.drop('tenant_scale_sql');
  }
}

function reportRows(
  report: Report,
  f: {
    schemas: number;
    provisionMs: number;
    migrateMs: number;
    concurrency: number;
    baseline: PlainSqlFigures;
    small: ReadPhase;
    large: ReadPhase;
    catalog: CatalogFigures;
    wallMs: number;
  },
): void {
  const n = f.schemas;
  const provisionRate = perSecond(n, f.provisionMs);
  report.add({
    group: GROUP,
    scenario: `provision ${n} tenants, one at a time (row + schema + migrations)`,
    ours: `${ms(f.provisionMs)} (${rate(n, f.provisionMs)})`,
    baseline: `${rate(f.baseline.schemas, f.baseline.provisionMs)} (plain SQL, ${f.baseline.schemas} schemas)`,
    ratio: ratio(f.provisionMs / n, f.baseline.provisionMs / f.baseline.schemas),
    target: `≥ ${PROVISION_TARGET_PER_SECOND}/s`,
    met: provisionRate >= PROVISION_TARGET_PER_SECOND,
  });
  report.add({
    group: GROUP,
    scenario: `one new migration over ${n} schemas, concurrency ${f.concurrency}`,
    ours: `${ms(f.migrateMs)} (${rate(n, f.migrateMs)})`,
    baseline: `${rate(f.baseline.schemas, f.baseline.migrateMs)} (plain SQL, serial, ${f.baseline.schemas} schemas)`,
    ratio: ratio(f.migrateMs / n, f.baseline.migrateMs / f.baseline.schemas),
    target: `< ${ms(MIGRATION_TARGET_MS)}`,
    met: f.migrateMs < MIGRATION_TARGET_MS,
  });
  // The rate reached is shown: below READ_RATE the server was saturated and the figures are queueing.
  const latency = (p: ReadPhase) =>
    `p50 ${ms(p.result.p50)} / p95 ${ms(p.result.p95)} / p99 ${ms(p.result.p99)} at ${p.result.rps.toFixed(0)} req/s`;
  const p99Ratio = f.large.result.p99 / f.small.result.p99;
  report.add({
    group: GROUP,
    scenario: `list tickets at ${READ_RATE} req/s, round-robin over ${n} vs ${f.small.tenants} tenants`,
    ours: latency(f.large),
    baseline: `${latency(f.small)} (${f.small.tenants} tenants)`,
    ratio: ratio(f.large.result.p99, f.small.result.p99),
    target: `p99 ≤ ${P99_RATIO_TARGET}× of ${f.small.tenants} tenants'`,
    met: p99Ratio <= P99_RATIO_TARGET,
  });
  report.add({
    group: GROUP,
    scenario: `app RSS after the reads, ${n} vs ${f.small.tenants} tenants`,
    ours: `${mib(f.large.appRssBytes)} (peak ${mib(f.large.appPeakRssBytes)})`,
    baseline: `${mib(f.small.appRssBytes)} (peak ${mib(f.small.appPeakRssBytes)})`,
    ratio: ratio(f.large.appRssBytes, f.small.appRssBytes),
  });
  const backends = (p: ReadPhase) =>
    p.backends
      ? `${mib(p.backends.privateBytes)} in ${p.backends.backends} backends (largest ${mib(p.backends.maxBytes)})`
      : 'not measurable (server not on this machine)';
  report.add({
    group: GROUP,
    scenario: `PostgreSQL backends' private memory after the reads, ${n} vs ${f.small.tenants} tenants`,
    ours: backends(f.large),
    baseline: backends(f.small),
    ratio:
      f.large.backends && f.small.backends
        ? ratio(f.large.backends.privateBytes, f.small.backends.privateBytes)
        : undefined,
  });
  const { catalog } = f;
  const grown = (probe: CatalogProbe) => probe.memory.cacheBytes - catalog.fresh.cacheBytes;
  const kib = (bytes: number) => `${(bytes / 1024).toFixed(0)} KiB`;
  report.add({
    group: GROUP,
    scenario: `one backend's catalog cache after list tickets on ${n} vs ${SMALL_FLEET} schemas`,
    ours: `${mib(catalog.large.memory.cacheBytes)} (${kib(grown(catalog.large) / n)} per schema)`,
    baseline: `${mib(catalog.small.memory.cacheBytes)} (${SMALL_FLEET} schemas)`,
    ratio: ratio(catalog.large.memory.cacheBytes, catalog.small.memory.cacheBytes),
  });
  report.add({
    group: GROUP,
    scenario: `list tickets SQL on one connection: first touch of each of ${n} schemas vs cached`,
    ours: `p99 ${ms(catalog.firstTouchP99)}`,
    baseline: `p99 ${ms(catalog.cachedP99)} (cached)`,
    ratio: ratio(catalog.firstTouchP99, catalog.cachedP99),
  });
  report.add({ group: GROUP, scenario: 'tenant-scale wall time', ours: ms(f.wallMs) });
}
