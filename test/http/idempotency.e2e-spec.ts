import { randomUUID } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import request, { Response } from 'supertest';
import { TenantRole } from '../../src/access/roles';
import { IdempotencyService } from '../../src/common/http/idempotency.service';
import { ApiKey } from '../../src/identity/entities/api-key.entity';
import { OutboxMessage } from '../../src/notifications/entities/outbox-message.entity';
import { Invitation } from '../../src/tenancy/entities/invitation.entity';
import { CreateInvitationDto, InvitationDto } from '../../src/tenancy/invitations/invitation.dto';
import { InvitationService } from '../../src/tenancy/invitations/invitation.service';
import { MembershipService } from '../../src/tenancy/members/membership.service';
import {
  createOrg,
  createTenant,
  createUser,
  Org,
  TEST_PASSWORD,
  uniqueEmail,
  uniqueSlug,
} from '../support/factories';
import { expectProblem, PROBLEM_MEDIA_TYPE } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

/** A promise with its resolve function, to hold a request inside the handler. */
function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/** Invitations addressed `held-…` wait in the handler until released; `fails-once-…` fail once with a 500. */
const held = { entered: deferred(), release: deferred() };
const failedOnce = new Set<string>();

@Injectable()
class ControllableInvitationService extends InvitationService {
  override async create(dto: CreateInvitationDto, invitedBy: string): Promise<InvitationDto> {
    if (dto.email.startsWith('held-')) {
      held.entered.resolve();
      await held.release.promise;
    }
    if (dto.email.startsWith('fails-once-') && !failedOnce.has(dto.email)) {
      failedOnce.add(dto.email);
      throw new Error('mail relay unavailable');
    }
    return super.create(dto, invitedBy);
  }
}

interface KeyRow {
  id: string;
  scope: string;
  request_hash: string;
  state: string;
  response_status: number | null;
  response_body: unknown;
}

