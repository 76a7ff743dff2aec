import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { ApiKey } from '../../src/identity/entities/api-key.entity';
import { Membership } from '../../src/tenancy/entities/membership.entity';
import { createOrg, createUser, Org } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

describe('members', () => {
  let t: TestApp;
  let org: Org;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  beforeEach(async () => {
    org = await createOrg(t.app);
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  it('lists members to any member, with their roles', async () => {
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    const res = await api().get('/v1/tenant/members').set(member.headers).expect(200);
    expect(res.body).toEqual([
      expect.objectContaining({ userId: org.user.id, role: 'owner', email: org.user.email }),
      expect.objectContaining({ userId: member.user.id, role: 'member' }),
    ]);
  });

  it('lets an admin change a role (audited), but not a plain member', async () => {
    const admin = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Admin });
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    const denied = await api()
      .patch(`/v1/tenant/members/${admin.user.id}`)
      .set(member.headers)
      .send({ role: 'member' })
      .expect(403);
    expect(denied.body.code).toBe('forbidden');

    const res = await api()
      .patch(`/v1/tenant/members/${member.user.id}`)
      .set(admin.headers)
      .send({ role: 'support_agent' })
      .expect(200);
    expect(res.body.role).toBe('support_agent');
    const log = await api()
      .get('/v1/tenant/audit-log?action=member.role_changed')
      .set(org.headers)
      .expect(200);
    expect(log.body.items[0]).toMatchObject({
      actorId: admin.user.id,
      targetId: member.user.id,
      data: { before: 'member', after: 'support_agent' },
    });
  });

  it('never removes or demotes the last owner, and only owners touch owners', async () => {
    const demote = await api()
      .patch(`/v1/tenant/members/${org.user.id}`)
      .set(org.headers)
      .send({ role: 'admin' })
      .expect(409);
    expect(demote.body.code).toBe('last_owner');
    const remove = await api()
      .delete(`/v1/tenant/members/${org.user.id}`)
      .set(org.headers)
      .expect(409);
    expect(remove.body.code).toBe('last_owner');

    const admin = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Admin });
    await api()
      .patch(`/v1/tenant/members/${admin.user.id}`)
      .set(admin.headers)
      .send({ role: 'owner' })
      .expect(403);
    await api().delete(`/v1/tenant/members/${org.user.id}`).set(admin.headers).expect(403);

    // With a second owner, the first may step down.
    await api()
      .patch(`/v1/tenant/members/${admin.user.id}`)
      .set(org.headers)
      .send({ role: 'owner' })
      .expect(200);
    await api()
      .patch(`/v1/tenant/members/${org.user.id}`)
      .set(org.headers)
      .send({ role: 'member' })
      .expect(200);
  });

  it('cuts a removed member off at once', async () => {
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    await api().get('/v1/tenant').set(member.headers).expect(200);
    await api().delete(`/v1/tenant/members/${member.user.id}`).set(org.headers).expect(204);
    const after = await api().get('/v1/tenant').set(member.headers).expect(404);
    expect(after.body.code).toBe('tenant_not_found');
    expect(await t.em().count(Membership, { userId: member.user.id })).toBe(0);
  });

  it('answers 404 for a member of another organisation and 400 for a malformed id', async () => {
    const other = await createOrg(t.app);
    const res = await api()
      .patch(`/v1/tenant/members/${other.user.id}`)
      .set(org.headers)
      .send({ role: 'member' })
      .expect(404);
    expect(res.body.code).toBe('member_not_found');
    await api().delete('/v1/tenant/members/not-a-uuid').set(org.headers).expect(400);
    const bad = await api()
      .patch(`/v1/tenant/members/${org.user.id}`)
      .set(org.headers)
      .send({ role: 'emperor' })
      .expect(400);
    expect(bad.body.errors[0].field).toBe('role');
  });

  it('lets platform staff act on a tenant they do not belong to, and audits it', async () => {
    const staff = await createUser(t.app, { platformRole: PlatformRole.Support });
    const res = await api()
      .get('/v1/tenant/members')
      .set({ ...staff.headers, 'X-Tenant-Id': org.tenant.slug })
      .expect(200);
    expect(res.body).toHaveLength(1);
    // Support staff read but do not change.
    await api()
      .patch('/v1/tenant')
      .set({ ...staff.headers, 'X-Tenant-Id': org.tenant.slug })
      .send({ name: 'x' })
      .expect(403);
    const log = await api()
      .get('/v1/tenant/audit-log?action=staff.accessed')
      .set(org.headers)
      .expect(200);
    expect(log.body.items[0]).toMatchObject({
      actorType: 'platform_staff',
      actorId: staff.user.id,
    });
  });
});

