import request from 'supertest';
import { TenantRole } from '../../src/access/roles';
import { User } from '../../src/identity/entities/user.entity';
import { OutboxMessage } from '../../src/notifications/entities/outbox-message.entity';
import { Membership } from '../../src/tenancy/entities/membership.entity';
import { createOrg, createUser, TEST_PASSWORD, uniqueEmail } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

const NEW_PASSWORD = 'an entirely new passphrase 7';

/** The token in the last mail sent to `to` with `template`, read from the outbox (no SMTP in tests). */
async function tokenFromMail(t: TestApp, to: string, template: string): Promise<string> {
  const [message] = await t
    .em()
    .find(
      OutboxMessage,
      { to, template },
      { orderBy: { createdAt: 'desc', id: 'desc' }, limit: 1 },
    );
  expect(message).toBeDefined();
  const token = /token=([A-Za-z0-9_-]{43})/.exec(message.text)?.[1];
  expect(token).toBeDefined();
  return token!;
}

describe('invitations', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  it('invites a new person by email; they accept with a new account and join with the role', async () => {
    const org = await createOrg(t.app);
    const email = uniqueEmail('invitee');
    const created = await api()
      .post('/v1/tenant/invitations')
      .set(org.headers)
      .send({ email: email.toUpperCase(), role: 'admin' })
      .expect(201);
    expect(created.body).toMatchObject({
      email,
      role: 'admin',
      status: 'pending',
      invitedBy: org.user.id,
    });
    const token = await tokenFromMail(t, email, 'tenant.invitation');

    const missing = await api().post('/v1/auth/invitations/accept').send({ token }).expect(422);
    expect(missing.body.errors.map((e: { field: string }) => e.field)).toEqual([
      'name',
      'password',
    ]);
    const accepted = await api()
      .post('/v1/auth/invitations/accept')
      .send({ token, name: 'New Admin', password: NEW_PASSWORD })
      .expect(200);
    expect(accepted.body.tenantId).toBe(org.tenant.id);
    const members = await api()
      .get('/v1/tenant/members')
      .set('Authorization', `Bearer ${accepted.body.accessToken}`)
      .expect(200);
    expect(members.body.find((m: { email: string }) => m.email === email).role).toBe('admin');
    const user = await t.em().findOneOrFail(User, { email });
    expect(user.emailVerifiedAt).toBeInstanceOf(Date);

    // Single use.
    const again = await api()
      .post('/v1/auth/invitations/accept')
      .send({ token, name: 'X', password: NEW_PASSWORD })
      .expect(410);
    expect(again.body.code).toBe('invitation_invalid');
    const log = await api().get('/v1/tenant/audit-log').set(org.headers).expect(200);
    expect(log.body.items.map((e: { action: string }) => e.action)).toEqual(
      expect.arrayContaining(['invitation.created', 'member.joined']),
    );
  });

  it('an existing account must be signed in as the invited address to accept', async () => {
    const org = await createOrg(t.app);
    const invitee = await createUser(t.app);
    const stranger = await createUser(t.app);
    await api()
      .post('/v1/tenant/invitations')
      .set(org.headers)
      .send({ email: invitee.user.email, role: 'member' })
      .expect(201);
    const token = await tokenFromMail(t, invitee.user.email, 'tenant.invitation');

    expect(
      (await api().post('/v1/auth/invitations/accept').send({ token }).expect(401)).body.code,
    ).toBe('unauthenticated');
    const other = await api()
      .post('/v1/auth/invitations/accept')
      .set('Authorization', `Bearer ${stranger.token}`)
      .send({ token })
      .expect(403);
    expect(other.body.code).toBe('invitation_for_another_user');
    await api()
      .post('/v1/auth/invitations/accept')
      .set('Authorization', `Bearer ${invitee.token}`)
      .send({ token })
      .expect(200);
    expect(
      await t.em().count(Membership, { tenantId: org.tenant.id, userId: invitee.user.id }),
    ).toBe(1);
  });

  it('resends with a new link, revokes, and refuses duplicates, members and owner invitations by admins', async () => {
    const org = await createOrg(t.app);
    const email = uniqueEmail('twice');
    const created = await api()
      .post('/v1/tenant/invitations')
      .set(org.headers)
      .send({ email, role: 'member' })
      .expect(201);
    const first = await tokenFromMail(t, email, 'tenant.invitation');
    const dup = await api()
      .post('/v1/tenant/invitations')
      .set(org.headers)
      .send({ email, role: 'member' })
      .expect(409);
    expect(dup.body.code).toBe('invitation_pending');

    await api()
      .post(`/v1/tenant/invitations/${created.body.id}/resend`)
      .set(org.headers)
      .expect(200);
    const second = await tokenFromMail(t, email, 'tenant.invitation');
    expect(second).not.toBe(first);
    await api()
      .post('/v1/auth/invitations/accept')
      .send({ token: first, name: 'X', password: NEW_PASSWORD })
      .expect(410);

    await api().delete(`/v1/tenant/invitations/${created.body.id}`).set(org.headers).expect(204);
    await api()
      .post('/v1/auth/invitations/accept')
      .send({ token: second, name: 'X', password: NEW_PASSWORD })
      .expect(410);
    const list = await api().get('/v1/tenant/invitations').set(org.headers).expect(200);
    expect(list.body[0]).toMatchObject({ id: created.body.id, status: 'revoked' });

    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    const already = await api()
      .post('/v1/tenant/invitations')
      .set(org.headers)
      .send({ email: member.user.email, role: 'member' })
      .expect(409);
    expect(already.body.code).toBe('already_member');
    await api()
      .post('/v1/tenant/invitations')
      .set(member.headers)
      .send({ email: uniqueEmail(), role: 'member' })
      .expect(403);
    const admin = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Admin });
    await api()
      .post('/v1/tenant/invitations')
      .set(admin.headers)
      .send({ email: uniqueEmail(), role: 'owner' })
      .expect(403);
    const bad = await api()
      .post('/v1/tenant/invitations')
      .set(org.headers)
      .send({ email: 'nope', role: 'king' })
      .expect(400);
    expect(bad.body.errors.map((e: { field: string }) => e.field).sort()).toEqual([
      'email',
      'role',
    ]);

    const other = await createOrg(t.app);
    await api().delete(`/v1/tenant/invitations/${created.body.id}`).set(other.headers).expect(404);
  });
});

