import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LRParser } from '@lezer/lr';
import request from 'supertest';
import { parseAllDocuments } from 'yaml';
import { freePort } from '../../src/database/embedded-postgres';
import { SlaBreachService } from '../../src/support/queue/sla-breach.service';
import { billingClient, PRICES } from '../billing/billing-helpers';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createOrg, Org } from '../support/factories';
import { expectProblem } from '../support/http-helpers';
import { eventually } from '../support/polling';
import { bareEnv, buildOnce, ROOT, ServerProcess, waitFor } from '../support/server-process';
import { TcpProxy } from '../support/tcp-proxy';
import { bootTestApp, TestApp } from '../support/test-app';
import { Family, parseExposition, samplesOf, valueOf } from './exposition';

// lezer-promql's type declarations are ES-module only; jest loads its CommonJS build.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parser: promql } = require('@prometheus-io/lezer-promql') as { parser: LRParser };

const TOKEN = 'metrics-token-0123456789abcdef';
const PROMETHEUS_TEXT = /^text\/plain; version=0\.0\.4; charset=utf-8$/;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

describe('GET /metrics without METRICS_TOKEN', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('does not exist on the API port: 404 problem+json, with or without a bearer token', async () => {
    const res = await request(t.server).get('/metrics');
    const problem = expectProblem(res, 404, 'not_found');
    expect(problem.detail).toMatch(/METRICS_TOKEN|METRICS_PORT/);
    expect(res.text).not.toContain('groundwork_');
    expectProblem(
      await request(t.server).get('/metrics').set('Authorization', `Bearer ${TOKEN}`),
      404,
      'not_found',
    );
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let t: TestApp;
  let org: Org;
  const api = () => request(t.server);

  /** One authorised scrape, parsed strictly. */
  const scrape = async (): Promise<Map<string, Family>> => {
    const res = await api().get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200);
    return parseExposition(res.text);
  };

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    await proxy.start();
    t = await bootTestApp({
      database: { ...db, url: proxy.urlFor(db.url) },
      env: { METRICS_TOKEN: TOKEN, HEALTH_DB_TIMEOUT_MS: '300' },
    });
    org = await createOrg(t.app);
  });
  afterAll(async () => {
    await t.close();
    await proxy.stop();
    await db.drop();
  });

  describe('access', () => {
    it('answers 401 problem+json with WWW-Authenticate without a token', async () => {
      const res = await api().get('/metrics');
      expectProblem(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(res.text).not.toContain('groundwork_');
    });

    it.each([
      ['a wrong token', `Bearer ${TOKEN}x`],
      ['a prefix of the token', `Bearer ${TOKEN.slice(0, -1)}`],
      ['the token under another scheme', `Basic ${TOKEN}`],
      ['the token without a scheme', TOKEN],
      ['a user access token', 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x'],
    ])('answers 401 to %s', async (_label, authorization) => {
      const res = await api().get('/metrics').set('Authorization', authorization);
      expectProblem(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
    });

    it('does not take a user session instead of the token', async () => {
      expectProblem(await api().get('/metrics').set(org.headers), 401, 'unauthorized');
    });

    it('answers 200 with the Prometheus text format to the right token, uncached', async () => {
      const res = await api().get('/metrics').set('Authorization', `Bearer ${TOKEN}`).expect(200);
      expect(res.headers['content-type']).toMatch(PROMETHEUS_TEXT);
      expect(res.headers['cache-control']).toBe('no-store');
      const families = parseExposition(res.text);
      expect(families.size).toBeGreaterThan(20);
      // The scheme is case-insensitive (RFC 9110 §11.1).
      await api().get('/metrics').set('Authorization', `bearer ${TOKEN}`).expect(200);
    });

    it('is served at the root only: not under /v1, and not in the OpenAPI document', async () => {
      const prefixed = await api().get('/v1/metrics').set('Authorization', `Bearer ${TOKEN}`);
      expectProblem(prefixed, 404, 'not_found');
      const spec = await api().get('/docs-json').expect(200);
      const paths = Object.keys(spec.body.paths as Record<string, unknown>);
      expect(paths.length).toBeGreaterThan(10);
      // The Prometheus endpoint only: the business report is an API route (/v1/admin/metrics/business).
      expect(paths.filter((path) => /(^|\/)metrics$/.test(path))).toEqual([]);
      expect(paths).toContain('/v1/admin/metrics/business');
    });
  });

  describe('HTTP metrics', () => {
    it('count requests and latency by route template and status code, never by raw URL', async () => {
      const ticket = await api()
        .post('/v1/support/tickets')
        .set(org.headers)
        .send({ subject: 'Metrics', description: 'Counting this one' })
        .expect(201);
      const ticketId = ticket.body.id as string;
      const missingId = randomUUID();
      const before = await scrape();
      const count = (families: Map<string, Family>, labels: Record<string, string>) =>
        valueOf(families, 'groundwork_http_requests_total', labels);

      await api().get(`/v1/support/tickets/${ticketId}`).set(org.headers).expect(200);
      await api().get(`/v1/support/tickets/${ticketId}`).set(org.headers).expect(200);
      await api().get(`/v1/support/tickets/${missingId}`).set(org.headers).expect(404);
      await api().get(`/v1/no-such-route/${missingId}`).expect(404);
      // Validation: a matched route answering 400 (malformed) and 422 (refused value).
      await api().post('/v1/auth/signup').send({}).expect(400);
      await api()
        .post('/v1/auth/signup')
        .send({
          email: 'weak@example.com',
          password: 'password1234',
          name: 'Weak',
          organizationName: 'Weak Co',
          organizationSlug: `weak-${missingId.slice(0, 8)}`,
        })
        .expect(422);
      const after = await scrape();

      const ticketRoute = { method: 'GET', route: '/v1/support/tickets/:id' };
      const delta = (labels: Record<string, string>) =>
        count(after, labels) - count(before, labels);
      expect(delta({ ...ticketRoute, status_code: '200' })).toBe(2);
      expect(delta({ ...ticketRoute, status_code: '404' })).toBe(1);
      expect(delta({ method: 'GET', route: 'unmatched', status_code: '404' })).toBe(1);
      const signup = { method: 'POST', route: '/v1/auth/signup' };
      expect(delta({ ...signup, status_code: '400' })).toBe(1);
      expect(delta({ ...signup, status_code: '422' })).toBe(1);

      const histogram = (families: Map<string, Family>, suffix: string, labels = {}) =>
        valueOf(families, `groundwork_http_request_duration_seconds${suffix}`, {
          ...ticketRoute,
          status_code: '200',
          ...labels,
        });
      expect(histogram(after, '_count') - histogram(before, '_count')).toBe(2);
      expect(histogram(after, '_bucket', { le: '+Inf' })).toBe(histogram(after, '_count'));
      expect(histogram(after, '_sum')).toBeGreaterThan(histogram(before, '_sum'));

      // Label values are templates: no id, no query string, ever.
      const routes = new Set(
        samplesOf(after, 'groundwork_http_requests_total').map((s) => s.labels.route),
      );
      for (const route of routes) {
        expect(route).not.toMatch(UUID);
        expect(route).not.toContain('?');
      }
      expect(routes).toContain('/v1/support/tickets/:id');
      const labelNames = Object.keys(samplesOf(after, 'groundwork_http_requests_total')[0].labels);
      expect(labelNames.sort()).toEqual(['method', 'route', 'status_code']);
    });

    it('do not count the scrapes themselves, allowed or refused', async () => {
      await scrape();
      await api().get('/metrics').expect(401);
      const families = await scrape();
      const routes = samplesOf(families, 'groundwork_http_requests_total').map(
        (s) => s.labels.route,
      );
      expect(routes).not.toContain('/metrics');
      expect(
        samplesOf(families, 'groundwork_http_request_duration_seconds_count').filter(
          (s) => s.labels.route === '/metrics',
        ),
      ).toEqual([]);
    });
  });

  it('exports process and event-loop metrics', async () => {
    const families = await scrape();
    for (const name of [
      'process_resident_memory_bytes',
      'process_cpu_seconds_total',
      'process_start_time_seconds',
      'nodejs_eventloop_lag_seconds',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect({ name, samples: samplesOf(families, name).length }).toEqual({ name, samples: 1 });
    }
    expect(valueOf(families, 'process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 ** 2);
  });

  it('reports the database up and this process pool by state', async () => {
    const families = await scrape();
    expect(families.get('groundwork_database_up')?.type).toBe('gauge');
    expect(valueOf(families, 'groundwork_database_up')).toBe(1);
    const pool = samplesOf(families, 'groundwork_db_pool_connections');
    expect(pool.map((s) => s.labels.state).sort()).toEqual(['free', 'pending', 'used']);
    for (const sample of pool) expect(Number.isInteger(sample.value)).toBe(true);
    expect(valueOf(families, 'groundwork_db_pool_connections', { state: 'pending' })).toBe(0);
  });

  it('reports every job queue, idle ones with zeros, and the job counters', async () => {
    const families = await scrape();
    const jobs = samplesOf(families, 'groundwork_jobs');
    const queues = [...new Set(jobs.map((s) => s.labels.queue))];
    expect(queues).toEqual(
      expect.arrayContaining(['support.sla-breaches', 'support.auto-close', 'idempotency.purge']),
    );
    for (const queue of queues) {
      const states = jobs.filter((s) => s.labels.queue === queue).map((s) => s.labels.state);
      expect({ queue, states: states.sort() }).toEqual({
        queue,
        states: ['active', 'created', 'retry'],
      });
      expect(samplesOf(families, 'groundwork_jobs_scheduled', { queue })).toHaveLength(1);
      expect(samplesOf(families, 'groundwork_job_oldest_waiting_seconds', { queue })).toHaveLength(
        1,
      );
    }
    // A queue nothing was sent to reads zero, not "no data".
    expect(
      valueOf(families, 'groundwork_jobs', { queue: 'idempotency.purge', state: 'retry' }),
    ).toBe(0);
    expect(families.get('groundwork_jobs_failed_total')?.type).toBe('counter');
    expect(families.get('groundwork_jobs_completed_total')?.type).toBe('counter');
  });

  it('counts a declined payment by outcome and category', async () => {
    const billing = billingClient(
      () => t,
      () => {
        throw new Error('no staff needed');
      },
    );
    const labels = { outcome: 'failed', category: 'insufficient_funds' };
    const before = valueOf(await scrape(), 'groundwork_payment_attempts_total', labels);
    const buyer = await billing.signUp();
    await billing.addCard(buyer.headers, 'pm_card_chargeDeclinedInsufficientFunds').expect(201);
    const declined = await api()
      .post('/v1/billing/subscription')
      .set(buyer.headers)
      .send({ priceId: PRICES.PRO_MONTH, quantity: 1 })
      .expect(402);
    expect(declined.body).toMatchObject({ category: 'insufficient_funds' });
    const families = await scrape();
    expect(valueOf(families, 'groundwork_payment_attempts_total', labels)).toBe(before + 1);
    const series = samplesOf(families, 'groundwork_payment_attempts_total');
    expect(Object.keys(series[0].labels).sort()).toEqual(['category', 'outcome']);
    expect(families.get('groundwork_dunning_tenants')?.type).toBe('gauge');
  });

  it('reports the outbox backlog: a mail held while no SMTP_URL is set', async () => {
    const heldInDatabase = async () => {
      const [row] = await t
        .em()
        .execute<{ held: number }[]>(
          `select count(*)::int as held from platform.outbox where status = 'held'`,
        );
      return row.held;
    };
    const before = valueOf(await scrape(), 'groundwork_outbox_messages', { status: 'held' });
    await api().post('/v1/auth/password/forgot').send({ email: org.user.email }).expect(202);
    const held = await heldInDatabase();
    expect(held).toBeGreaterThan(before);
    const families = await scrape();
    expect(valueOf(families, 'groundwork_outbox_messages', { status: 'held' })).toBe(held);
    for (const status of ['pending', 'sending', 'failed']) {
      expect(samplesOf(families, 'groundwork_outbox_messages', { status })).toHaveLength(1);
    }
    // Held mail is never going to be sent: it is not "waiting to be delivered".
    expect(valueOf(families, 'groundwork_outbox_oldest_pending_seconds')).toBe(0);
  });

  it('reports gateway webhooks waiting, and SLA breaches as they are marked', async () => {
    const ticket = await api()
      .post('/v1/support/tickets')
      .set(org.headers)
      .send({ subject: 'Breach me', description: 'Too slow' })
      .expect(201);
    const before = await scrape();
    expect(valueOf(before, 'groundwork_gateway_events_pending')).toBe(0);
    expect(valueOf(before, 'groundwork_gateway_event_lag_seconds')).toBe(0);
    const breaches = (families: Map<string, Family>) =>
      valueOf(families, 'groundwork_sla_breaches_total', { target: 'first_response' });
    // Both targets exist before any breach, so `increase()` sees the first one.
    expect(
      samplesOf(before, 'groundwork_sla_breaches_total')
        .map((s) => s.labels.target)
        .sort(),
    ).toEqual(['first_response', 'resolution']);

    // The ticket's first-response target passed an hour ago.
    await t.em().execute(
      `update platform.support_queue set first_response_due_at = now() - interval '1 hour'
          where ticket_id = ?`,
      [ticket.body.id],
    );
    const marked = await t.app.get(SlaBreachService).markBreaches();
    expect(marked).toBeGreaterThanOrEqual(1);
    const after = await scrape();
    expect(breaches(after) - breaches(before)).toBeGreaterThanOrEqual(1);
    expect(
      valueOf(after, 'groundwork_sla_breached_tickets', { target: 'first_response' }),
    ).toBeGreaterThanOrEqual(1);
  });

  it('exports every metric the alert rules and dashboards read', async () => {
    const families = await scrape();
    const { recorded, used, records } = monitoredNames();
    expect(used.size).toBeGreaterThan(10);
    const missing = [...used].filter((name) => !exported(families, name));
    expect(missing).toEqual([]);
    // A recorded series (a name with a colon) is read only where a rule records it.
    expect([...recorded].filter((name) => !records.has(name))).toEqual([]);
  });

  describe('when the database fails', () => {
    it('still answers the scrape in time, with groundwork_database_up 0 and process metrics', async () => {
      proxy.cut();
      for (const mode of ['refused', 'hung'] as const) {
        if (mode === 'hung') proxy.blackhole();
        const started = Date.now();
        const res = await api()
          .get('/metrics')
          .set('Authorization', `Bearer ${TOKEN}`)
          .timeout(10_000)
          .expect(200);
        // Collectors run side by side, each under HEALTH_DB_TIMEOUT_MS (300 ms here).
        expect({ mode, fast: Date.now() - started < 5_000 }).toEqual({ mode, fast: true });
        const families = parseExposition(res.text);
        expect({ mode, up: valueOf(families, 'groundwork_database_up') }).toEqual({ mode, up: 0 });
        expect(samplesOf(families, 'process_resident_memory_bytes')).toHaveLength(1);
        expect(samplesOf(families, 'nodejs_eventloop_lag_seconds')).toHaveLength(1);
        // The pool is read from memory: it answers even now.
        expect(samplesOf(families, 'groundwork_db_pool_connections')).toHaveLength(3);
      }
    });

    it('reads 1 again once the database is back', async () => {
      proxy.restore();
      await eventually(
        'groundwork_database_up 1',
        async () => valueOf(await scrape(), 'groundwork_database_up') === 1,
      );
    });
  });
});

/**
 * Every metric the monitoring reads: `expr` of the PrometheusRule and of any
 * dashboard JSON, parsed as PromQL. Names with a colon are recorded series.
 */
function monitoredNames(): { used: Set<string>; recorded: Set<string>; records: Set<string> } {
  const dir = join(ROOT, 'k8s/monitoring');
  const expressions: string[] = [];
  const records = new Set<string>();
  for (const file of readdirSync(dir)) {
    const text = readFileSync(join(dir, file), 'utf8');
    if (/\.ya?ml$/.test(file)) {
      for (const doc of parseAllDocuments(text)) {
        const rule = doc.toJS() as {
          kind?: string;
          spec?: { groups?: { rules?: { expr?: string; record?: string }[] }[] };
        };
        if (rule?.kind !== 'PrometheusRule') continue;
        for (const r of (rule.spec?.groups ?? []).flatMap((g) => g.rules ?? [])) {
          if (r.expr) expressions.push(r.expr);
          if (r.record) records.add(r.record);
        }
      }
    } else if (file.endsWith('.json')) {
      collectExpr(JSON.parse(text), expressions);
    }
  }
  const used = new Set<string>();
  const recorded = new Set<string>();
  for (const expression of expressions) {
    for (const name of metricNames(grafanaFree(expression))) {
      if (name.includes(':')) recorded.add(name);
      else if (/^(groundwork|process|nodejs)_/.test(name)) used.add(name);
    }
  }
  return { used, recorded, records };
}

function collectExpr(node: unknown, into: string[]): void {
  if (Array.isArray(node)) for (const item of node) collectExpr(item, into);
  else if (node && typeof node === 'object') {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'expr' && typeof value === 'string') into.push(value);
      else collectExpr(value, into);
    }
  }
}

/** Grafana's variables are not PromQL: `[$__rate_interval]` becomes a duration, `$x` a name. */
function grafanaFree(expression: string): string {
  return expression
    .replace(/\[\s*\$\{?__\w+\}?\s*\]/g, '[5m]')
    .replace(/\$\{?(\w+)(?::\w+)?\}?/g, 'grafana_var_$1');
}

/** The metric names of the vector selectors in a PromQL expression; throws when it does not parse. */
function metricNames(expression: string): string[] {
  const names: string[] = [];
  const tree = promql.parse(expression);
  tree.iterate({
    enter(node) {
      if (node.type.isError)
        throw new Error(`not PromQL at ${node.from}: ${JSON.stringify(expression)}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector')
        names.push(expression.slice(node.from, node.to));
    },
  });
  return names;
}

/** Whether a scrape carries `name`: a family, or a histogram's `_bucket`, `_sum`, `_count`. */
function exported(families: Map<string, Family>, name: string): boolean {
  if (families.has(name)) return true;
  const base = /^(.*)_(bucket|sum|count)$/.exec(name);
  return !!base && ['histogram', 'summary'].includes(families.get(base[1])?.type ?? '');
}

describe('METRICS_PORT (the built server)', () => {
  let db: TestDatabase;
  let dataDir: string;
  let port: number;
  let metricsPort: number;

  beforeAll(async () => {
    buildOnce();
    db = await createTestDatabase();
    dataDir = mkdtempSync(join(tmpdir(), 'groundwork-metrics-port-'));
    port = await freePort();
    metricsPort = await freePort();
  });
  afterAll(async () => {
    rmSync(dataDir, { recursive: true, force: true });
    await db.drop();
  });

  const start = async (extra: Record<string, string> = {}): Promise<ServerProcess> => {
    const server = new ServerProcess(
      'main.js',
      [],
      bareEnv({
        PORT: String(port),
        METRICS_PORT: String(metricsPort),
        HOST: '127.0.0.1',
        DATA_DIR: dataDir,
        DATABASE_URL: db.url,
        LOG_LEVEL: 'warn',
        ...extra,
      }),
    );
    await waitFor(`http://127.0.0.1:${port}/health/ready`, 200, server);
    return server;
  };
  const stop = async (server: ServerProcess) => {
    server.signal('SIGTERM');
    expect(await server.exited).toBe(0);
  };
  const metricsUrl = (path = '/metrics') => `http://127.0.0.1:${metricsPort}${path}`;

  it('serves /metrics on the separate port without a token, and nothing else there', async () => {
    const server = await start();
    try {
      const res = await fetch(metricsUrl());
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(PROMETHEUS_TEXT);
      const families = parseExposition(await res.text());
      expect(valueOf(families, 'groundwork_database_up')).toBe(1);
      expect(samplesOf(families, 'process_resident_memory_bytes')).toHaveLength(1);

      for (const path of ['/', '/metrics/x', '/health/ready', '/v1/pricing']) {
        const other = await fetch(metricsUrl(path));
        expect({ path, status: other.status }).toEqual({ path, status: 404 });
      }
      expect((await fetch(metricsUrl(), { method: 'POST' })).status).toBe(404);
      // Without a token, the API port does not serve metrics at all.
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(404);
      // Scrapes on the metrics port are not API requests.
      await fetch(metricsUrl());
      const again = parseExposition(await (await fetch(metricsUrl())).text());
      expect(
        samplesOf(again, 'groundwork_http_requests_total').map((s) => s.labels.route),
      ).not.toContain('/metrics');
    } finally {
      await stop(server);
    }
  });

  it('asks for the token on the metrics port too when METRICS_TOKEN is set', async () => {
    const server = await start({ METRICS_TOKEN: TOKEN });
    try {
      const open = await fetch(metricsUrl());
      expect(open.status).toBe(401);
      expect(open.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await open.text()).not.toContain('groundwork_');
      const wrong = await fetch(metricsUrl(), { headers: { Authorization: 'Bearer nope' } });
      expect(wrong.status).toBe(401);
      const right = await fetch(metricsUrl(), { headers: { Authorization: `Bearer ${TOKEN}` } });
      expect(right.status).toBe(200);
      parseExposition(await right.text());
      const api = await fetch(`http://127.0.0.1:${port}/metrics`, {
        headers: { Authorization: `Bearer ${TOKEN}` },
      });
      expect(api.status).toBe(200);
    } finally {
      await stop(server);
    }
  });

  it('refuses to start when METRICS_PORT equals PORT', async () => {
    const server = new ServerProcess(
      'main.js',
      [],
      bareEnv({
        PORT: String(port),
        METRICS_PORT: String(port),
        DATA_DIR: dataDir,
        DATABASE_URL: db.url,
      }),
    );
    expect(await server.exited).toBe(1);
    expect(server.text()).toContain(`METRICS_PORT: must differ from PORT (${port})`);
  });
});