describe('Idempotency-Key on POST', () => {
  let t: TestApp;
  let org: Org;

  beforeAll(async () => {
    t = await bootTestApp({
      override: (b) =>
        b.overrideProvider(InvitationService).useClass(ControllableInvitationService),
    });
  });
  beforeEach(async () => {
    org = await createOrg(t.app);
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  const invitee = (prefix = 'invitee') => ({ email: uniqueEmail(prefix), role: 'member' });
  const invite = (
    headers: Record<string, string>,
    body: Record<string, unknown>,
    key?: string,
  ): Promise<Response> => {
    const req = api().post('/v1/tenant/invitations').set(headers);
    if (key !== undefined) void req.set('Idempotency-Key', key);
    return req.send(body).then((res) => res);
  };
  const invitations = (email: string, tenantId = org.tenant.id) =>
    t.em().count(Invitation, { tenantId, email });
  const mailsTo = (to: string) => t.em().count(OutboxMessage, { to });
  const rowsFor = (key: string) =>
    t
      .em()
      .getConnection()
      .execute<KeyRow[]>('select * from platform.idempotency_key where key = ? order by scope', [
        key,
      ]);
  const expectReplayOf = (replay: Response, first: Response) => {
    expect(replay.status).toBe(first.status);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(replay.headers['content-type']).toBe(first.headers['content-type']);
  };

  it('replays the first response to a repeat with the same key and body, and runs nothing twice', async () => {
    const key = randomUUID();
    const body = invitee();

    const first = await invite(org.headers, body, key);
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    // Run again, the request would now fail: a pending invitation exists.
    expectProblem(await invite(org.headers, body), 409, 'invitation_pending');

    const repeat = await invite(org.headers, body, key);
    expectReplayOf(repeat, first);
    // The same body with its keys in another order and other spacing is the same request.
    const reordered = await api()
      .post('/v1/tenant/invitations')
      .set(org.headers)
      .set('Idempotency-Key', key)
      .set('Content-Type', 'application/json')
      .send(`{ "role": "member",\n  "email": ${JSON.stringify(body.email)} }`);
    expectReplayOf(reordered, first);

    expect(await invitations(body.email)).toBe(1);
    expect(await mailsTo(body.email)).toBe(1);
    const [row] = await rowsFor(key);
    expect(row).toMatchObject({
      scope: `user:${org.user.id}:tenant:${org.tenant.id}`,
      state: 'completed',
      response_status: 201,
      response_body: first.body,
    });
  });

  it('replays the status of @HttpCode routes: 200 for a resend, 204 without a body', async () => {
    const body = invitee();
    const created = await invite(org.headers, body).then((res) => res.body as InvitationDto);
    const key = randomUUID();
    const resend = () =>
      api()
        .post(`/v1/tenant/invitations/${created.id}/resend`)
        .set(org.headers)
        .set('Idempotency-Key', key);

    const first = await resend().expect(200);
    expectReplayOf(await resend(), first);
    // One mail for the invitation, one for the resend: the replay sent none.
    expect(await mailsTo(body.email)).toBe(2);

    const verifyKey = randomUUID();
    const verify = () =>
      api()
        .post('/v1/auth/verify-email/request')
        .set(org.headers)
        .set('Idempotency-Key', verifyKey);
    await verify().expect(204);
    const repeat = await verify().expect(204);
    expect(repeat.headers['idempotent-replayed']).toBe('true');
    expect(repeat.text).toBe('');
    expect(await mailsTo(org.user.email)).toBe(1);
  });

  it('answers 422 when the key comes back with another body or on another route', async () => {
    const key = randomUUID();
    await invite(org.headers, invitee(), key).then((res) => expect(res.status).toBe(201));
    const other = invitee();

    const res = await invite(org.headers, other, key);
    const problem = expectProblem(res, 422, 'idempotency_key_reused');
    expect(problem.detail).toMatch(/another request/);
    expect(await invitations(other.email)).toBe(0);

    const created = await invite(org.headers, invitee()).then((r) => r.body as InvitationDto);
    const elsewhere = await api()
      .post(`/v1/tenant/invitations/${created.id}/resend`)
      .set(org.headers)
      .set('Idempotency-Key', key);
    expectProblem(elsewhere, 422, 'idempotency_key_reused');
  });

  it('answers 409 to a duplicate that arrives while the first request still runs', async () => {
    held.entered = deferred();
    held.release = deferred();
    const key = randomUUID();
    const body = invitee('held');

    const first = invite(org.headers, body, key);
    await held.entered.promise;
    const duplicate = await invite(org.headers, body, key);
    const problem = expectProblem(duplicate, 409, 'idempotency_request_in_progress');
    expect(problem.detail).toMatch(/still being processed/);
    held.release.resolve();

    const done = await first;
    expect(done.status).toBe(201);
    expectReplayOf(await invite(org.headers, body, key), done);
    expect(await invitations(body.email)).toBe(1);
  });

  it('keeps a 4xx answer: a repeat gets the same problem even once the request would succeed', async () => {
    const body = invitee();
    const pending = await invite(org.headers, body).then((res) => res.body as InvitationDto);
    const key = randomUUID();

    const first = await invite(org.headers, body, key);
    const problem = expectProblem(first, 409, 'invitation_pending');
    await api().delete(`/v1/tenant/invitations/${pending.id}`).set(org.headers).expect(204);

    const repeat = await invite(org.headers, body, key);
    expectReplayOf(repeat, first);
    expect(repeat.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
    // The stored problem, down to the request id of the request that produced it.
    expect(repeat.body.requestId).toBe(problem.requestId);
    expect(repeat.headers['x-request-id']).not.toBe(problem.requestId);
    // Without the key, the same request now runs and succeeds.
    expect((await invite(org.headers, body)).status).toBe(201);
  });

  it('keeps validation failures like any other 4xx', async () => {
    const key = randomUUID();
    const body = { email: 'not-an-email', role: 'member' };

    const first = await invite(org.headers, body, key);
    expectProblem(first, 400, 'validation_failed');
    expectReplayOf(await invite(org.headers, body, key), first);
  });

  it('frees the key after a server error, so a retry with the same key runs', async () => {
    const key = randomUUID();
    const body = invitee('fails-once');

    expectProblem(await invite(org.headers, body, key), 500, 'internal_error');
    expect(await rowsFor(key)).toEqual([]);

    const retry = await invite(org.headers, body, key);
    expect(retry.status).toBe(201);
    expect(retry.headers['idempotent-replayed']).toBeUndefined();
    expectReplayOf(await invite(org.headers, body, key), retry);
    expect(await invitations(body.email)).toBe(1);
  });

  it('keeps keys per caller: another user’s request under the same key is their own', async () => {
    const admin = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Admin });
    const other = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Admin });
    const key = randomUUID();
    const body = invitee();
    await invite(org.headers, body, key).then((res) => expect(res.status).toBe(201));

    // The same key and body from another user is run, not answered from the owner's response.
    const same = await invite(admin.headers, body, key);
    expectProblem(same, 409, 'invitation_pending');
    expect(same.headers['idempotent-replayed']).toBeUndefined();
    // Nor is another body under the same key "reused": it is that user's own key.
    const own = await invite(other.headers, invitee(), key);
    expect(own.status).toBe(201);
    expect(own.headers['idempotent-replayed']).toBeUndefined();
    expect((await rowsFor(key)).map((row) => row.scope).sort()).toEqual(
      [org.user.id, admin.user.id, other.user.id]
        .map((id) => `user:${id}:tenant:${org.tenant.id}`)
        .sort(),
    );
  });

  it('keeps keys per organisation: the same user and key in another one runs again', async () => {
    const second = await createTenant(t.app);
    const em = t.em();
    t.app.get(MembershipService).add(em, second.id, org.user.id, TenantRole.Owner);
    await em.flush();
    const key = randomUUID();
    const body = invitee();

    const first = await invite(org.headers, body, key);
    expect(first.status).toBe(201);
    const elsewhere = await invite({ ...org.headers, 'X-Tenant-Id': second.id }, body, key);

    expect(elsewhere.status).toBe(201);
    expect(elsewhere.headers['idempotent-replayed']).toBeUndefined();
    expect(elsewhere.body.id).not.toBe(first.body.id);
    expect(await invitations(body.email, org.tenant.id)).toBe(1);
    expect(await invitations(body.email, second.id)).toBe(1);
  });

  it('replaces an expired key on its next use, and purgeExpired deletes expired keys', async () => {
    const key = randomUUID();
    await invite(org.headers, invitee(), key).then((res) => expect(res.status).toBe(201));
    const [old] = await rowsFor(key);
    const expire = (k: string) =>
      t
        .em()
        .getConnection()
        .execute(
          `update platform.idempotency_key set expires_at = now() - interval '1 second' where key = ?`,
          [k],
        );
    await expire(key);

    // Another body under the expired key is a new request, not a reused key.
    const body = invitee();
    const fresh = await invite(org.headers, body, key);
    expect(fresh.status).toBe(201);
    const [replaced] = await rowsFor(key);
    expect(replaced.id).not.toBe(old.id);
    expect(replaced.request_hash).not.toBe(old.request_hash);
    expect(replaced).toMatchObject({ state: 'completed', response_body: fresh.body });
    expectReplayOf(await invite(org.headers, body, key), fresh);

    const live = randomUUID();
    await invite(org.headers, invitee(), live).then((res) => expect(res.status).toBe(201));
    await expire(key);
    expect(await t.app.get(IdempotencyService).purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(await rowsFor(key)).toEqual([]);
    expect(await rowsFor(live)).toHaveLength(1);
  });

  it.each([
    ['empty', ''],
    ['256 characters long', 'k'.repeat(256)],
    ['not ASCII', 'clé-idempotence'],
  ])('refuses a key that is %s with 400, running nothing', async (_label, key) => {
    const body = invitee();

    const res = await invite(org.headers, body, key);
    const problem = expectProblem(res, 400, 'idempotency_key_invalid');
    expect(problem.detail).toMatch(/^Idempotency-Key must be 1 to 255 printable ASCII characters/);
    expect(await invitations(body.email)).toBe(0);
  });

  it('refuses the header where the response holds a secret shown once, storing nothing', async () => {
    const key = randomUUID();
    const before = await t.em().count(ApiKey, { tenantId: org.tenant.id });

    const res = await api()
      .post('/v1/tenant/api-keys')
      .set(org.headers)
      .set('Idempotency-Key', key)
      .send({ name: 'CI deploys' });
    const problem = expectProblem(res, 400, 'idempotency_key_unsupported');
    expect(problem.detail).toMatch(/secret only once/);
    expect(await t.em().count(ApiKey, { tenantId: org.tenant.id })).toBe(before);

    const switched = await api()
      .post('/v1/auth/switch-tenant')
      .set(org.headers)
      .set('Idempotency-Key', key)
      .send({ tenant: org.tenant.id });
    expectProblem(switched, 400, 'idempotency_key_unsupported');
    expect(await rowsFor(key)).toEqual([]);

    // Without the header, both work.
    await api().post('/v1/tenant/api-keys').set(org.headers).send({ name: 'CI' }).expect(201);
    await api()
      .post('/v1/auth/switch-tenant')
      .set(org.headers)
      .send({ tenant: org.tenant.id })
      .expect(200);
  });

  it('is ignored by public routes, even with credentials: their tokens are never stored', async () => {
    const key = randomUUID();
    const signup = (email: string) =>
      api()
        .post('/v1/auth/signup')
        .set('Idempotency-Key', key)
        .send({
          email,
          password: TEST_PASSWORD,
          name: 'Ada',
          organizationName: 'Acme',
          organizationSlug: uniqueSlug('acme'),
        });
    const email = uniqueEmail('founder');
    await signup(email).expect(201);
    // Another body under the same key: no 422, the route does not look at it.
    await signup(uniqueEmail('founder')).expect(201);

    const login = () =>
      api()
        .post('/v1/auth/login')
        .set('Authorization', org.headers.Authorization)
        .set('Idempotency-Key', key)
        .send({ email, password: TEST_PASSWORD })
        .expect(200);
    const one = await login();
    const two = await login();
    expect(two.headers['idempotent-replayed']).toBeUndefined();
    expect(two.body.refreshToken).not.toBe(one.body.refreshToken);
    expect(await rowsFor(key)).toEqual([]);
  });

  it('is ignored by other methods', async () => {
    const key = randomUUID();
    for (const name of ['First name', 'Second name']) {
      const res = await api()
        .patch('/v1/tenant')
        .set(org.headers)
        .set('Idempotency-Key', key)
        .send({ name })
        .expect(200);
      expect(res.body.name).toBe(name);
    }
    expect(await rowsFor(key)).toEqual([]);
  });

  it('is documented on the POST operations that take it, and only there', async () => {
    interface Operation {
      description?: string;
      parameters?: { name: string; in: string; required?: boolean }[];
      responses: Record<string, unknown>;
    }
    const doc = (await api().get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, Operation>>;
    };
    const header = (op: Operation) => op.parameters?.find((p) => p.name === 'Idempotency-Key');

    for (const path of ['/v1/tenant/invitations', '/v1/tenant/invitations/{id}/resend']) {
      const op = doc.paths[path].post;
      expect(header(op)).toEqual(expect.objectContaining({ in: 'header', required: false }));
      expect(Object.keys(op.responses)).toEqual(expect.arrayContaining(['400', '409', '422']));
    }
    for (const path of ['/v1/tenant/api-keys', '/v1/auth/switch-tenant']) {
      const op = doc.paths[path].post;
      expect(header(op)).toBeUndefined();
      expect(op.description).toMatch(/Does not accept `Idempotency-Key`/);
      expect(Object.keys(op)).not.toContain('x-idempotency-key-unsupported');
    }
    for (const path of ['/v1/auth/signup', '/v1/auth/login', '/v1/auth/refresh']) {
      expect(header(doc.paths[path].post)).toBeUndefined();
    }
    expect(header(doc.paths['/v1/tenant'].patch)).toBeUndefined();
  });
});
