import request from 'supertest';
import { Tenant, TenantStatus } from '../../src/tenancy/entities/tenant.entity';
import { TenantProvisioningService } from '../../src/tenancy/tenant-provisioning.service';
import { Actor, createOrg, createUser, Org } from '../support/factories';
import { erroredFields, expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

/** Every error the HTTP layer gives is an RFC 9457 problem with a stable code. */
describe('problem+json error responses', () => {
  let t: TestApp;
  let org: Org;
  /** Signed in, but with no organisation in the token. */
  let tenantless: Actor;

  beforeAll(async () => {
    t = await bootTestApp({ env: { BODY_LIMIT: '64kb' } });
    org = await createOrg(t.app);
    tenantless = await createUser(t.app);
  });
  afterAll(() => t.close());

  const patchTenant = () => request(t.server).patch('/v1/tenant').set(org.headers);
  const listAudit = (query: string) =>
    request(t.server).get(`/v1/tenant/audit-log?${query}`).set(org.headers);

  describe('request bodies', () => {
    it('refuses malformed JSON with 400 malformed_json', async () => {
      const res = await patchTenant()
        .set('Content-Type', 'application/json')
        .send('{"name": "Acme');
      expectProblem(res, 400, 'malformed_json');
    });

    it('refuses an empty body sent as application/json with 400 malformed_json', async () => {
      const res = await patchTenant().set('Content-Type', 'application/json');
      expectProblem(res, 400, 'malformed_json');
    });

    it.each([
      ['text/plain', '{"name": "Acme"}'],
      ['application/xml', '<tenant><name>Acme</name></tenant>'],
      // A JSON-only API: form bodies are refused too (they are also what a cross-site form posts).
      ['application/x-www-form-urlencoded', 'name=Acme'],
    ])('refuses %s bodies with 415 unsupported_media_type', async (contentType, payload) => {
      const res = await patchTenant().set('Content-Type', contentType).send(payload);
      const problem = expectProblem(res, 415, 'unsupported_media_type');
      expect(problem.detail).toMatch(/application\/json/);
    });

    it('refuses a body over BODY_LIMIT (64kb here) with 413 payload_too_large', async () => {
      // 70 KB: far under the 1 MiB default, so this proves the configured limit applies.
      const res = await patchTenant().send({ name: 'x'.repeat(70 * 1024) });
      expectProblem(res, 413, 'payload_too_large');
    });

    it('lets a body just under the limit through to validation', async () => {
      const res = await patchTenant().send({ name: 'x'.repeat(60 * 1024) });
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual(['name']);
    });
  });

  describe('validation (400 validation_failed, errors[] naming each field)', () => {
    it('refuses a name longer than 200 characters', async () => {
      const res = await patchTenant().send({ name: 'n'.repeat(201) });
      const problem = expectProblem(res, 400, 'validation_failed');
      expect(erroredFields(problem)).toEqual(['name']);
      expect(problem.errors![0].message).toMatch(/200/);
      expect(problem.detail).toMatch(/name/);
    });

    it('refuses a name that is only whitespace (trimmed to empty)', async () => {
      const res = await patchTenant().send({ name: '   ' });
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual(['name']);
    });

    it('refuses a name that is not a string', async () => {
      const res = await patchTenant().send({ name: 42 });
      const problem = expectProblem(res, 400, 'validation_failed');
      expect(erroredFields(problem)).toEqual(['name']);
      expect(problem.errors).toContainEqual({ field: 'name', message: 'name must be a string' });
    });

    it('refuses a null name (absent means unchanged; null is not a name)', async () => {
      const res = await patchTenant().send({ name: null });
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual(['name']);
    });

    it('refuses an unknown field such as status', async () => {
      const res = await patchTenant().send({ name: 'Fine', status: 'suspended' });
      const problem = expectProblem(res, 400, 'validation_failed');
      expect(erroredFields(problem)).toEqual(['status']);
      expect(problem.errors![0].message).toMatch(/not an accepted field/);
    });

    it.each([
      ['limit=0', 'limit'],
      ['limit=101', 'limit'],
      ['limit=abc', 'limit'],
      ['limit=1.5', 'limit'],
      ['cursor=not-a-uuid', 'cursor'],
      ['action=Bad%20Action', 'action'],
    ])('refuses the audit-log query %s', async (query, field) => {
      const res = await listAudit(query);
      const problem = expectProblem(res, 400, 'validation_failed');
      expect(erroredFields(problem)).toEqual([field]);
      expect(problem.detail).toContain(field);
    });

    it('names every invalid query field at once', async () => {
      const res = await listAudit('limit=0&cursor=not-a-uuid&action=Bad%20Action');
      const problem = expectProblem(res, 400, 'validation_failed');
      expect(erroredFields(problem).sort()).toEqual(['action', 'cursor', 'limit']);
    });

    it('accepts the same route with a valid query (the refusals above are not blanket)', async () => {
      const res = await listAudit('limit=1&action=never.recorded').expect(200);
      expect(res.body).toEqual({ items: [], nextCursor: null });
    });
  });

  describe('routing', () => {
    it('answers an unknown route with 404 not_found', async () => {
      const res = await request(t.server).get('/v1/no-such-route');
      const problem = expectProblem(res, 404, 'not_found');
      expect(problem.detail).toContain('/v1/no-such-route');
    });

    it('answers an unknown route outside /v1 with 404 not_found', async () => {
      expectProblem(await request(t.server).get('/nothing-here'), 404, 'not_found');
    });

    it('answers a method the route does not have with 404 not_found', async () => {
      const res = await request(t.server).delete('/v1/tenant').set(org.headers);
      const problem = expectProblem(res, 404, 'not_found');
      expect(problem.detail).toContain('/v1/tenant');
    });
  });

  describe('authentication', () => {
    it('answers a tenant route without credentials with 401 unauthenticated and WWW-Authenticate', async () => {
      const res = await request(t.server).get('/v1/tenant').set('X-Tenant-Id', org.tenant.slug);
      const problem = expectProblem(res, 401, 'unauthenticated');
      expect(problem.detail).toMatch(/Authorization/);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
    });

    it('answers a garbage bearer token with 401 invalid_token', async () => {
      const res = await request(t.server)
        .get('/v1/tenant')
        .set('X-Tenant-Id', org.tenant.slug)
        .set('Authorization', 'Bearer not.a.jwt');
      expectProblem(res, 401, 'invalid_token');
      expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    });
  });

  describe('tenant resolution', () => {
    it('answers a tenant-scoped route without X-Tenant-Id (and no tenant in the token) with 400 tenant_required', async () => {
      const res = await request(t.server).get('/v1/tenant').set(tenantless.headers);
      const problem = expectProblem(res, 400, 'tenant_required');
      expect(problem.detail).toMatch(/X-Tenant-Id/);
    });

    it('treats a blank X-Tenant-Id as missing', async () => {
      const res = await request(t.server)
        .get('/v1/tenant')
        .set(tenantless.headers)
        .set('X-Tenant-Id', '   ');
      expectProblem(res, 400, 'tenant_required');
    });

    it.each([
      ['an unknown slug', 'no-such-org'],
      ['an unknown id', '01890a5d-ac96-774b-bcce-b302099a8057'],
      ['an over-long selector', 'x'.repeat(300)],
    ])('answers %s with 404 tenant_not_found', async (_label, selector) => {
      const res = await request(t.server)
        .get('/v1/tenant')
        .set(org.headers)
        .set('X-Tenant-Id', selector);
      const problem = expectProblem(res, 404, 'tenant_not_found');
      expect(problem.detail.length).toBeLessThan(200);
    });

    it('answers a tenant the caller does not belong to with 404 tenant_not_found, as if it did not exist', async () => {
      const other = await createOrg(t.app);
      for (const selector of [other.tenant.slug, other.tenant.id]) {
        const res = await request(t.server)
          .get('/v1/tenant')
          .set(org.headers)
          .set('X-Tenant-Id', selector);
        expectProblem(res, 404, 'tenant_not_found');
      }
    });

    it('answers a suspended tenant with 403 tenant_suspended', async () => {
      // Never looked up before: the directory's 5 s cache holds nothing for it yet.
      const suspended = await createOrg(t.app);
      const { tenant } = suspended;
      await t.em().nativeUpdate(Tenant, { id: tenant.id }, { status: TenantStatus.Suspended });
      for (const selector of [tenant.slug, tenant.id]) {
        const res = await request(t.server)
          .get('/v1/tenant')
          .set(suspended.headers)
          .set('X-Tenant-Id', selector);
        expectProblem(res, 403, 'tenant_suspended');
      }
      const write = await request(t.server)
        .patch('/v1/tenant')
        .set(suspended.headers)
        .set('X-Tenant-Id', tenant.slug)
        .send({ name: 'Still here' });
      expectProblem(write, 403, 'tenant_suspended');
      // Someone who does not belong to it learns nothing, not even that it is suspended.
      const outsider = await request(t.server)
        .get('/v1/tenant')
        .set(org.headers)
        .set('X-Tenant-Id', tenant.slug);
      expectProblem(outsider, 404, 'tenant_not_found');
      const row = await t.em().findOneOrFail(Tenant, { id: tenant.id });
      expect(row.name).toBe(tenant.name);
    });

    it('answers a deleted tenant with 404 tenant_not_found, even right after it was served', async () => {
      const deleted = await createOrg(t.app);
      const { tenant } = deleted;
      await request(t.server)
        .get('/v1/tenant')
        .set(deleted.headers)
        .set('X-Tenant-Id', tenant.slug)
        .expect(200);
      await t.app.get(TenantProvisioningService).deprovision(tenant.id);
      for (const selector of [tenant.slug, tenant.id]) {
        const res = await request(t.server)
          .get('/v1/tenant')
          .set(deleted.headers)
          .set('X-Tenant-Id', selector);
        expectProblem(res, 404, 'tenant_not_found');
      }
    });
  });
});
