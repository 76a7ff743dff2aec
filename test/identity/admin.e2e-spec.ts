import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { PlatformAuditEvent } from '../../src/tenancy/audit/platform-audit-event.entity';
import { createOrg, createUser } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

describe('admin: tenants', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  it('lets platform staff list and get tenants, and nobody else', async () => {
    const org = await createOrg(t.app, { name: 'Listed Ltd' });
    const support = await createUser(t.app, { platformRole: PlatformRole.Support });
    const list = await api()
      .get(`/v1/admin/tenants?q=${org.tenant.slug}`)
      .set(support.headers)
      .expect(200);
    expect(list.body.items).toEqual([
      expect.objectContaining({ id: org.tenant.id, name: 'Listed Ltd', status: 'active' }),
    ]);
    const one = await api()
      .get(`/v1/admin/tenants/${org.tenant.id}`)
      .set(support.headers)
      .expect(200);
    expect(one.body.schemaVersion).toMatch(/^Migration/);

    // A tenant owner is not platform staff.
    const denied = await api().get('/v1/admin/tenants').set(org.headers).expect(403);
    expect(denied.body.code).toBe('forbidden');
    await api().get('/v1/admin/tenants').expect(401);
    await api().get('/v1/admin/tenants/not-a-uuid').set(support.headers).expect(400);
    const missing = await api()
      .get('/v1/admin/tenants/0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d')
      .set(support.headers)
      .expect(404);
    expect(missing.body.code).toBe('tenant_not_found');
  });

  it('suspends and restores a tenant (platform admin only, audited); its users get tenant_suspended meanwhile', async () => {
    const org = await createOrg(t.app);
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    const admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    const support = await createUser(t.app, { platformRole: PlatformRole.Support });

    await api()
      .post(`/v1/admin/tenants/${org.tenant.id}/suspend`)
      .set(support.headers)
      .send({ reason: 'fraud review' })
      .expect(403);
    const bad = await api()
      .post(`/v1/admin/tenants/${org.tenant.id}/suspend`)
      .set(admin.headers)
      .send({})
      .expect(400);
    expect(bad.body.errors[0].field).toBe('reason');

    const suspended = await api()
      .post(`/v1/admin/tenants/${org.tenant.id}/suspend`)
      .set(admin.headers)
      .send({ reason: 'fraud review' })
      .expect(200);
    expect(suspended.body.status).toBe('suspended');
    const blocked = await api().get('/v1/tenant').set(member.headers).expect(403);
    expect(blocked.body.code).toBe('tenant_suspended');

    const restored = await api()
      .post(`/v1/admin/tenants/${org.tenant.id}/restore`)
      .set(admin.headers)
      .expect(200);
    expect(restored.body.status).toBe('active');
    await api().get('/v1/tenant').set(member.headers).expect(200);

    const events = await t
      .em()
      .find(PlatformAuditEvent, { tenantId: org.tenant.id }, { orderBy: { id: 'asc' } });
    expect(events.map((e) => [e.action, e.actorType, e.actorId])).toEqual([
      ['tenant.suspended', 'platform_staff', admin.user.id],
      ['tenant.restored', 'platform_staff', admin.user.id],
    ]);
    expect(events[0].data).toMatchObject({
      reason: 'fraud review',
      from: 'active',
      to: 'suspended',
    });
  });
});
