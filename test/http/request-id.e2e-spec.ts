import request from 'supertest';
import { Actor, createOrg, createUser, Org } from '../support/factories';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** X-Request-Id: the caller's when it is a sane token, a fresh UUIDv7 otherwise, on every response. */
describe('X-Request-Id', () => {
  let t: TestApp;
  let org: Org;
  /** Signed in, with no organisation: tenant-scoped routes answer 400 tenant_required. */
  let tenantless: Actor;

  beforeAll(async () => {
    t = await bootTestApp({ env: { BODY_LIMIT: '64kb' } });
    org = await createOrg(t.app);
    tenantless = await createUser(t.app);
  });
  afterAll(() => t.close());

  describe('an incoming valid id is echoed', () => {
    it.each([
      ['a simple token', 'req-123'],
      ['a UUID', '0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d'],
      ['every accepted punctuation mark', 'svc.gateway:trace/abc+def=@1'],
      ['128 characters (the maximum)', 'x'.repeat(128)],
    ])('%s', async (_label, id) => {
      const res = await request(t.server)
        .get('/v1/tenant')
        .set(org.headers)
        .set('X-Request-Id', id)
        .expect(200);
      expect(res.headers['x-request-id']).toBe(id);
    });

    it('into the problem body of an error response', async () => {
      const res = await request(t.server)
        .get('/v1/tenant')
        .set(tenantless.headers)
        .set('X-Request-Id', 'client-trace-42');
      expect(res.headers['x-request-id']).toBe('client-trace-42');
      expectProblem(res, 400, 'tenant_required');
    });

    it('into the audit event the request records', async () => {
      const renamed = await createOrg(t.app, { name: 'Before' });
      await request(t.server)
        .patch('/v1/tenant')
        .set(renamed.headers)
        .set('X-Request-Id', 'rename-trace-7')
        .send({ name: 'After' })
        .expect(200);
      const log = await request(t.server)
        .get('/v1/tenant/audit-log')
        .set(renamed.headers)
        .expect(200);
      expect(log.body.items).toEqual([expect.objectContaining({ requestId: 'rename-trace-7' })]);
    });
  });

  describe('an invalid incoming id is replaced by a generated one', () => {
    it.each([
      ['300 characters', 'a'.repeat(300)],
      ['129 characters', 'a'.repeat(129)],
      ['spaces', 'has spaces in it'],
      ['markup', '<script>alert(1)</script>'],
      ['a line-injection attempt', 'abc\\n{"level":60}'],
      ['quotes', '"quoted"'],
    ])('%s', async (_label, id) => {
      const res = await request(t.server)
        .get('/v1/tenant')
        .set(org.headers)
        .set('X-Request-Id', id)
        .expect(200);
      expect(res.headers['x-request-id']).not.toBe(id);
      expect(res.headers['x-request-id']).toMatch(UUID_V7);
    });

    it('also in the problem body', async () => {
      const res = await request(t.server)
        .get('/v1/tenant')
        .set(tenantless.headers)
        .set('X-Request-Id', 'a b');
      expect(res.headers['x-request-id']).toMatch(UUID_V7);
      expectProblem(res, 400, 'tenant_required');
    });
  });

  it('is generated fresh for each request that brings none', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5; i++) {
      const res = await request(t.server).get('/health/live').expect(200);
      expect(res.headers['x-request-id']).toMatch(UUID_V7);
      ids.add(res.headers['x-request-id']);
    }
    expect(ids.size).toBe(5);
  });

  describe('every response carries x-request-id', () => {
    const cases: [string, (t: TestApp) => request.Test, number][] = [
      ['GET /v1/tenant', (a) => request(a.server).get('/v1/tenant').set(org.headers), 200],
      [
        'GET /v1/tenant/audit-log',
        (a) => request(a.server).get('/v1/tenant/audit-log').set(org.headers),
        200,
      ],
      ['GET /health/live', (a) => request(a.server).get('/health/live'), 200],
      ['GET /health/ready', (a) => request(a.server).get('/health/ready'), 200],
      ['GET /health', (a) => request(a.server).get('/health'), 200],
      ['GET /docs-json', (a) => request(a.server).get('/docs-json'), 200],
      ['GET /docs', (a) => request(a.server).get('/docs'), 200],
      [
        '400 tenant_required',
        (a) => request(a.server).get('/v1/tenant').set(tenantless.headers),
        400,
      ],
      ['401 unauthenticated', (a) => request(a.server).get('/v1/tenant'), 401],
      [
        '400 validation_failed',
        (a) => request(a.server).patch('/v1/tenant').set(org.headers).send({ bad: 1 }),
        400,
      ],
      [
        '400 malformed_json',
        (a) =>
          request(a.server)
            .patch('/v1/tenant')
            .set(org.headers)
            .set('Content-Type', 'application/json')
            .send('{'),
        400,
      ],
      ['404 unknown route', (a) => request(a.server).get('/v1/nowhere'), 404],
      [
        '404 unknown tenant',
        (a) => request(a.server).get('/v1/tenant').set(org.headers).set('X-Tenant-Id', 'ghost-org'),
        404,
      ],
      [
        '413 body too large',
        (a) =>
          request(a.server)
            .patch('/v1/tenant')
            .set(org.headers)
            .send({ name: 'x'.repeat(100_000) }),
        413,
      ],
      [
        '415 unsupported media type',
        (a) =>
          request(a.server)
            .patch('/v1/tenant')
            .set(org.headers)
            .set('Content-Type', 'application/xml')
            .send('<a/>'),
        415,
      ],
    ];

    it.each(cases)('%s', async (_label, send, status) => {
      const res = await send(t);
      expect(res.status).toBe(status);
      expect(res.headers['x-request-id']).toMatch(UUID_V7);
      if (status >= 400) expect(res.body.requestId).toBe(res.headers['x-request-id']);
    });
  });
});
