import request from 'supertest';
import { createTenant } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

describe('GET/PATCH /v1/tenant', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('returns the tenant named by X-Tenant-Id (slug or id)', async () => {
    const tenant = await createTenant(t.app, { name: 'Acme' });
    const bySlug = await request(t.server)
      .get('/v1/tenant')
      .set('X-Tenant-Id', tenant.slug)
      .expect(200);
    expect(bySlug.body).toMatchObject({
      id: tenant.id,
      slug: tenant.slug,
      name: 'Acme',
      status: 'active',
    });
    const byId = await request(t.server)
      .get('/v1/tenant')
      .set('X-Tenant-Id', tenant.id)
      .expect(200);
    expect(byId.body.id).toBe(tenant.id);
  });

  it('renames the tenant and records tenant.updated in its audit log', async () => {
    const tenant = await createTenant(t.app, { name: 'Old' });
    const res = await request(t.server)
      .patch('/v1/tenant')
      .set('X-Tenant-Id', tenant.slug)
      .send({ name: '  New name ' })
      .expect(200);
    expect(res.body.name).toBe('New name');
    const log = await request(t.server)
      .get('/v1/tenant/audit-events')
      .set('X-Tenant-Id', tenant.slug)
      .expect(200);
    expect(log.body.items).toHaveLength(1);
    expect(log.body.items[0]).toMatchObject({
      action: 'tenant.updated',
      targetType: 'tenant',
      targetId: tenant.id,
      actorType: 'anonymous',
      data: { before: { name: 'Old' }, after: { name: 'New name' } },
    });
    expect(log.body.items[0].requestId).toBe(res.headers['x-request-id']);
  });
});
