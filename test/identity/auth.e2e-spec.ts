import { JwtService } from '@nestjs/jwt';
import request from 'supertest';
import { TenantRole } from '../../src/access/roles';
import { User } from '../../src/identity/entities/user.entity';
import { Membership } from '../../src/tenancy/entities/membership.entity';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { MembershipService } from '../../src/tenancy/members/membership.service';
import {
  createOrg,
  createUser,
  TEST_PASSWORD,
  uniqueEmail,
  uniqueSlug,
} from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

const PASSWORD = 'a long enough passphrase 2026';

describe('auth', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const signup = (overrides: Record<string, unknown> = {}) =>
    request(t.server)
      .post('/v1/auth/signup')
      .send({
        email: uniqueEmail('founder'),
        password: PASSWORD,
        name: 'Ada Founder',
        organizationName: 'Founders Inc',
        organizationSlug: uniqueSlug('founders'),
        ...overrides,
      });

  describe('POST /v1/auth/signup', () => {
    it('creates the user, provisions the organisation with the caller as owner, and returns tokens', async () => {
      const email = uniqueEmail('Mixed.Case');
      const slug = uniqueSlug('acme');
      const res = await signup({
        email: `  ${email.toUpperCase()} `,
        organizationSlug: slug,
      }).expect(201);
      expect(res.body).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
      expect(typeof res.body.accessToken).toBe('string');
      expect(typeof res.body.refreshToken).toBe('string');

      const tenant = await t.em().findOneOrFail(Tenant, { slug });
      expect(res.body.tenantId).toBe(tenant.id);
      const user = await t
        .em()
        .findOneOrFail(User, { email: email.toLowerCase() }, { populate: ['passwordHash'] });
      expect(user.passwordHash).toMatch(/^\$argon2id\$/);
      const membership = await t
        .em()
        .findOneOrFail(Membership, { tenantId: tenant.id, userId: user.id });
      expect(membership.role).toBe(TenantRole.Owner);

      const me = await request(t.server)
        .get('/v1/tenant')
        .set('Authorization', `Bearer ${res.body.accessToken}`)
        .expect(200);
      expect(me.body.slug).toBe(slug);
      const log = await request(t.server)
        .get('/v1/tenant/audit-log')
        .set('Authorization', `Bearer ${res.body.accessToken}`)
        .expect(200);
      expect(log.body.items[0]).toMatchObject({
        action: 'tenant.created',
        actorType: 'user',
        actorId: user.id,
      });
    });

    it('refuses an email already registered, whatever its case (409), and creates no organisation', async () => {
      const email = uniqueEmail('dup');
      await signup({ email }).expect(201);
      const slug = uniqueSlug('second');
      const res = await signup({ email: email.toUpperCase(), organizationSlug: slug }).expect(409);
      expect(res.body.code).toBe('email_taken');
      expect(await t.em().count(Tenant, { slug })).toBe(0);
    });

    it.each([
      ['too short', 'short pw 1', /at least 12/],
      ['a common password', 'password1234', /most common/],
      [
        'the email address',
        'FOUNDER-PASSWORD-CHECK@example.com'.toLowerCase(),
        /email address or name/,
      ],
    ])('refuses a password that is %s (422 weak_password)', async (_label, password, message) => {
      const res = await signup({ password, email: 'founder-password-check@example.com' }).expect(
        422,
      );
      expect(res.body.code).toBe('weak_password');
      expect(res.body.detail).toMatch(message);
      expect(res.headers['content-type']).toMatch(/problem\+json/);
    });

    it('refuses bad input with a 400 naming the fields, and a taken slug with 409', async () => {
      const bad = await signup({
        email: 'not-an-email',
        organizationSlug: 'No Way',
        extra: 1,
      }).expect(400);
      expect(bad.body.code).toBe('validation_failed');
      expect(bad.body.errors.map((e: { field: string }) => e.field)).toEqual(
        expect.arrayContaining(['email', 'organizationSlug', 'extra']),
      );
      const org = await createOrg(t.app);
      const taken = await signup({ organizationSlug: org.tenant.slug }).expect(409);
      expect(taken.body.code).toBe('tenant_slug_taken');
    });
  });

  describe('POST /v1/auth/login', () => {
    it('signs in with the right password and gives the same answer for a wrong password or unknown email', async () => {
      const org = await createOrg(t.app);
      const ok = await request(t.server)
        .post('/v1/auth/login')
        .send({ email: org.user.email, password: TEST_PASSWORD })
        .expect(200);
      expect(ok.body.tenantId).toBe(org.tenant.id);
      await request(t.server)
        .get('/v1/tenant')
        .set('Authorization', `Bearer ${ok.body.accessToken}`)
        .expect(200);

      const wrong = await request(t.server)
        .post('/v1/auth/login')
        .send({ email: org.user.email, password: 'not the password!' })
        .expect(401);
      const unknown = await request(t.server)
        .post('/v1/auth/login')
        .send({ email: uniqueEmail('ghost'), password: 'not the password!' })
        .expect(401);
      expect({ code: wrong.body.code, detail: wrong.body.detail }).toEqual({
        code: unknown.body.code,
        detail: unknown.body.detail,
      });
      expect(wrong.body.code).toBe('invalid_credentials');
    });

    it('locks an account out with 429 and Retry-After after repeated failures, even for the right password', async () => {
      const org = await createOrg(t.app);
      for (let i = 0; i < 10; i++) {
        await request(t.server)
          .post('/v1/auth/login')
          .send({ email: org.user.email, password: `wrong password ${i}` })
          .expect(401);
      }
      const blocked = await request(t.server)
        .post('/v1/auth/login')
        .send({ email: org.user.email, password: TEST_PASSWORD })
        .expect(429);
      expect(blocked.body.code).toBe('too_many_attempts');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      // Another account from the same address is not locked out by it.
      const other = await createOrg(t.app);
      await request(t.server)
        .post('/v1/auth/login')
        .send({ email: other.user.email, password: TEST_PASSWORD })
        .expect(200);
    });
  });

  describe('tokens', () => {
    it('rotates refresh tokens, and a reused one ends the whole session', async () => {
      const org = await createOrg(t.app);
      const first = await request(t.server)
        .post('/v1/auth/refresh')
        .send({ refreshToken: org.refreshToken })
        .expect(200);
      expect(first.body.refreshToken).not.toBe(org.refreshToken);
      const second = await request(t.server)
        .post('/v1/auth/refresh')
        .send({ refreshToken: first.body.refreshToken })
        .expect(200);

      // The first token again: theft suspected, the family is revoked.
      const reuse = await request(t.server)
        .post('/v1/auth/refresh')
        .send({ refreshToken: org.refreshToken })
        .expect(401);
      expect(reuse.body.code).toBe('refresh_token_reused');
      const after = await request(t.server)
        .post('/v1/auth/refresh')
        .send({ refreshToken: second.body.refreshToken })
        .expect(401);
      expect(after.body.code).toBe('invalid_token');
    });

    it('ends the session on logout', async () => {
      const org = await createOrg(t.app);
      await request(t.server)
        .post('/v1/auth/logout')
        .set('Authorization', `Bearer ${org.token}`)
        .send({})
        .expect(204);
      const res = await request(t.server)
        .post('/v1/auth/refresh')
        .send({ refreshToken: org.refreshToken })
        .expect(401);
      expect(res.body.code).toBe('invalid_token');
      // The access token of the ended session stops working too, before it expires.
      const after = await request(t.server).get('/v1/tenant').set(org.headers).expect(401);
      expect(after.body.code).toBe('invalid_token');
    });

    it('refuses expired, forged and unsigned access tokens with 401', async () => {
      const org = await createOrg(t.app);
      const jwt = t.app.get(JwtService);
      const expired = jwt.sign(
        { sub: org.user.id, sid: 'x', tid: org.tenant.id },
        { expiresIn: -10 },
      );
      const res = await request(t.server)
        .get('/v1/tenant')
        .set('Authorization', `Bearer ${expired}`)
        .expect(401);
      expect(res.body.code).toBe('token_expired');

      const forged = new JwtService({ secret: 'another secret that is long enough!!' }).sign(
        { sub: org.user.id, sid: 'x', tid: org.tenant.id },
        { issuer: 'groundwork', audience: 'groundwork-api' },
      );
      expect(
        (await request(t.server).get('/v1/tenant').set('Authorization', `Bearer ${forged}`)).body
          .code,
      ).toBe('invalid_token');

      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      const payload = Buffer.from(
        JSON.stringify({
          sub: org.user.id,
          sid: 'x',
          tid: org.tenant.id,
          iss: 'groundwork',
          aud: 'groundwork-api',
          exp: 9_999_999_999,
        }),
      ).toString('base64url');
      const unsigned = await request(t.server)
        .get('/v1/tenant')
        .set('Authorization', `Bearer ${header}.${payload}.`)
        .expect(401);
      expect(unsigned.body.code).toBe('invalid_token');
    });
  });

  describe('POST /v1/auth/switch-tenant and GET /v1/auth/me', () => {
    it('moves a member of two organisations to the other one, and refuses one they do not belong to', async () => {
      const a = await createOrg(t.app);
      const b = await createOrg(t.app);
      const em = t.em();
      t.app.get(MembershipService).add(em, b.tenant.id, a.user.id, TenantRole.Member);
      await em.flush();

      const me = await request(t.server)
        .get('/v1/auth/me')
        .set('Authorization', `Bearer ${a.token}`)
        .expect(200);
      expect(me.body.memberships.map((m: { tenantId: string }) => m.tenantId).sort()).toEqual(
        [a.tenant.id, b.tenant.id].sort(),
      );
      expect(me.body.currentTenantId).toBe(a.tenant.id);

      const switched = await request(t.server)
        .post('/v1/auth/switch-tenant')
        .set('Authorization', `Bearer ${a.token}`)
        .send({ tenant: b.tenant.slug })
        .expect(200);
      expect(switched.body.tenantId).toBe(b.tenant.id);
      const current = await request(t.server)
        .get('/v1/tenant')
        .set('Authorization', `Bearer ${switched.body.accessToken}`)
        .expect(200);
      expect(current.body.id).toBe(b.tenant.id);
      // The previous session ended.
      await request(t.server)
        .post('/v1/auth/refresh')
        .send({ refreshToken: a.refreshToken })
        .expect(401);

      const outsider = await createUser(t.app);
      const refused = await request(t.server)
        .post('/v1/auth/switch-tenant')
        .set('Authorization', `Bearer ${outsider.token}`)
        .send({ tenant: b.tenant.id })
        .expect(403);
      expect(refused.body.code).toBe('not_a_member');
    });

    it('needs a signed-in user', async () => {
      const res = await request(t.server).get('/v1/auth/me').expect(401);
      expect(res.body.code).toBe('unauthenticated');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      await request(t.server).post('/v1/auth/switch-tenant').send({ tenant: 'x' }).expect(401);
    });
  });
});
