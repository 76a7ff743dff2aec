import request from 'supertest';
import { LOGIN_LIMITS } from '../../src/identity/login-throttle.service';
import { createOrg, uniqueEmail } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

/** The unhappy paths of the auth routes not covered elsewhere: bad input, per-address limits. */
describe('auth: bad input and limits', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  it.each([
    ['/v1/auth/login', {}, ['email', 'password']],
    ['/v1/auth/login', { email: 'a@b.c', password: 7 }, ['password']],
    ['/v1/auth/refresh', { refreshToken: 'short' }, ['refreshToken']],
    ['/v1/auth/password/forgot', { email: 'not an email' }, ['email']],
    ['/v1/auth/password/reset', { token: 'x'.repeat(43) }, ['password']],
    ['/v1/auth/invitations/accept', { token: 1 }, ['token']],
    [
      '/v1/auth/signup',
      { email: 'a@b.c' },
      ['password', 'name', 'organizationName', 'organizationSlug'],
    ],
  ])('POST %s with %j answers 400 naming %j', async (path, body, fields) => {
    const res = await api().post(path).send(body).expect(400);
    expect(res.headers['content-type']).toMatch(/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors.map((e: { field: string }) => e.field)).toEqual(
      expect.arrayContaining(fields),
    );
  });

  it('needs a signed-in user to log out, and refuses API keys on user routes', async () => {
    await api().post('/v1/auth/logout').send({}).expect(401);
    const org = await createOrg(t.app);
    const key = await api()
      .post('/v1/tenant/api-keys')
      .set(org.headers)
      .send({ name: 'k' })
      .expect(201);
    const res = await api().get('/v1/auth/me').set('X-Api-Key', key.body.key).expect(403);
    expect(res.body.code).toBe('forbidden');
  });

  it('limits failed sign-ins per client address across accounts (429 with Retry-After)', async () => {
    for (let i = 0; i < LOGIN_LIMITS.ip.points; i++) {
      await api()
        .post('/v1/auth/login')
        .send({ email: uniqueEmail('spray'), password: 'wrong wrong wrong' })
        .expect(401);
    }
    const org = await createOrg(t.app);
    const blocked = await api()
      .post('/v1/auth/login')
      .send({ email: org.user.email, password: 'wrong wrong wrong' })
      .expect(429);
    expect(blocked.body.code).toBe('too_many_attempts');
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('refuses to resend an invitation that was revoked', async () => {
    const org = await createOrg(t.app);
    const created = await api()
      .post('/v1/tenant/invitations')
      .set(org.headers)
      .send({ email: uniqueEmail(), role: 'member' })
      .expect(201);
    await api().delete(`/v1/tenant/invitations/${created.body.id}`).set(org.headers).expect(204);
    const res = await api()
      .post(`/v1/tenant/invitations/${created.body.id}/resend`)
      .set(org.headers)
      .expect(409);
    expect(res.body.code).toBe('invitation_closed');
  });
});