describe('email verification and password reset', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  it('sends a verification mail at sign-up and verifies with its single-use token', async () => {
    const email = uniqueEmail('verify');
    await api()
      .post('/v1/auth/signup')
      .send({
        email,
        password: NEW_PASSWORD,
        name: 'Vera',
        organizationName: 'Verify Co',
        organizationSlug: `v-${Date.now()}`,
      })
      .expect(201);
    const token = await tokenFromMail(t, email, 'auth.verify_email');
    await api().post('/v1/auth/verify-email').send({ token }).expect(204);
    expect((await t.em().findOneOrFail(User, { email })).emailVerifiedAt).toBeInstanceOf(Date);
    expect((await api().post('/v1/auth/verify-email').send({ token }).expect(401)).body.code).toBe(
      'invalid_token',
    );
    await api()
      .post('/v1/auth/verify-email')
      .send({ token: 'x'.repeat(43) })
      .expect(401);
    await api().post('/v1/auth/verify-email').send({}).expect(400);
  });

  it('resets a password with the mailed token, ends every session, and says nothing about unknown addresses', async () => {
    const org = await createOrg(t.app);
    const unknown = await api()
      .post('/v1/auth/password/forgot')
      .send({ email: uniqueEmail('nobody') })
      .expect(202);
    const known = await api()
      .post('/v1/auth/password/forgot')
      .send({ email: org.user.email })
      .expect(202);
    expect(known.body).toEqual(unknown.body);

    const token = await tokenFromMail(t, org.user.email, 'auth.reset_password');
    const weak = await api()
      .post('/v1/auth/password/reset')
      .send({ token, password: 'password' })
      .expect(422);
    expect(weak.body.code).toBe('weak_password');
    await api().post('/v1/auth/password/reset').send({ token, password: NEW_PASSWORD }).expect(204);
    // Every session ended: the old access token is refused as well.
    await api().get('/v1/tenant').set(org.headers).expect(401);

    await api().post('/v1/auth/refresh').send({ refreshToken: org.refreshToken }).expect(401);
    await api()
      .post('/v1/auth/login')
      .send({ email: org.user.email, password: TEST_PASSWORD })
      .expect(401);
    await api()
      .post('/v1/auth/login')
      .send({ email: org.user.email, password: NEW_PASSWORD })
      .expect(200);
    await api()
      .post('/v1/auth/password/reset')
      .send({ token, password: 'yet another long passphrase' })
      .expect(401);
  });
});
