import { randomBytes } from 'node:crypto';
import request, { Response } from 'supertest';
import { TenantRole } from '../../src/access/roles';
import { MAIL_LIMITS } from '../../src/identity/mail-throttle.service';
import { createOrg, createUser, Org, uniqueEmail } from '../support/factories';
import { createTestDatabase, TestDatabase } from '../support/database';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const ALLOWED = 'https://app.example.com';
/**
 * Passport keeps one `jwt` strategy per process: the app booted last verifies
 * every app's tokens, so all apps of this file share the signing key (as
 * replicas do).
 */
const JWT_SECRET = randomBytes(32).toString('hex');
const OTHER = 'https://evil.example.net';

/** The headers every response of the API carries, whatever its status. */
function expectApiSecurityHeaders(res: Response): void {
  expect(res.headers['x-content-type-options']).toBe('nosniff');
  expect(res.headers['referrer-policy']).toBe('no-referrer');
  expect(res.headers['x-frame-options']).toBe('DENY');
  expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
  expect(res.headers['cross-origin-resource-policy']).toBe('same-origin');
  expect(res.headers['content-security-policy']).toBe(
    "default-src 'none';base-uri 'none';form-action 'none';frame-ancestors 'none'",
  );
  expect(res.headers['x-powered-by']).toBeUndefined();
  // Outside production: no HSTS (see security-headers.spec.ts for production).
  expect(res.headers['strict-transport-security']).toBeUndefined();
}

/**
 * Issue 8's hardening: security headers, the CORS allowlist and the API's
 * rate limits per address, caller and tenant (in memory here; through Redis
 * in rate-limit-redis.e2e-spec.ts), and account-mail throttling. The body
 * limit's 413 problem is proven in test/http/problem-details.e2e-spec.ts.
 */
