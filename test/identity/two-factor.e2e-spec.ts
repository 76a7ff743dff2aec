import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { Clock, ManualClock } from '../../src/common/clock';
import { LoginChallenge } from '../../src/identity/entities/login-challenge.entity';
import { RecoveryCode } from '../../src/identity/entities/recovery-code.entity';
import { RefreshToken } from '../../src/identity/entities/refresh-token.entity';
import { TwoFactor } from '../../src/identity/entities/two-factor.entity';
import { tokenHash } from '../../src/identity/secret-token';
import { totpCodeAt } from '../../src/identity/totp';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { MembershipService } from '../../src/tenancy/members/membership.service';
import { Actor, createOrg, createUser, Org, TEST_PASSWORD } from '../support/factories';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const STEP = 30_000;

/**
 * TOTP two-factor authentication with real codes (otpauth, from the secret
 * the API hands out), time driven by the injectable clock.
 */
describe('two-factor authentication', () => {
  let t: TestApp;
  // At the start of a 30-second step, so "previous" and "next" steps are exact.
  const clock = new ManualClock(new Date(Math.floor(Date.now() / STEP) * STEP));

  beforeAll(async () => {
    t = await bootTestApp({ override: (b) => b.overrideProvider(Clock).useValue(clock) });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  /** The code an authenticator shows `steps` steps from the clock's now. */
  const code = (secret: string, steps = 0) =>
    totpCodeAt(secret, clock.now().getTime() + steps * STEP);
  /** A new step: the previous code has been used, the next one is fresh. */
  const tick = () => clock.advance(STEP);

  async function enrol(actor: Actor): Promise<{ secret: string; recoveryCodes: string[] }> {
    const setup = await api()
      .post('/v1/auth/2fa/setup')
      .set(actor.headers)
      .send({ password: TEST_PASSWORD })
      .expect(200);
    const confirmed = await api()
      .post('/v1/auth/2fa/confirm')
      .set(actor.headers)
      .send({ code: code(setup.body.secret) })
      .expect(200);
    tick();
    return { secret: setup.body.secret, recoveryCodes: confirmed.body.recoveryCodes };
  }

  async function challengeFor(actor: Actor): Promise<string> {
    const res = await api()
      .post('/v1/auth/login')
      .send({ email: actor.user.email, password: TEST_PASSWORD })
      .expect(200);
    expect(res.body).toMatchObject({ twoFactorRequired: true, expiresIn: 300 });
    expect(res.body.accessToken).toBeUndefined();
    expect(res.body.refreshToken).toBeUndefined();
    return res.body.challenge as string;
  }

  const secondStep = (challenge: string, proof: Record<string, string>) =>
    api()
      .post('/v1/auth/login/2fa')
      .send({ challenge, ...proof });

  const sessions = (userId: string) => t.em().count(RefreshToken, { userId });

  describe('enrolment and sign-in', () => {
    it('sets up, confirms with a first code, then signs in in two steps with real codes', async () => {
      const org = await createOrg(t.app);
      const off = await api().get('/v1/auth/2fa').set(org.headers).expect(200);
      expect(off.body).toEqual({
        enabled: false,
        pending: false,
        enabledAt: null,
        recoveryCodesRemaining: 0,
      });

      expectProblem(
        await api()
          .post('/v1/auth/2fa/setup')
          .set(org.headers)
          .send({ password: 'not the password at all' }),
        401,
        'invalid_credentials',
      );
      const setup = await api()
        .post('/v1/auth/2fa/setup')
        .set(org.headers)
        .send({ password: TEST_PASSWORD })
        .expect(200);
      const { secret, otpauthUri } = setup.body as { secret: string; otpauthUri: string };
      expect(secret).toMatch(/^[A-Z2-7]{32}$/);
      const uri = new URL(otpauthUri);
      expect(uri.protocol).toBe('otpauth:');
      expect(decodeURIComponent(uri.pathname)).toContain(org.user.email);
      expect(uri.searchParams.get('secret')).toBe(secret);
      expect(setup.body).toMatchObject({ algorithm: 'SHA1', digits: 6, period: 30 });
      expect((await api().get('/v1/auth/2fa').set(org.headers).expect(200)).body).toMatchObject({
        enabled: false,
        pending: true,
      });
      // Pending: sign-in still takes the password alone.
      await api()
        .post('/v1/auth/login')
        .send({ email: org.user.email, password: TEST_PASSWORD })
        .expect(200)
        .expect((res) => expect(typeof res.body.accessToken).toBe('string'));

      const wrong = String((Number(code(secret)) + 1) % 1_000_000).padStart(6, '0');
      expectProblem(
        await api().post('/v1/auth/2fa/confirm').set(org.headers).send({ code: wrong }),
        401,
        'two_factor_code_invalid',
      );
      // Nothing half-written: still pending, no recovery codes.
      expect(await t.em().count(RecoveryCode, { userId: org.user.id })).toBe(0);
      expect((await t.em().findOneOrFail(TwoFactor, { userId: org.user.id })).enabledAt).toBeNull();
      const confirmed = await api()
        .post('/v1/auth/2fa/confirm')
        .set(org.headers)
        .send({ code: code(secret) })
        .expect(200);
      const recoveryCodes = confirmed.body.recoveryCodes as string[];
      expect(recoveryCodes).toHaveLength(10);
      expect(new Set(recoveryCodes).size).toBe(10);
      const on = await api().get('/v1/auth/2fa').set(org.headers).expect(200);
      expect(on.body).toMatchObject({ enabled: true, pending: false, recoveryCodesRemaining: 10 });
      const me = await api().get('/v1/auth/me').set(org.headers).expect(200);
      expect(me.body.twoFactorEnabled).toBe(true);

      const before = await sessions(org.user.id);
      const challenge = await challengeFor(org);
      expect(await sessions(org.user.id)).toBe(before);
      tick();
      const tokens = await secondStep(challenge, { code: code(secret) }).expect(200);
      expect(tokens.body).toMatchObject({ tokenType: 'Bearer', tenantId: org.tenant.id });
      await api()
        .get('/v1/tenant')
        .set('Authorization', `Bearer ${tokens.body.accessToken}`)
        .expect(200);
      // Refresh tokens keep working: the session passed its second factor.
      const refreshed = await api()
        .post('/v1/auth/refresh')
        .send({ refreshToken: tokens.body.refreshToken })
        .expect(200);
      expect(typeof refreshed.body.accessToken).toBe('string');
    });

    it('refuses setup while on, confirm without setup, and idempotency keys on secret-bearing answers', async () => {
      const org = await createOrg(t.app);
      expectProblem(
        await api().post('/v1/auth/2fa/confirm').set(org.headers).send({ code: '123456' }),
        409,
        'two_factor_not_pending',
      );
      expectProblem(
        await api().post('/v1/auth/2fa/recovery-codes').set(org.headers).send({ code: '123456' }),
        409,
        'two_factor_not_enabled',
      );
      expectProblem(
        await api()
          .post('/v1/auth/2fa/setup')
          .set(org.headers)
          .set('Idempotency-Key', 'setup-1')
          .send({ password: TEST_PASSWORD }),
        400,
        'idempotency_key_unsupported',
      );
      await enrol(org);
      expectProblem(
        await api().post('/v1/auth/2fa/setup').set(org.headers).send({ password: TEST_PASSWORD }),
        409,
        'two_factor_already_enabled',
      );
      expectProblem(
        await api().post('/v1/auth/2fa/confirm').set(org.headers).send({ code: 'abcdef' }),
        400,
        'validation_failed',
      );
    });

    it('refuses a replayed code, and an older code of the window once a newer was used', async () => {
      const org = await createOrg(t.app);
      const { secret } = await enrol(org);
      const used = code(secret);
      await secondStep(await challengeFor(org), { code: used }).expect(200);

      const challenge = await challengeFor(org);
      expectProblem(await secondStep(challenge, { code: used }), 401, 'two_factor_code_used');
      // The previous step's code is inside the window, but older than the one used.
      expectProblem(
        await secondStep(challenge, { code: code(secret, -1) }),
        401,
        'two_factor_code_used',
      );
      // The same challenge still works (two tries of five) with a fresh code.
      tick();
      await secondStep(challenge, { code: code(secret) }).expect(200);
    });

    it('accepts a code one step either side of now (drift), not two', async () => {
      const org = await createOrg(t.app);
      const { secret } = await enrol(org);
      clock.advance(3 * STEP);
      // Two steps back: outside the window.
      expectProblem(
        await secondStep(await challengeFor(org), { code: code(secret, -2) }),
        401,
        'two_factor_code_invalid',
      );
      // The last millisecond of a step still takes the previous step's code.
      clock.advance(STEP - 1);
      await secondStep(await challengeFor(org), { code: code(secret, -1) }).expect(200);
      clock.advance(1);
      // The phone runs a step ahead: accepted, and now the newest used.
      await secondStep(await challengeFor(org), { code: code(secret, 1) }).expect(200);
      expectProblem(
        await secondStep(await challengeFor(org), { code: code(secret) }),
        401,
        'two_factor_code_used',
      );
      expectProblem(
        await secondStep(await challengeFor(org), { code: code(secret, 2) }),
        401,
        'two_factor_code_invalid',
      );
    });
  });

  describe('challenges', () => {
    let org: Org;
    let secret: string;

    beforeAll(async () => {
      org = await createOrg(t.app);
      ({ secret } = await enrol(org));
    });

    it('expires after five minutes, issuing nothing', async () => {
      const challenge = await challengeFor(org);
      const before = await sessions(org.user.id);
      clock.advance(5 * 60_000);
      tick();
      expectProblem(
        await secondStep(challenge, { code: code(secret) }),
        401,
        'two_factor_challenge_expired',
      );
      expect(await sessions(org.user.id)).toBe(before);
      const row = await t.em().findOneOrFail(TwoFactor, { userId: org.user.id });
      // The code was not spent either: it still signs in.
      await secondStep(await challengeFor(org), { code: code(secret) }).expect(200);
      expect(row.lastUsedStep).toBeLessThan(Math.floor(clock.now().getTime() / STEP));
    });

    it('works once, and an unknown challenge is refused alike', async () => {
      tick();
      const challenge = await challengeFor(org);
      await secondStep(challenge, { code: code(secret) }).expect(200);
      tick();
      expectProblem(
        await secondStep(challenge, { code: code(secret) }),
        401,
        'two_factor_challenge_invalid',
      );
      expectProblem(
        await secondStep('x'.repeat(43), { code: code(secret) }),
        401,
        'two_factor_challenge_invalid',
      );
      const stored = await t.em().find(LoginChallenge, { userId: org.user.id });
      expect(stored.map((c) => c.tokenHash)).not.toContain(challenge);
    });

    it('changes nothing on a wrong code: no session, no code spent, the step not used', async () => {
      tick();
      const before = await sessions(org.user.id);
      const state = await t.em().findOneOrFail(TwoFactor, { userId: org.user.id });
      const challenge = await challengeFor(org);
      const wrong = String((Number(code(secret)) + 1) % 1_000_000).padStart(6, '0');
      expectProblem(await secondStep(challenge, { code: wrong }), 401, 'two_factor_code_invalid');
      expectProblem(
        await secondStep(challenge, { recoveryCode: 'aaaa-bbbb-cccc-dddd' }),
        401,
        'two_factor_code_invalid',
      );
      expect(await sessions(org.user.id)).toBe(before);
      const after = await t.em().findOneOrFail(TwoFactor, { userId: org.user.id });
      expect(after.lastUsedStep).toBe(state.lastUsedStep);
      expect(await t.em().count(RecoveryCode, { userId: org.user.id, usedAt: null })).toBe(10);
      const row = await t.em().findOneOrFail(LoginChallenge, { tokenHash: tokenHash(challenge) });
      expect(row.attempts).toBe(2);
      await secondStep(challenge, { code: code(secret) }).expect(200);
    });

    it('needs exactly one of code and recovery code', async () => {
      const challenge = await challengeFor(org);
      expectProblem(await secondStep(challenge, {}), 400, 'validation_failed');
      expectProblem(
        await secondStep(challenge, { code: code(secret), recoveryCode: 'aaaa-bbbb-cccc-dddd' }),
        400,
        'validation_failed',
      );
      expectProblem(
        await api()
          .post('/v1/auth/login/2fa')
          .send({ code: code(secret) }),
        400,
        'validation_failed',
      );
    });

    it('burns a challenge after five wrong codes, then throttles the account with 429', async () => {
      const victim = await createOrg(t.app);
      const factor = await enrol(victim);
      const wrong = String((Number(code(factor.secret)) + 500_000) % 1_000_000).padStart(6, '0');
      const first = await challengeFor(victim);
      for (let i = 0; i < 5; i++)
        expectProblem(await secondStep(first, { code: wrong }), 401, 'two_factor_code_invalid');
      expectProblem(
        await secondStep(first, { code: code(factor.secret) }),
        401,
        'two_factor_challenge_invalid',
      );
      const second = await challengeFor(victim);
      for (let i = 0; i < 4; i++)
        expectProblem(await secondStep(second, { code: wrong }), 401, 'two_factor_code_invalid');
      // Ten failures (the invalid challenge counted too): even the right code waits.
      const blocked = await secondStep(second, { code: code(factor.secret) });
      expectProblem(blocked, 429, 'too_many_attempts');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
      // Other accounts are not held.
      tick();
      await secondStep(await challengeFor(org), { code: code(secret) }).expect(200);
    });
  });

  describe('recovery codes', () => {
    it('sign in once each, in any case or spacing; spent ones and unknown ones are refused', async () => {
      const org = await createOrg(t.app);
      const { recoveryCodes } = await enrol(org);
      const [first, second] = recoveryCodes;
      await secondStep(await challengeFor(org), { recoveryCode: first }).expect(200);
      expectProblem(
        await secondStep(await challengeFor(org), { recoveryCode: first }),
        401,
        'two_factor_code_invalid',
      );
      await secondStep(await challengeFor(org), {
        recoveryCode: second.toUpperCase().replace(/-/g, ' '),
      }).expect(200);
      const status = await api().get('/v1/auth/2fa').set(org.headers).expect(200);
      expect(status.body.recoveryCodesRemaining).toBe(8);
      expect(await t.em().count(RecoveryCode, { userId: org.user.id, usedAt: null })).toBe(8);
    });

    it('run out after ten; regenerating (with a code) replaces them all', async () => {
      const org = await createOrg(t.app);
      const { secret, recoveryCodes } = await enrol(org);
      for (const recoveryCode of recoveryCodes)
        await secondStep(await challengeFor(org), { recoveryCode }).expect(200);
      expect((await api().get('/v1/auth/2fa').set(org.headers)).body.recoveryCodesRemaining).toBe(
        0,
      );
      expectProblem(
        await api().post('/v1/auth/2fa/recovery-codes').set(org.headers).send({ code: '000000' }),
        401,
        'two_factor_code_invalid',
      );
      const renewed = await api()
        .post('/v1/auth/2fa/recovery-codes')
        .set(org.headers)
        .send({ code: code(secret) })
        .expect(200);
      const fresh = renewed.body.recoveryCodes as string[];
      expect(fresh).toHaveLength(10);
      expect(fresh.some((c) => recoveryCodes.includes(c))).toBe(false);
      expect(await t.em().count(RecoveryCode, { userId: org.user.id })).toBe(10);
      await secondStep(await challengeFor(org), { recoveryCode: fresh[0] }).expect(200);
    });
  });

  describe('disabling', () => {
    it('takes the password or a code, exactly one; then sign-in is the password again', async () => {
      const org = await createOrg(t.app);
      await enrol(org);
      expectProblem(
        await api().post('/v1/auth/2fa/disable').set(org.headers).send({}),
        400,
        'validation_failed',
      );
      expectProblem(
        await api()
          .post('/v1/auth/2fa/disable')
          .set(org.headers)
          .send({ password: 'not the password at all' }),
        401,
        'invalid_credentials',
      );
      expect(await t.em().count(TwoFactor, { userId: org.user.id })).toBe(1);
      await api()
        .post('/v1/auth/2fa/disable')
        .set(org.headers)
        .send({ password: TEST_PASSWORD })
        .expect(204);
      expect(await t.em().count(TwoFactor, { userId: org.user.id })).toBe(0);
      expect(await t.em().count(RecoveryCode, { userId: org.user.id })).toBe(0);
      const login = await api()
        .post('/v1/auth/login')
        .send({ email: org.user.email, password: TEST_PASSWORD })
        .expect(200);
      expect(typeof login.body.accessToken).toBe('string');
      expectProblem(
        await api().post('/v1/auth/2fa/disable').set(org.headers).send({ password: TEST_PASSWORD }),
        409,
        'two_factor_not_enabled',
      );
    });

    it('with an authenticator code or a recovery code', async () => {
      const a = await createOrg(t.app);
      const { secret } = await enrol(a);
      await api()
        .post('/v1/auth/2fa/disable')
        .set(a.headers)
        .send({ code: code(secret) })
        .expect(204);
      const b = await createOrg(t.app);
      const { recoveryCodes } = await enrol(b);
      await api()
        .post('/v1/auth/2fa/disable')
        .set(b.headers)
        .send({ recoveryCode: recoveryCodes[3] })
        .expect(204);
      expect((await api().get('/v1/auth/me').set(b.headers)).body.twoFactorEnabled).toBe(false);
    });
  });

  describe('organisation requirement', () => {
    async function join(actor: Actor, tenant: Tenant, role: TenantRole): Promise<void> {
      const em = t.em();
      t.app.get(MembershipService).add(em, tenant.id, actor.user.id, role);
      await em.flush();
    }
    const policy = (actor: Actor, required: boolean) =>
      api().put('/v1/tenant/two-factor-policy').set(actor.headers).send({ required });

    it('blocks members without it on that organisation’s routes only, until they enrol', async () => {
      const org = await createOrg(t.app);
      const admin = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Admin });
      const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });

      // The owner must have it first (or would be locked out), and admins may not decide.
      expectProblem(await policy(org, true), 409, 'two_factor_not_enabled');
      expectProblem(await policy(admin, true), 403, 'forbidden');
      expect((await t.em().findOneOrFail(Tenant, { id: org.tenant.id })).requireTwoFactor).toBe(
        false,
      );
      await enrol(org);
      const set = await policy(org, true).expect(200);
      expect(set.body).toMatchObject({ id: org.tenant.id, requireTwoFactor: true });
      expect(
        (await api().get('/v1/tenant').set(org.headers).expect(200)).body.requireTwoFactor,
      ).toBe(true);
      const log = await api()
        .get('/v1/tenant/audit-log')
        .query({ action: 'tenant.two_factor_policy_changed' })
        .set(org.headers)
        .expect(200);
      expect(log.body.items).toHaveLength(1);
      expect(log.body.items[0]).toMatchObject({
        actorType: 'user',
        actorId: org.user.id,
        data: { before: { required: false }, after: { required: true } },
      });

      const blocked = expectProblem(
        await api().get('/v1/tenant').set(member.headers),
        403,
        'two_factor_required',
      );
      expect(blocked.detail).toContain('/v1/auth/2fa/setup');
      expectProblem(
        await api().get('/v1/tenant/members').set(admin.headers),
        403,
        'two_factor_required',
      );
      // What enrolling and signing out need stays open.
      await api().get('/v1/auth/me').set(member.headers).expect(200);
      await api().get('/v1/auth/2fa').set(member.headers).expect(200);

      // Their other organisation does not require it.
      const other = await createOrg(t.app);
      await join(member, other.tenant, TenantRole.Member);
      await api()
        .get('/v1/tenant')
        .set({ ...member.headers, 'X-Tenant-Id': other.tenant.id })
        .expect(200);
      await enrol(member);
      await api().get('/v1/tenant').set(member.headers).expect(200);

      // Stopping the requirement unblocks the admin at once.
      await api().get('/v1/tenant/members').set(admin.headers).expect(403);
      await policy(org, false).expect(200);
      await api().get('/v1/tenant/members').set(admin.headers).expect(200);
    });

    it('does not hold API keys or platform staff, and switching in is allowed but the routes are not', async () => {
      const org = await createOrg(t.app);
      await enrol(org);
      const key = await api()
        .post('/v1/tenant/api-keys')
        .set(org.headers)
        .send({ name: 'CI' })
        .expect(201);
      await policy(org, true).expect(200);
      await api().get('/v1/tenant/members').set('X-Api-Key', key.body.key).expect(200);

      const staff = await createUser(t.app, { platformRole: PlatformRole.Support });
      await api()
        .get('/v1/tenant')
        .set({ ...staff.headers, 'X-Tenant-Id': org.tenant.id })
        .expect(200);

      // A member whose session is in another organisation moves in, then must enrol.
      const home = await createOrg(t.app);
      const mover = await createUser(t.app, { tenant: home.tenant, role: TenantRole.Member });
      await join(mover, org.tenant, TenantRole.Member);
      const switched = await api()
        .post('/v1/auth/switch-tenant')
        .set('Authorization', `Bearer ${mover.token}`)
        .send({ tenant: org.tenant.slug })
        .expect(200);
      expect(switched.body.tenantId).toBe(org.tenant.id);
      const bearer = { Authorization: `Bearer ${switched.body.accessToken}` };
      expectProblem(await api().get('/v1/tenant').set(bearer), 403, 'two_factor_required');
      await api().get('/v1/auth/2fa').set(bearer).expect(200);
      await api().post('/v1/auth/logout').set(bearer).send({}).expect(204);
    });
  });

  describe('at rest', () => {
    it('keeps no plaintext secret, recovery code or challenge in the rows', async () => {
      const org = await createOrg(t.app);
      const { secret, recoveryCodes } = await enrol(org);
      const challenge = await challengeFor(org);
      const conn = t.em().getConnection();
      const [factor] = await conn.execute<{ secret: string }[]>(
        'select secret from platform.user_two_factor where user_id = ?',
        [org.user.id],
      );
      expect(factor.secret).not.toContain(secret);
      expect(factor.secret).toMatch(/^gw1\./);
      // The ORM reads it back decrypted.
      const row = await t
        .em()
        .findOneOrFail(TwoFactor, { userId: org.user.id }, { populate: ['secret'] });
      expect(row.secret).toBe(secret);
      const codes = await conn.execute<{ code_hash: string }[]>(
        'select code_hash from platform.two_factor_recovery_code where user_id = ?',
        [org.user.id],
      );
      expect(codes).toHaveLength(10);
      const dump = JSON.stringify(codes);
      for (const c of recoveryCodes) {
        expect(dump).not.toContain(c);
        expect(dump).not.toContain(c.replace(/-/g, ''));
      }
      const challenges = await conn.execute<Record<string, unknown>[]>(
        'select * from platform.login_challenge where user_id = ?',
        [org.user.id],
      );
      expect(JSON.stringify(challenges)).not.toContain(challenge);
    });
  });
});
