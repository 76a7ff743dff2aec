import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type autocannon from 'autocannon';
import { Client } from 'pg';
import { loadConfig } from '../../src/config/app-config';
import { tenantSchemaName } from '../../src/database/schema-names';
import { AppProcess, BENCH_SECRETS } from '../lib/app-process';
import { drive, type Endpoint, type LoadResult } from '../lib/load';
import { PgBouncer } from '../lib/pgbouncer';
import {
  describeRenewals,
  endPeriodsAt,
  renewalCounts,
  subscribeAll,
  waitForRenewals,
} from '../lib/renewals';
import { ms, ratio } from '../lib/report';
import type { Scenario } from '../lib/scenario';
import { type SignedInOwner, TenantFleet } from '../lib/tenant-fleet';

const GROUP = 'pgbouncer';
/** Server connections PgBouncer opens per database: what every app connection shares. */
const POOL_SIZE = 10;
/** App connections (ORM pool) per process: four times the pooler's, so they must multiplex. */
const APP_POOL_MAX = 40;
/** Tenants provisioned (capped: sign-up cost, not the pooler, would dominate a bigger run). */
const MAX_TENANTS = 200;
/** Tenants whose subscription comes due during the run, for the scheduled billing job to renew. */
const MAX_RENEWALS = 20;
/** The billing cron fires every minute (pg-boss looks every 30 s): a renewal shows within this. */
const RENEWAL_WAIT_MS = 150_000;

/**
 * The production app behind PgBouncer 1.18 in transaction-pooling mode, beside
 * the same app straight on PostgreSQL:
 * - platform migrations, tenant provisioning (schema + tenant migrations),
 *   purchases and the load all go through PgBouncer;
 * - tenant-scoped traffic across every tenant at a fixed rate (sign-in,
 *   ticket lists, ticket creation), with the server connections counted;
 * - each created ticket names its tenant, and every tenant schema is counted
 *   on the server afterwards: no row in another tenant's schema;
 * - pg-boss through the pooler: due subscriptions renewed by the scheduled
 *   billing run, exactly once each.
 */
