import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/database/embedded-postgres';
import { bareEnv, buildOnce, ServerProcess, waitFor } from '../support/server-process';

/**
 * The newcomer's path: no DATABASE_URL, no secrets, no services. The server
 * starts an embedded PostgreSQL, migrates, serves; a restart reuses the data
 * and the generated secrets; SIGTERM drains and stops everything.
 */
describe('zero-configuration start', () => {
  let dataDir: string;
  let port: number;
  let base: string;
  /** From the sign-up on the first start; must still be honoured after restarts. */
  let accessToken: string | undefined;
  const signup = {
    email: 'ada@example.com',
    password: 'zero config restart 2718',
    name: 'Ada',
    organizationName: 'Restart Co',
    organizationSlug: 'restart-co',
  };

  beforeAll(async () => {
    buildOnce();
    dataDir = mkdtempSync(join(tmpdir(), 'groundwork-zero-config-'));
    port = await freePort();
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  const env = (extra: Record<string, string> = {}) =>
    bareEnv({ PORT: String(port), DATA_DIR: dataDir, ...extra });
  const pidFile = () => join(dataDir, 'postgres', 'postmaster.pid');
  const asUser = (): RequestInit => {
    if (!accessToken) throw new Error('the first start did not sign up (see the first test)');
    return { headers: { Authorization: `Bearer ${accessToken}` } };
  };

  it('starts with no configuration, serves /health/ready and /docs, signs up, and stops cleanly on SIGTERM', async () => {
    const server = new ServerProcess('main.js', [], env());
    await waitFor(`${base}/health/ready`, 200, server);
    expect((await fetch(`${base}/docs`)).status).toBe(200);
    const spec = (await (await fetch(`${base}/docs-json`)).json()) as { openapi: string };
    expect(spec.openapi).toMatch(/^3\./);

    const created = await fetch(`${base}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(signup),
    });
    expect(created.status).toBe(201);
    const tokens = (await created.json()) as {
      accessToken: string;
      refreshToken: string;
      tenantId: string;
    };
    expect(tokens).toMatchObject({
      accessToken: expect.any(String),
      refreshToken: expect.any(String),
      tenantId: expect.any(String),
    });
    accessToken = tokens.accessToken;
    const first = await fetch(`${base}/v1/tenant`, asUser());
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ id: tokens.tenantId, slug: 'restart-co' });
    expect(existsSync(join(dataDir, 'postgres', 'PG_VERSION'))).toBe(true);
    expect(existsSync(join(dataDir, 'secrets.json'))).toBe(true);

    server.signal('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(existsSync(pidFile())).toBe(false);
    expect(server.text()).toContain('Stopped cleanly');
  });

  it('keeps data and generated secrets across a restart (a tenant created by the CLI in between)', async () => {
    const secrets = readFileSync(join(dataDir, 'secrets.json'), 'utf8');
    const cli = new ServerProcess(
      'cli/tenant-create.js',
      ['--slug', 'cli-co', '--name', 'CLI Co'],
      env(),
    );
    expect(await cli.exited).toBe(0);
    expect(cli.text()).toContain('Created cli-co');

    const server = new ServerProcess('main.js', [], env());
    await waitFor(`${base}/health/ready`, 200, server);
    // The token signed before the restart is still valid: the JWT secret was kept in DATA_DIR.
    const res = await fetch(`${base}/v1/tenant`, asUser());
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ slug: 'restart-co', name: 'Restart Co' });
    // The CLI's tenant is in the database the server uses: its slug is taken.
    const clash = await fetch(`${base}/v1/auth/signup`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ ...signup, email: 'grace@example.com', organizationSlug: 'cli-co' }),
    });
    expect(clash.status).toBe(409);
    expect(await clash.json()).toMatchObject({ code: 'tenant_slug_taken' });
    expect(readFileSync(join(dataDir, 'secrets.json'), 'utf8')).toBe(secrets);

    server.signal('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('reports not-ready during the shutdown delay while still alive', async () => {
    const server = new ServerProcess('main.js', [], env({ SHUTDOWN_DELAY_MS: '1500' }));
    await waitFor(`${base}/health/ready`, 200, server);
    server.signal('SIGTERM');
    const ready = await waitFor(`${base}/health/ready`, 503, server, 1_000);
    expect(((await ready.json()) as { error: Record<string, unknown> }).error).toHaveProperty(
      'shutdown',
    );
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    expect(await server.exited).toBe(0);
  });

  it('recovers the embedded database after the server was killed hard', async () => {
    const killed = new ServerProcess('main.js', [], env());
    await waitFor(`${base}/health/ready`, 200, killed);
    killed.signal('SIGKILL');
    await killed.exited;
    // PostgreSQL outlived its parent and still holds the data directory.
    expect(existsSync(pidFile())).toBe(true);

    const server = new ServerProcess('main.js', [], env());
    await waitFor(`${base}/health/ready`, 200, server);
    expect((await fetch(`${base}/v1/tenant`, asUser())).status).toBe(200);
    server.signal('SIGTERM');
    expect(await server.exited).toBe(0);
  });

  it('stops start-up with one clear line per bad variable', async () => {
    const server = new ServerProcess('main.js', [], env({ PORT: 'eighty', BODY_LIMIT: '10gb' }));
    expect(await server.exited).toBe(1);
    const text = server.text();
    expect(text).toContain('PORT: expected a whole number from 1 to 65535, got "eighty"');
    expect(text).toMatch(/BODY_LIMIT: expected a size/);
    expect(text).not.toMatch(/at .*\.js:\d+/); // no stack trace for a configuration mistake
  });

  it('refuses to start in production without explicit secrets', async () => {
    const server = new ServerProcess(
      'main.js',
      [],
      env({ NODE_ENV: 'production', DATABASE_URL: 'postgres://u:p@127.0.0.1:1/db' }),
    );
    expect(await server.exited).toBe(1);
    expect(server.text()).toContain('JWT_SECRET: is required in production');
    expect(server.text()).toContain('DATA_ENCRYPTION_KEYS: is required in production');
  });
});
