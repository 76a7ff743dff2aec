import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { createOrg, Org } from '../support/factories';
import { isRequestCompleted, LogCapture } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

/** JSON log lines carry the request and tenant ids, and never the caller's credentials. */
describe('request logging', () => {
  let t: TestApp;
  let org: Org;
  let tenant: Tenant;
  const logs = new LogCapture();

  beforeAll(async () => {
    t = await bootTestApp({ env: { LOG_LEVEL: 'info' }, logDestination: logs });
    org = await createOrg(t.app);
    tenant = org.tenant;
  });
  afterAll(() => t.close());

  /**
   * A URL no other request in this file uses, so its log line is unambiguous.
   * (GET /v1/tenant ignores its query; the audit log's `action` filter accepts any dotted verb.)
   */
  const probe = () => randomBytes(4).toString('hex');
  const uniqueTenantUrl = () => `/v1/tenant?probe=${probe()}`;
  const uniqueAuditUrl = () => `/v1/tenant/audit-log?action=probe.p${probe()}`;

  it('writes one JSON object per line', async () => {
    await request(t.server).get('/v1/tenant').set(org.headers).expect(200);
    expect(logs.text.length).toBeGreaterThan(0);
    expect(() => logs.entries).not.toThrow();
  });

  it('the request-completed line of a tenant-scoped request has requestId and tenantId', async () => {
    const url = uniqueTenantUrl();
    const res = await request(t.server).get(url).set(org.headers).expect(200);
    const line = await logs.waitFor(isRequestCompleted('GET', url));
    expect(line).toMatchObject({
      requestId: res.headers['x-request-id'],
      tenantId: tenant.id,
      res: { statusCode: 200 },
    });
  });

  it('uses the caller-supplied request id in the log too', async () => {
    const url = uniqueAuditUrl();
    await request(t.server)
      .get(url)
      .set(org.headers)
      .set('X-Request-Id', 'log-trace-99')
      .expect(200);
    const line = await logs.waitFor(isRequestCompleted('GET', url));
    expect(line).toMatchObject({ requestId: 'log-trace-99', tenantId: tenant.id });
  });

  it('an error response is logged with its request id and status, at warn level', async () => {
    const url = uniqueTenantUrl();
    const res = await request(t.server)
      .get(url)
      .set(org.headers)
      .set('X-Tenant-Id', 'no-such-org')
      .expect(404);
    const line = await logs.waitFor(isRequestCompleted('GET', url));
    expect(line).toMatchObject({
      requestId: res.headers['x-request-id'],
      level: 40,
      res: { statusCode: 404 },
    });
    expect(line.tenantId).toBeUndefined();
  });

  it('never writes credentials, cookies or passwords', async () => {
    const secrets = [
      org.token,
      org.token.split('.')[2], // the signature alone
      org.refreshToken,
      'secret-token-123',
      'sid=abc',
      'hunter2-pass',
      'api-key-xyz-789',
    ];
    const urls = [uniqueTenantUrl(), uniqueTenantUrl(), uniqueTenantUrl(), uniqueTenantUrl()];
    const bearer = `Bearer ${org.token}`;
    // Accepted and refused requests alike, each carrying every kind of secret.
    await request(t.server)
      .get(urls[0])
      .set('X-Tenant-Id', tenant.slug)
      .set('Authorization', bearer)
      .set('Cookie', 'sid=abc')
      .set('X-Api-Key', 'api-key-xyz-789')
      .expect(200);
    await request(t.server)
      .patch(urls[1])
      .set('X-Tenant-Id', tenant.slug)
      .set('Authorization', bearer)
      .set('Cookie', 'sid=abc')
      .send({ name: 'Org with secrets', password: 'hunter2-pass', refreshToken: org.refreshToken })
      .expect(400);
    await request(t.server)
      .patch(urls[2])
      .set('X-Tenant-Id', tenant.slug)
      .set('Authorization', bearer)
      .set('Content-Type', 'application/json')
      .send('{"password": "hunter2-pass", ')
      .expect(400);
    // A token the server refuses is not written either.
    await request(t.server)
      .get(urls[3])
      .set('X-Tenant-Id', tenant.slug)
      .set('Authorization', 'Bearer secret-token-123')
      .set('Cookie', 'sid=abc')
      .expect(401);
    // Every request is fully logged before the output is searched.
    await logs.waitFor(isRequestCompleted('GET', urls[0]));
    await logs.waitFor(isRequestCompleted('PATCH', urls[1]));
    await logs.waitFor(isRequestCompleted('PATCH', urls[2]));
    await logs.waitFor(isRequestCompleted('GET', urls[3]));
    for (const secret of secrets) expect(logs.text).not.toContain(secret);
  });
});