describe('security hardening', () => {
  let db: TestDatabase;
  /** CORS_ORIGINS set, default budgets. */
  let t: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    t = await bootTestApp({
      database: db,
      env: { JWT_SECRET, CORS_ORIGINS: `${ALLOWED},http://localhost:5173` },
    });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  describe('security headers', () => {
    it('are on an API response, with the strict API policy', async () => {
      const res = await request(t.server).get('/v1/pricing').expect(200);
      expectApiSecurityHeaders(res);
    });

    it('are on problem responses too (401, and 404 from no route at all)', async () => {
      const unauthorised = await request(t.server).get('/v1/tenant');
      expectProblem(unauthorised, 401, 'unauthenticated');
      expectApiSecurityHeaders(unauthorised);
      const missing = await request(t.server).get('/v1/no-such-route');
      expectProblem(missing, 404, 'not_found');
      expectApiSecurityHeaders(missing);
    });

    it('let the Swagger UI at /docs load: every script and stylesheet it names is served', async () => {
      const page = await request(t.server).get('/docs').redirects(1).expect(200);
      expect(page.headers['content-type']).toMatch(/^text\/html/);
      const csp = page.headers['content-security-policy'];
      const directive = (name: string) =>
        csp
          .split(';')
          .find((d) => d.startsWith(`${name} `))
          ?.split(' ')
          .slice(1);
      expect(directive('script-src')).toEqual(["'self'"]);
      expect(directive('style-src')).toEqual(["'self'", "'unsafe-inline'"]);
      expect(directive('img-src')).toEqual(["'self'", 'data:']);
      expect(directive('connect-src')).toEqual(["'self'"]);
      expect(directive('frame-ancestors')).toEqual(["'none'"]);
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      // The page must not rely on inline script, which script-src 'self' forbids.
      const html = page.text;
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>\s*\S/);
      const assets = [
        ...html.matchAll(/<script[^>]*\bsrc="([^"]+)"/g),
        ...html.matchAll(/<link[^>]*\bhref="([^"]+)"/g),
      ].map((m) => new URL(m[1], 'http://localhost/docs').pathname);
      expect(assets).toEqual(
        expect.arrayContaining([
          '/docs/swagger-ui-bundle.js',
          '/docs/swagger-ui-init.js',
          '/docs/swagger-ui.css',
        ]),
      );
      for (const asset of assets) {
        const res = await request(t.server).get(asset);
        expect({ asset, status: res.status }).toEqual({ asset, status: 200 });
        expect(res.headers['x-content-type-options']).toBe('nosniff');
        if (asset.endsWith('.js')) expect(res.headers['content-type']).toMatch(/javascript/);
        if (asset.endsWith('.css')) expect(res.headers['content-type']).toMatch(/^text\/css/);
      }
      // What the UI then fetches: the document, same origin.
      await request(t.server).get('/docs-json').expect(200);
    });
  });

  describe('CORS', () => {
    it('answers an allowed origin with Access-Control-Allow-Origin, no credentials', async () => {
      const res = await request(t.server).get('/v1/pricing').set('Origin', ALLOWED).expect(200);
      expect(res.headers['access-control-allow-origin']).toBe(ALLOWED);
      expect(res.headers['access-control-allow-credentials']).toBeUndefined();
      expect(res.headers.vary).toMatch(/origin/i);
      const exposed = res.headers['access-control-expose-headers'].split(/,\s*/);
      expect(exposed).toEqual(
        expect.arrayContaining(['x-request-id', 'retry-after', 'ratelimit-remaining']),
      );
    });

    it('gives any other origin no Access-Control-Allow-Origin', async () => {
      for (const origin of [OTHER, 'https://app.example.com.evil.net', 'null']) {
        const res = await request(t.server).get('/v1/pricing').set('Origin', origin).expect(200);
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
      }
    });

    it('answers a preflight from an allowed origin with what it may send', async () => {
      const res = await request(t.server)
        .options('/v1/tenant')
        .set('Origin', 'http://localhost:5173')
        .set('Access-Control-Request-Method', 'PATCH')
        .set('Access-Control-Request-Headers', 'authorization,content-type,x-tenant-id')
        .expect(204);
      expect(res.headers['access-control-allow-origin']).toBe('http://localhost:5173');
      expect(res.headers['access-control-allow-methods']).toContain('PATCH');
      const headers = res.headers['access-control-allow-headers'].split(/,\s*/);
      expect(headers).toEqual(
        expect.arrayContaining(['authorization', 'content-type', 'x-tenant-id', 'idempotency-key']),
      );
      expect(res.headers['access-control-max-age']).toBe('600');
    });

    it('answers a preflight from another origin without any permission', async () => {
      const res = await request(t.server)
        .options('/v1/tenant')
        .set('Origin', OTHER)
        .set('Access-Control-Request-Method', 'PATCH');
      expect(res.status).toBeLessThan(500);
      expect(res.headers['access-control-allow-origin']).toBeUndefined();
      expect(res.headers['access-control-allow-methods']).toBeUndefined();
    });

    it('allows no origin at all when CORS_ORIGINS is unset', async () => {
      const closed = await bootTestApp({ database: db, env: { JWT_SECRET } });
      try {
        const res = await request(closed.server).get('/v1/pricing').set('Origin', ALLOWED);
        expect(res.status).toBe(200);
        expect(res.headers['access-control-allow-origin']).toBeUndefined();
        const preflight = await request(closed.server)
          .options('/v1/pricing')
          .set('Origin', ALLOWED)
          .set('Access-Control-Request-Method', 'GET');
        expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
      } finally {
        await closed.close();
      }
    });
  });

  describe('rate limits per client address', () => {
    let limited: TestApp;
    beforeAll(async () => {
      // Addresses from X-Forwarded-For (a trusted proxy), so each test has its own.
      limited = await bootTestApp({
        database: db,
        env: {
          JWT_SECRET,
          TRUST_PROXY: 'true',
          RATE_LIMIT_IP_PER_MINUTE: '5',
          RATE_LIMIT_USER_PER_MINUTE: '0',
          RATE_LIMIT_TENANT_PER_MINUTE: '0',
        },
      });
    });
    afterAll(() => limited.close());

    const from = (ip: string) =>
      request(limited.server).get('/v1/pricing').set('X-Forwarded-For', ip);

    it('counts every request, reports the budget, then refuses with a 429 problem', async () => {
      for (let i = 0; i < 5; i++) {
        const res = await from('203.0.113.10').expect(200);
        expect(res.headers['ratelimit-limit']).toBe('5');
        expect(res.headers['ratelimit-remaining']).toBe(String(4 - i));
        expect(res.headers['ratelimit-policy']).toBe('5;w=60');
        expect(Number(res.headers['ratelimit-reset'])).toBeGreaterThan(0);
      }
      const refused = await from('203.0.113.10');
      const problem = expectProblem(refused, 429, 'too_many_requests');
      expect(problem.rateLimit).toBe('ip');
      expect(problem.detail).toMatch(/from this address/);
      const retryAfter = Number(refused.headers['retry-after']);
      expect(retryAfter).toBeGreaterThan(0);
      expect(retryAfter).toBeLessThanOrEqual(60);
      expect(refused.headers['ratelimit-remaining']).toBe('0');
      expectApiSecurityHeaders(refused);
    });

    it('counts anonymous and unauthenticated requests too, and per address', async () => {
      for (let i = 0; i < 5; i++) {
        await request(limited.server)
          .get('/v1/tenant')
          .set('X-Forwarded-For', '203.0.113.20')
          .set('Authorization', 'Bearer not-a-token')
          .expect(401);
      }
      expectProblem(await from('203.0.113.20'), 429, 'too_many_requests');
      // Another address has its own budget.
      await from('203.0.113.21').expect(200);
    });

    it('never counts health probes or Stripe webhooks', async () => {
      for (let i = 0; i < 6; i++) await from('203.0.113.30');
      for (let i = 0; i < 3; i++) {
        const live = await request(limited.server)
          .get('/health/live')
          .set('X-Forwarded-For', '203.0.113.30')
          .expect(200);
        expect(live.headers['ratelimit-limit']).toBeUndefined();
        // Unsigned: refused by the signature check, never by the limiter.
        const hook = await request(limited.server)
          .post('/webhooks/stripe')
          .set('X-Forwarded-For', '203.0.113.30')
          .send({});
        expect(hook.status).toBe(400);
      }
    });
  });

  describe('rate limits per user and per tenant', () => {
    let limited: TestApp;
    let a: Org;
    let b: Org;
    beforeAll(async () => {
      limited = await bootTestApp({
        database: db,
        env: {
          JWT_SECRET,
          TRUST_PROXY: 'true',
          RATE_LIMIT_IP_PER_MINUTE: '0',
          RATE_LIMIT_USER_PER_MINUTE: '4',
          RATE_LIMIT_TENANT_PER_MINUTE: '6',
        },
      });
      a = await createOrg(limited.app);
      b = await createOrg(limited.app);
    });
    afterAll(() => limited.close());

    const tenantOf = (headers: Record<string, string>) =>
      request(limited.server).get('/v1/tenant').set(headers);

    it("throttles a user past its budget and a tenant past its own, never another tenant's", async () => {
      const colleague = await createUser(limited.app, { tenant: a.tenant, role: TenantRole.Admin });
      for (let i = 0; i < 4; i++) {
        const res = await tenantOf(a.headers).expect(200);
        // The tighter of the two budgets counted (user: 4, tenant: 6).
        expect(res.headers['ratelimit-limit']).toBe('4');
      }
      const user = expectProblem(await tenantOf(a.headers), 429, 'too_many_requests');
      expect(user.rateLimit).toBe('user');
      // The colleague has a budget of their own, but shares the tenant's (4 spent of 6).
      await tenantOf(colleague.headers).expect(200);
      const last = await tenantOf(colleague.headers).expect(200);
      expect(last.headers['ratelimit-limit']).toBe('6');
      expect(last.headers['ratelimit-remaining']).toBe('0');
      const refused = await tenantOf(colleague.headers);
      const tenant = expectProblem(refused, 429, 'too_many_requests');
      expect(tenant.rateLimit).toBe('tenant');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      // Tenant B's traffic is not throttled by tenant A's.
      const other = await tenantOf(b.headers).expect(200);
      expect(other.headers['ratelimit-remaining']).toBe('3');
    });

    it('throttles password-reset requests per client address, across addresses asked for', async () => {
      const forgot = (ip: string) =>
        request(limited.server)
          .post('/v1/auth/password/forgot')
          .set('X-Forwarded-For', ip)
          .send({ email: uniqueEmail('reset') });
      for (let i = 0; i < MAIL_LIMITS.resetIp.points; i++) await forgot('198.51.100.9').expect(202);
      expectProblem(await forgot('198.51.100.9'), 429, 'too_many_attempts');
      await forgot('198.51.100.10').expect(202);
    });
  });

  describe('account mails', () => {
    const forgot = (email: string) =>
      request(t.server).post('/v1/auth/password/forgot').send({ email });

    it('throttles password-reset requests per address alike, whether or not it has an account', async () => {
      const org = await createOrg(t.app);
      const nobody = uniqueEmail('nobody');
      for (const email of [org.user.email, nobody]) {
        for (let i = 0; i < MAIL_LIMITS.resetAccount.points; i++) await forgot(email).expect(202);
        const refused = await forgot(email);
        expectProblem(refused, 429, 'too_many_attempts');
        expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      }
      // The same answers for both: nothing tells which address exists.
    });

    it('throttles the verification mail per user', async () => {
      const user = await createOrg(t.app);
      const again = () => request(t.server).post('/v1/auth/verify-email/request').set(user.headers);
      for (let i = 0; i < MAIL_LIMITS.verification.points; i++) await again().expect(204);
      expectProblem(await again(), 429, 'too_many_attempts');
    });
  });
});
