import { spawn } from 'node:child_process';
import {
  createServer,
  IncomingMessage,
  request as httpRequest,
  Server,
  ServerResponse,
} from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { freePort } from '../../src/database/embedded-postgres';
import { CHECK_NAMES, type SmokeReport } from '../../src/cli/smoke/checks';
import { createTestDatabase, TestDatabase } from '../support/database';
import { bareEnv, buildOnce, ROOT } from '../support/server-process';
import { TcpProxy } from '../support/tcp-proxy';
import { bootTestApp, TestApp } from '../support/test-app';

interface CliRun {
  code: number | null;
  stdout: string;
  /** stdout and stderr together: everything the CLI printed. */
  text: string;
}

/** Runs the built CLI as a deployment pipeline does, in a bare environment. */
function smoke(args: string[]): Promise<CliRun> {
  const child = spawn(process.execPath, [join(ROOT, 'dist/src/cli/smoke.js'), ...args], {
    cwd: ROOT,
    env: bareEnv({}),
  });
  const stdout: string[] = [];
  const all: string[] = [];
  child.stdout.on('data', (chunk: Buffer) => {
    stdout.push(chunk.toString());
    all.push(chunk.toString());
  });
  child.stderr.on('data', (chunk: Buffer) => all.push(chunk.toString()));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: stdout.join(''), text: all.join('') }));
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: Server) =>
  new Promise<void>((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });

const statusByName = (report: SmokeReport) =>
  Object.fromEntries(report.checks.map((check) => [check.name, check.status]));

/**
 * A pass-through proxy in front of the app that keeps every request body, so
 * the test knows the throwaway password the CLI sent and can look for it in
 * what the CLI printed.
 */
class RecordingProxy {
  readonly bodies: string[] = [];
  /** Answers a request itself instead of the app (a broken route), when it returns a status. */
  intercept: (method: string, path: string) => number | undefined = () => undefined;
  private readonly server: Server;

  constructor(private readonly target: string) {
    this.server = createServer((req, res) => this.forward(req, res));
  }

  start(): Promise<string> {
    return listen(this.server);
  }

  stop(): Promise<void> {
    return close(this.server);
  }

  /** Every `password` the CLI sent, from the recorded JSON bodies. */
  passwords(): string[] {
    return this.bodies.flatMap((body) => {
      try {
        const parsed = JSON.parse(body) as { password?: unknown };
        return typeof parsed.password === 'string' ? [parsed.password] : [];
      } catch {
        return [];
      }
    });
  }

  private forward(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if (body.length > 0) this.bodies.push(body.toString('utf8'));
      const status = this.intercept(req.method ?? 'GET', req.url ?? '/');
      if (status !== undefined) {
        res
          .writeHead(status, { 'content-type': 'application/problem+json' })
          .end(JSON.stringify({ status, code: 'injected', detail: 'Broken by the test' }));
        return;
      }
      const upstream = httpRequest(
        new URL(req.url ?? '/', this.target),
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.writeHead(502).end());
      upstream.end(body);
    });
  }
}