export const pgbouncer: Scenario = {
  name: 'pgbouncer',
  description: 'the app behind PgBouncer in transaction-pooling mode at scale',
  async run({ options, postgres, scratch, report }) {
    if (!PgBouncer.available()) {
      report.skip('pgbouncer', 'install the Debian package pgbouncer');
      return;
    }
    const tenantCount = Math.min(options.tenants, MAX_TENANTS);
    const renewing = Math.min(tenantCount, MAX_RENEWALS);
    // One app process on a shared 2-core machine, a tenth of it argon2 sign-ins:
    // a fifth of the mixed-load rate keeps the figure about the pooler, not the CPU.
    const rate = Math.max(10, Math.round(options.rate / 5));
    const url = await postgres.create('pgbouncer');
    const database = postgres.databaseName('pgbouncer');
    const bouncer = await PgBouncer.start({
      serverUrl: postgres.adminUrl,
      dir: join(scratch, 'pgbouncer'),
      poolSize: POOL_SIZE,
      maxClientConnections: 1000,
    });
    const server = new Client({ connectionString: url });
    const dataDir = join(scratch, 'pgbouncer-app');
    try {
      await server.connect();
      // What the app sends per connection, held by the server for every session of
      // the database instead: PgBouncer drops the startup parameter (see PgBouncer.start).
      const { statementTimeoutMs } = loadConfig({
        NODE_ENV: 'production',
        DATABASE_URL: url,
        BILLING_GATEWAY: 'simulated',
        ...BENCH_SECRETS,
      }).database;
      await server.query(
        `alter database "${database}" set statement_timeout = ${statementTimeoutMs}`,
      );
      const pooledUrl = bouncer.urlFor(url);
      const fleet = await TenantFleet.open(pooledUrl, dataDir);
      let owners: SignedInOwner[];
      try {
        await fleet.provision(tenantCount);
        owners = await fleet.signIn(fleet.tenants);
      } finally {
        await fleet.close();
      }
      const emails = fleet.tenants.map((t) => `owner@${t.slug}.bench.example.com`);
      const env = { DATABASE_POOL_MAX: String(APP_POOL_MAX) };
      const load = { rate, durationSeconds: options.duration, connections: options.connections };

      // As docs/deployment.md says for a transaction pooler without Redis: LISTEN needs a
      // session, which PgBouncer does not keep, so the cache channel is off.
      const pooled = await AppProcess.start({
        databaseUrl: pooledUrl,
        dataDir,
        env: { ...env, CACHE_CHANNEL: 'none' },
      });
      let through: Measured;
      const due = owners.slice(0, renewing).map((o) => o.tenantId);
      try {
        await subscribeAll(pooled.url, owners.slice(0, renewing));
        await endPeriodsAt(server, due, new Date());
        through = await measure(pooled.url, owners, emails, load, async () => {
          const pool = (await bouncer.pools()).find((p) => p.database === database);
          return {
            server: await serverConnections(server, database),
            clients: (pool?.clientsActive ?? 0) + (pool?.clientsWaiting ?? 0),
          };
        });
        await waitForRenewals(server, due, RENEWAL_WAIT_MS);
      } finally {
        await pooled.stop();
      }
      const renewals = await renewalCounts(server, due);

      const direct = await AppProcess.start({ databaseUrl: url, dataDir, env });
      let baseline: Measured;
      try {
        baseline = await measure(direct.url, owners, emails, load, async () => {
          const n = await serverConnections(server, database);
          return { server: n, clients: n };
        });
      } finally {
        await direct.stop();
      }

      const placement = await ticketPlacement(server, owners);
      const acknowledged = created(through) + created(baseline);
      report.figure('pgbouncer', {
        tenants: tenantCount,
        rate,
        poolSize: POOL_SIZE,
        appPoolMax: APP_POOL_MAX,
        through,
        baseline,
        placement,
        renewals,
      });
      const errors = (m: Measured) => m.results.reduce((n, r) => n + r.errors + r.non2xx, 0);
      const line = (m: Measured) =>
        `${m.requests} requests (${(m.requests / options.duration).toFixed(0)}/s), ${errors(m)} errors, p99 ${ms(m.p99)}, ` +
        `${m.peakClientConnections} app connections over ${m.peakServerConnections} server connections (peak)`;
      report.add({
        group: GROUP,
        scenario: `${tenantCount} tenants at ${rate} req/s (sign-in, list, create), app pool ${APP_POOL_MAX}, PgBouncer pool ${POOL_SIZE}`,
        ours: line(through),
        baseline: `${line(baseline)} (direct)`,
        ratio: `p99 ${ratio(through.p99, baseline.p99)}`,
        target: `0 errors, ≤ ${POOL_SIZE} server connections`,
        met: errors(through) === 0 && through.peakServerConnections <= POOL_SIZE,
      });
      report.add({
        group: GROUP,
        scenario: 'created tickets in their own tenant schema (counted on the server)',
        ours:
          `${placement.rows} rows in ${placement.schemas} schemas for ${acknowledged} acknowledged, ` +
          `${placement.misplaced} misplaced, ${placement.queueMismatches} queue mismatches`,
        target: '0 misplaced, every acknowledged write found',
        // A request in flight when the load stopped may land unacknowledged: at most one per connection.
        met:
          placement.misplaced === 0 &&
          placement.queueMismatches === 0 &&
          placement.rows >= acknowledged &&
          placement.rows <= acknowledged + through.connections + baseline.connections,
      });
      report.add({
        group: GROUP,
        scenario: `scheduled billing run through PgBouncer: ${renewing} due renewals`,
        ours: describeRenewals(renewals),
        target: 'each exactly once',
        met: renewals.once === renewing,
      });
    } finally {
      await server.end();
      await bouncer.stop();
      await postgres.drop('pgbouncer');
    }
  },
};

interface Measured {
  results: LoadResult[];
  requests: number;
  /** Worst p99 of the three endpoints. */
  p99: number;
  connections: number;
  /** Backends on the server for the database, sampled every 100 ms (pg_stat_activity). */
  peakServerConnections: number;
  /** Connections the app held open to PgBouncer (SHOW POOLS), or to the server when direct. */
  peakClientConnections: number;
}

const created = (m: Measured): number =>
  m.results.find((r) => r.name === 'create ticket')?.statuses['201'] ?? 0;

/**
 * Sign-ins (a tenth of the rate, an eighth of the connections), ticket lists and
 * ticket creations (half the connections each), each request for the next tenant in turn, while the server connections are
 * sampled every 100 ms.
 */
