import request from 'supertest';
import { createOrg } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

describe('GET/PATCH /v1/tenant', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('returns the tenant named by X-Tenant-Id (slug or id)', async () => {
    const org = await createOrg(t.app, { name: 'Acme' });
    const { tenant } = org;
    const bySlug = await request(t.server)
      .get('/v1/tenant')
      .set(org.headers)
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
      .set(org.headers)
      .set('X-Tenant-Id', tenant.id)
      .expect(200);
    expect(byId.body.id).toBe(tenant.id);
  });

  it("falls back to the token's tenant when X-Tenant-Id is absent", async () => {
    const org = await createOrg(t.app, { name: 'Token Co' });
    const res = await request(t.server)
      .get('/v1/tenant')
      .set('Authorization', `Bearer ${org.token}`)
      .expect(200);
    expect(res.body).toMatchObject({ id: org.tenant.id, name: 'Token Co' });
  });

  it('renames the tenant and records tenant.updated, by the signed-in user, in its audit log', async () => {
    const org = await createOrg(t.app, { name: 'Old' });
    const { tenant } = org;
    const res = await request(t.server)
      .patch('/v1/tenant')
      .set(org.headers)
      .send({ name: '  New name ' })
      .expect(200);
    expect(res.body.name).toBe('New name');
    const log = await request(t.server).get('/v1/tenant/audit-log').set(org.headers).expect(200);
    expect(log.body.items).toHaveLength(1);
    expect(log.body.items[0]).toMatchObject({
      action: 'tenant.updated',
      targetType: 'tenant',
      targetId: tenant.id,
      actorType: 'user',
      actorId: org.user.id,
      data: { before: { name: 'Old' }, after: { name: 'New name' } },
    });
    expect(log.body.items[0].requestId).toBe(res.headers['x-request-id']);
  });
});