describe('npm run smoke (the built CLI)', () => {
  beforeAll(() => buildOnce());

  describe('against a healthy app', () => {
    let t: TestApp;
    let proxy: RecordingProxy;
    let base: string;

    beforeAll(async () => {
      t = await bootTestApp();
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      proxy = new RecordingProxy(await t.app.getUrl());
      base = await proxy.start();
    });
    afterAll(async () => {
      await proxy.stop();
      await t.close();
    });

    it('passes every check and exits 0, printing one line per check', async () => {
      const run = await smoke(['--base-url', base]);
      expect({ code: run.code, text: run.text }).toEqual({ code: 0, text: expect.any(String) });
      for (const name of CHECK_NAMES) {
        expect(run.stdout).toMatch(new RegExp(`^ {2}ok {4}${name.replace('.', '\\.')} `, 'm'));
      }
      expect(run.stdout).toMatch(/^Smoke PASSED: \d+ ok, 0 failed, 0 skipped in \d+ ms$/m);
      expect(run.stdout).not.toMatch(/^ {2}(FAIL|skip) /m);
    });

    it('--json prints a report: every check ok, the throwaway organisation that really exists', async () => {
      const run = await smoke(['--base-url', base, '--json']);
      expect(run.code).toBe(0);
      const report = JSON.parse(run.stdout) as SmokeReport;
      expect(report).toEqual({
        baseUrl: `${base}/`,
        ok: true,
        startedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        durationMs: expect.any(Number),
        passed: CHECK_NAMES.length,
        failed: 0,
        skipped: 0,
        checks: CHECK_NAMES.map((name) => ({
          name,
          status: 'ok',
          durationMs: expect.any(Number),
          detail: expect.any(String),
        })),
        account: {
          email: expect.stringMatching(/^smoke\+[\w-]+@example\.com$/),
          organizationSlug: expect.stringMatching(/^smoke-[a-z0-9-]+$/),
          tenantId: expect.any(String),
          deleted: false,
          note: expect.any(String),
        },
      });
      // The organisation it reports is the one it signed up, and its sessions are gone.
      const [tenant] = await t
        .em()
        .execute<{ slug: string }[]>('select slug from platform.tenant where id = ?', [
          report.account.tenantId,
        ]);
      expect(tenant.slug).toBe(report.account.organizationSlug);
      const [sessions] = await t.em().execute<{ live: number }[]>(
        `select count(*)::int as live from platform.refresh_token r
           join platform.user_account u on u.id = r.user_id
          where u.email = ? and r.revoked_at is null`,
        [report.account.email],
      );
      expect(sessions.live).toBe(0);
    });

    it('never prints the throwaway password', async () => {
      const before = proxy.passwords().length;
      const text = await smoke(['--base-url', base]);
      const json = await smoke(['--base-url', base, '--json']);
      const sent = proxy.passwords().slice(before);
      // Each run signs up and signs in once, each with its own password.
      expect(sent).toHaveLength(4);
      expect(new Set(sent).size).toBe(2);
      for (const password of sent) {
        expect(password.length).toBeGreaterThanOrEqual(12);
        expect(text.text).not.toContain(password);
        expect(json.text).not.toContain(password);
      }
      expect(json.stdout).not.toMatch(/"password"/i);
    });

    it('ends the sessions even when a check after sign-up fails', async () => {
      proxy.intercept = (method, path) =>
        method === 'GET' && path === '/v1/tenant' ? 500 : undefined;
      try {
        const run = await smoke(['--base-url', base, '--json']);
        expect(run.code).toBe(1);
        const report = JSON.parse(run.stdout) as SmokeReport;
        expect(statusByName(report)).toMatchObject({
          'auth.login': 'ok',
          'tenant.get': 'failed',
          cleanup: 'ok',
        });
        expect(report.checks.find((c) => c.name === 'tenant.get')?.detail).toBe(
          'HTTP 500 (expected 200): injected: Broken by the test',
        );
        expect(report.account.note).toMatch(/sessions were ended$/);
      } finally {
        proxy.intercept = () => undefined;
      }
    });

    it('does not claim the sessions were ended when logging out failed', async () => {
      proxy.intercept = (method, path) =>
        method === 'POST' && path === '/v1/auth/logout' ? 503 : undefined;
      try {
        const run = await smoke(['--base-url', base, '--json']);
        expect(run.code).toBe(1);
        const report = JSON.parse(run.stdout) as SmokeReport;
        expect(statusByName(report)).toMatchObject({ 'tenant.get': 'ok', cleanup: 'failed' });
        expect(report.account.note).toMatch(/ending their sessions failed/);
        expect(report.account.note).not.toMatch(/sessions were ended/);
      } finally {
        proxy.intercept = () => undefined;
      }
    });

    it('ignores a trailing slash on the base URL', async () => {
      const run = await smoke(['--base-url', `${base}/`, '--json']);
      expect(run.code).toBe(0);
    });
  });

  describe('against a broken deployment', () => {
    it('names health.ready as failed (database down) when the database is cut, and exits 1', async () => {
      const db: TestDatabase = await createTestDatabase();
      const target = new URL(db.url);
      const tcp = new TcpProxy(target.hostname, Number(target.port));
      await tcp.start();
      const t = await bootTestApp({
        database: { ...db, url: tcp.urlFor(db.url) },
        env: { HEALTH_DB_TIMEOUT_MS: '300' },
      });
      try {
        await t.app.listen({ port: 0, host: '127.0.0.1' });
        tcp.cut();
        const run = await smoke([
          '--base-url',
          await t.app.getUrl(),
          '--json',
          '--timeout',
          '5000',
        ]);
        expect(run.code).toBe(1);
        const report = JSON.parse(run.stdout) as SmokeReport;
        expect(report.ok).toBe(false);
        const status = statusByName(report);
        expect(status['health.live']).toBe('ok');
        expect(status['health.ready']).toBe('failed');
        expect(status['docs.json']).toBe('ok');
        expect(status['auth.signup']).toBe('failed');
        // What could not run says what it waited for.
        expect(report.checks.find((c) => c.name === 'auth.login')).toMatchObject({
          status: 'skipped',
          detail: 'needs auth.signup',
        });
        const ready = report.checks.find((c) => c.name === 'health.ready');
        expect(ready?.detail).toMatch(/^HTTP 503 \(expected 200\): .*database down/);
        expect(report.account.tenantId).toBeNull();
      } finally {
        tcp.restore();
        await t.close();
        await tcp.stop();
        await db.drop();
      }
    });

    it('fails health.live and skips the rest when every answer is a 500', async () => {
      const broken = createServer((_req, res) => {
        res
          .writeHead(500, { 'content-type': 'application/problem+json' })
          .end(JSON.stringify({ status: 500, code: 'internal_error', detail: 'Something broke' }));
      });
      const base = await listen(broken);
      try {
        const run = await smoke(['--base-url', base]);
        expect(run.code).toBe(1);
        expect(run.stdout).toMatch(
          /^ {2}FAIL {2}health\.live .*HTTP 500 \(expected 200\): internal_error: Something broke$/m,
        );
        expect(run.stdout).toMatch(/^ {2}skip {2}auth\.signup .*needs health\.live$/m);
        expect(run.stdout).toMatch(/^Smoke FAILED: 0 ok, 1 failed, \d+ skipped/m);
      } finally {
        await close(broken);
      }
    });

    it('reports a redirect (http to https, say) with where it points, without following it', async () => {
      const redirecting = createServer((req, res) => {
        res.writeHead(301, { location: `https://smoke.example.com${req.url}` }).end();
      });
      const base = await listen(redirecting);
      try {
        const run = await smoke(['--base-url', base, '--json']);
        expect(run.code).toBe(1);
        const report = JSON.parse(run.stdout) as SmokeReport;
        expect(report.checks[0]).toMatchObject({
          name: 'health.live',
          status: 'failed',
          detail: 'HTTP 301 (expected 200): redirected to https://smoke.example.com/health/live',
        });
      } finally {
        await close(redirecting);
      }
    });

    it('reports a closed port as unreachable and exits 1', async () => {
      const port = await freePort();
      const run = await smoke(['--base-url', `http://127.0.0.1:${port}`, '--json']);
      expect(run.code).toBe(1);
      const report = JSON.parse(run.stdout) as SmokeReport;
      expect(report.checks[0]).toMatchObject({
        name: 'health.live',
        status: 'failed',
        detail: expect.stringContaining('ECONNREFUSED'),
      });
      expect(report.checks.slice(1).every((c) => c.status === 'skipped')).toBe(true);
      expect(report).toMatchObject({ ok: false, passed: 0, failed: 1 });
    });

    it('fails within --timeout when the server never answers', async () => {
      const silent = createServer(() => undefined);
      const base = await listen(silent);
      try {
        const started = Date.now();
        const run = await smoke(['--base-url', base, '--timeout', '300', '--json']);
        expect(run.code).toBe(1);
        expect(Date.now() - started).toBeLessThan(10_000);
        const report = JSON.parse(run.stdout) as SmokeReport;
        expect(report.checks[0]).toMatchObject({
          name: 'health.live',
          status: 'failed',
          detail: 'no answer within 300 ms',
        });
      } finally {
        await close(silent);
      }
    });
  });

  describe('usage errors exit 2 and print the usage', () => {
    it.each([
      ['no arguments', []],
      ['no --base-url value', ['--base-url']],
      ['a base URL that is not http(s)', ['--base-url', 'ftp://example.com']],
      ['a base URL with credentials', ['--base-url', 'https://u:p@example.com']],
      ['a base URL with a query', ['--base-url', 'https://example.com/?x=1']],
      ['a base URL that is not a URL', ['--base-url', 'not a url']],
      ['an unknown option', ['--base-url', 'http://127.0.0.1:1', '--verbose']],
      ['a positional argument', ['http://127.0.0.1:1']],
      ['a timeout that is not a number', ['--base-url', 'http://127.0.0.1:1', '--timeout', 'soon']],
      ['a zero timeout', ['--base-url', 'http://127.0.0.1:1', '--timeout', '0']],
      ['a bad e-mail domain', ['--base-url', 'http://127.0.0.1:1', '--email-domain', 'localhost']],
    ])('%s', async (_label, args) => {
      const run = await smoke(args);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.text).toContain('Usage: npm run smoke -- --base-url <url>');
    });

    it('--help prints the usage and exits 0', async () => {
      const run = await smoke(['--help']);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain('Usage: npm run smoke -- --base-url <url>');
    });
  });
});