async function measure(
  url: string,
  owners: readonly SignedInOwner[],
  emails: readonly string[],
  load: { rate: number; durationSeconds: number; connections: number },
  connectionsNow: () => Promise<{ server: number; clients: number }>,
): Promise<Measured> {
  const password = `bench ${BENCH_SECRETS.JWT_SECRET}`;
  const cycle = <T>(items: readonly T[]) => {
    let next = 0;
    return () => items[next++ % items.length];
  };
  const nextOwner = cycle(owners);
  const nextListOwner = cycle(owners);
  const nextEmail = cycle(emails);
  const json = { 'content-type': 'application/json' };
  const endpoints: { endpoint: Endpoint; share: number; connections: number }[] = [
    {
      share: 0.1,
      connections: Math.max(1, Math.round(load.connections / 8)),
      endpoint: {
        name: 'sign in',
        requests: [
          {
            method: 'POST',
            path: '/v1/auth/login',
            setupRequest: (request: autocannon.Request) => ({
              ...request,
              headers: json,
              body: JSON.stringify({ email: nextEmail(), password }),
            }),
          },
        ],
      },
    },
    {
      share: 0.45,
      connections: Math.max(1, Math.round(load.connections / 2)),
      endpoint: {
        name: 'list tickets',
        requests: [
          {
            method: 'GET',
            path: '/v1/support/tickets?limit=20',
            setupRequest: (request: autocannon.Request) => ({
              ...request,
              headers: { authorization: nextListOwner().authorization },
            }),
          },
        ],
      },
    },
    {
      share: 0.45,
      connections: Math.max(1, Math.round(load.connections / 2)),
      endpoint: {
        name: 'create ticket',
        requests: [
          {
            method: 'POST',
            path: '/v1/support/tickets',
            setupRequest: (request: autocannon.Request) => {
              const owner = nextOwner();
              return {
                ...request,
                headers: { ...json, authorization: owner.authorization },
                body: JSON.stringify({
                  subject: subjectFor(owner.tenantId),
                  description: 'Written through the bench; counted per schema afterwards.',
                }),
              };
            },
          },
        ],
      },
    },
  ];
  let peakServer = 0;
  let peakClients = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const now = await connectionsNow();
      peakServer = Math.max(peakServer, now.server);
      peakClients = Math.max(peakClients, now.clients);
      await sleep(100);
    }
  })();
  let results: LoadResult[];
  try {
    results = await Promise.all(
      endpoints.map(({ endpoint, share, connections }) =>
        drive(endpoint, {
          url,
          connections,
          durationSeconds: load.durationSeconds,
          rate: Math.max(1, load.rate * share),
        }),
      ),
    );
  } finally {
    sampling = false;
    await sampler;
  }
  return {
    results,
    requests: results.reduce((n, r) => n + r.requests, 0),
    p99: Math.max(...results.map((r) => r.p99)),
    connections: endpoints.reduce((n, e) => n + e.connections, 0),
    peakServerConnections: peakServer,
    peakClientConnections: peakClients,
  };
}

const subjectFor = (tenantId: string) => `bench ticket for ${tenantId}`;

/** Client backends connected to `database` on the server (the app's, pg-boss's, PgBouncer's). */
async function serverConnections(server: Client, database: string): Promise<number> {
  const { rows } = await server.query<{ n: number }>(
    `select count(*)::int as n from pg_stat_activity
      where datname = $1 and backend_type = 'client backend' and pid <> pg_backend_pid()`,
    [database],
  );
  return rows[0].n;
}

/**
 * Every tenant schema's bench tickets, counted on the server: a ticket whose
 * subject names another tenant, or a schema whose tickets and
 * `platform.support_queue` rows differ in number, is a write that went astray.
 */
async function ticketPlacement(
  server: Client,
  owners: readonly SignedInOwner[],
): Promise<{ rows: number; schemas: number; misplaced: number; queueMismatches: number }> {
  let rows = 0;
  let schemas = 0;
  let misplaced = 0;
  let queueMismatches = 0;
  for (const { tenantId } of owners) {
    const schema = tenantSchemaName(tenantId);
    const { rows: counts } = await server.query<{ own: number; foreign: number; queued: number }>(
      `select count(*) filter (where t.subject = $1)::int as own,
              count(*) filter (where t.subject like 'bench ticket for %' and t.subject <> $1)::int as foreign,
              (select count(*)::int from platform.support_queue q where q.tenant_id = $2) as queued
         from "${schema}".ticket t`,
      [subjectFor(tenantId), tenantId],
    );
    const { own, foreign, queued } = counts[0];
    rows += own + foreign;
    misplaced += foreign;
    if (queued !== own + foreign) queueMismatches++;
    if (own + foreign > 0) schemas++;
  }
  return { rows, schemas, misplaced, queueMismatches };
}