describe('API keys', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  it('creates a key shown once, stores only its hash, and authenticates with it', async () => {
    const org = await createOrg(t.app);
    const created = await api()
      .post('/v1/tenant/api-keys')
      .set(org.headers)
      .send({ name: 'CI' })
      .expect(201);
    const key = created.body.key as string;
    expect(key).toMatch(/^gw_[0-9a-f]{8}_[A-Za-z0-9_-]{43}$/);
    expect(key.startsWith(created.body.prefix)).toBe(true);
    const row = await t.em().findOneOrFail(ApiKey, { id: created.body.id });
    // The secret may itself contain '_': take everything after the prefix.
    const secret = key.slice(String(created.body.prefix).length + 1);
    expect(secret).toHaveLength(43);
    expect(row.secretHash).toMatch(/^[0-9a-f]{64}$/);
    expect(row.secretHash).not.toContain(secret);

    const list = await api().get('/v1/tenant/api-keys').set(org.headers).expect(200);
    expect(list.body).toHaveLength(1);
    expect(JSON.stringify(list.body)).not.toContain(key);

    const tenant = await api().get('/v1/tenant').set('X-Api-Key', key).expect(200);
    expect(tenant.body.id).toBe(org.tenant.id);
    const used = await t.em().findOneOrFail(ApiKey, { id: created.body.id });
    expect(used.lastUsedAt).toBeInstanceOf(Date);
    // Keys cannot mint keys.
    await api()
      .post('/v1/tenant/api-keys')
      .set('X-Api-Key', key)
      .send({ name: 'child' })
      .expect(403);
  });

  it('limits a scoped key to its scopes', async () => {
    const org = await createOrg(t.app);
    const created = await api()
      .post('/v1/tenant/api-keys')
      .set(org.headers)
      .send({ name: 'reader', scopes: ['read:Member'] })
      .expect(201);
    await api().get('/v1/tenant/members').set('X-Api-Key', created.body.key).expect(200);
    await api().get('/v1/tenant').set('X-Api-Key', created.body.key).expect(403);
    const bad = await api()
      .post('/v1/tenant/api-keys')
      .set(org.headers)
      .send({ name: 'x', scopes: ['manage:all'] })
      .expect(400);
    expect(bad.body.code).toBe('validation_failed');
  });

  it('stops working once revoked; another tenant can neither see nor revoke it', async () => {
    const org = await createOrg(t.app);
    const other = await createOrg(t.app);
    const created = await api()
      .post('/v1/tenant/api-keys')
      .set(org.headers)
      .send({ name: 'temp' })
      .expect(201);
    const foreign = await api()
      .delete(`/v1/tenant/api-keys/${created.body.id}`)
      .set(other.headers)
      .expect(404);
    expect(foreign.body.code).toBe('api_key_not_found');
    expect((await api().get('/v1/tenant/api-keys').set(other.headers).expect(200)).body).toEqual(
      [],
    );

    await api().delete(`/v1/tenant/api-keys/${created.body.id}`).set(org.headers).expect(204);
    const res = await api().get('/v1/tenant').set('X-Api-Key', created.body.key).expect(401);
    expect(res.body.code).toBe('invalid_token');
    const log = await api().get('/v1/tenant/audit-log').set(org.headers).expect(200);
    expect(log.body.items.map((e: { action: string }) => e.action)).toEqual([
      'api_key.revoked',
      'api_key.created',
    ]);
  });

  it('ignores X-Tenant-Id pointing elsewhere: a key speaks for its own tenant only', async () => {
    const org = await createOrg(t.app);
    const other = await createOrg(t.app);
    const created = await api()
      .post('/v1/tenant/api-keys')
      .set(org.headers)
      .send({ name: 'k' })
      .expect(201);
    const res = await api()
      .get('/v1/tenant')
      .set({ 'X-Api-Key': created.body.key, 'X-Tenant-Id': other.tenant.slug })
      .expect(404);
    expect(JSON.stringify(res.body)).not.toContain(other.tenant.id);
  });

  it('refuses members and unknown keys', async () => {
    const org = await createOrg(t.app);
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    await api().post('/v1/tenant/api-keys').set(member.headers).send({ name: 'x' }).expect(403);
    await api()
      .get('/v1/tenant')
      .set('X-Api-Key', 'gw_deadbeef_' + 'a'.repeat(43))
      .expect(401);
    await api().get('/v1/tenant').set('X-Api-Key', 'nonsense').expect(401);
  });
});
