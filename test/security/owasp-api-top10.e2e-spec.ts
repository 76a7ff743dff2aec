import { createHmac, randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import Stripe from 'stripe';
import request, { Response } from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { PaymentError } from '../../src/billing/payments/payment-gateway';
import { StripeGateway } from '../../src/billing/payments/stripe.gateway';
import { GatewayEventService } from '../../src/billing/webhooks/gateway-event.service';
import { Secret } from '../../src/config/secret';
import { ISOLATION_CASES } from '../isolation/cases';
import { tenantScopedOperations } from '../isolation/harness';
import { createOrg, createUser, Org, TEST_PASSWORD } from '../support/factories';
import { expectProblem, PROBLEM_MEDIA_TYPE } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const NO_RATE_LIMITS = {
  RATE_LIMIT_IP_PER_MINUTE: '1000000',
  RATE_LIMIT_USER_PER_MINUTE: '1000000',
  RATE_LIMIT_TENANT_PER_MINUTE: '1000000',
};

/** The committed document's operations, as the suite walks them. */
interface Operation {
  method: string;
  path: string;
  operationId?: string;
  summary?: string;
  parameters?: { name: string; in: string; schema?: { maximum?: number } }[];
}
interface Document {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, { format?: string }> }> };
}
const METHODS = ['get', 'put', 'post', 'delete', 'patch'];
const operationsOf = (doc: Document): Operation[] =>
  Object.entries(doc.paths).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m]).map((method) => ({ ...item[method], method, path })),
  );
/** A template path with every `{param}` filled by a made-up UUID. */
const filled = (path: string) => path.replace(/\{[^}]+\}/g, () => randomUUID());

/**
 * The OWASP API Security Top 10 (2023), one block per item, each test named
 * with the item's id. Broad walks over every operation are in the isolation
 * suite (test/isolation) and the fuzzer (fuzz.e2e-spec.ts); this suite proves
 * each class of attack is tried, and adds what those do not cover.
 */
describe('OWASP API Security Top 10 (2023)', () => {
  let t: TestApp;
  let doc: Document;
  let operations: Operation[];

  beforeAll(async () => {
    // The API rate limits have their own tests: here they would only stop the attacks early.
    t = await bootTestApp({ env: NO_RATE_LIMITS });
    doc = (await request(t.server).get('/docs-json').expect(200)).body as Document;
    operations = operationsOf(doc);
  });
  afterAll(() => t?.close());

  const api = () => request(t.server);
  const member = async (org: Org, role = TenantRole.Member) => {
    const actor = await createUser(t.app, { tenant: org.tenant, role });
    return actor;
  };

  // ------------------------------------------------------------------ API1
  describe('API1:2023 broken object level authorization', () => {
    it('API1:2023 every tenant-scoped operation of the document is attacked by the isolation suite', () => {
      const scoped = tenantScopedOperations(doc);
      expect(scoped.length).toBeGreaterThan(30);
      expect(scoped.map((op) => op.operationId).filter((id) => !(id in ISOLATION_CASES))).toEqual(
        [],
      );
    });

    it("API1:2023 a member cannot read, list, reply to or see the attachments of another member's ticket", async () => {
      const org = await createOrg(t.app);
      const alice = await member(org);
      const bob = await member(org);
      const ticket = await api()
        .post('/v1/support/tickets')
        .set(alice.headers)
        .send({ subject: 'Alice private', description: 'Alice words only' })
        .expect(201);
      const id = ticket.body.id as string;
      expectProblem(
        await api().get(`/v1/support/tickets/${id}`).set(bob.headers),
        404,
        'ticket_not_found',
      );
      expectProblem(
        await api().get(`/v1/support/tickets/${id}/attachments`).set(bob.headers),
        404,
        'ticket_not_found',
      );
      expectProblem(
        await api()
          .post(`/v1/support/tickets/${id}/replies`)
          .set(bob.headers)
          .send({ body: 'hijack' }),
        404,
        'ticket_not_found',
      );
      const list = await api().get('/v1/support/tickets').set(bob.headers).expect(200);
      expect(JSON.stringify(list.body)).not.toContain(id);
      // The control: the owner and Alice herself do see it.
      await api().get(`/v1/support/tickets/${id}`).set(alice.headers).expect(200);
      await api().get(`/v1/support/tickets/${id}`).set(org.headers).expect(200);
    });

    it("API1:2023 an admin cannot revoke or demote the owner, and a member cannot touch another's membership", async () => {
      const org = await createOrg(t.app);
      const admin = await member(org, TenantRole.Admin);
      const plain = await member(org);
      const demote = await api()
        .patch(`/v1/tenant/members/${org.user.id}`)
        .set(admin.headers)
        .send({ role: 'member' });
      expect(demote.status).toBeGreaterThanOrEqual(400);
      expect(demote.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
      expectProblem(
        await api().delete(`/v1/tenant/members/${admin.user.id}`).set(plain.headers),
        403,
        'forbidden',
      );
      const me = await api().get('/v1/tenant/members').set(org.headers).expect(200);
      expect(JSON.stringify(me.body)).toContain('"owner"');
    });
  });

  // ------------------------------------------------------------------ API2
  describe('API2:2023 broken authentication', () => {
    const claimsOf = (token: string) =>
      JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString('utf8')) as Record<
        string,
        unknown
      >;
    const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const tenantWith = (token: string) =>
      api().get('/v1/tenant').set('Authorization', `Bearer ${token}`);

    it('API2:2023 refuses alg:none, a tampered payload or signature, another algorithm and another key (401 invalid_token)', async () => {
      const org = await createOrg(t.app);
      const [header, payload, signature] = org.token.split('.');
      const claims = claimsOf(org.token);
      const secret = t.config.secrets.jwtSecret.reveal();
      const hs = (alg: string, hash: string, body: object, key = secret) => {
        const head = b64({ alg, typ: 'JWT' });
        const part = b64(body);
        return `${head}.${part}.${createHmac(hash, key).update(`${head}.${part}`).digest('base64url')}`;
      };
      const forged = {
        'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`,
        'alg NONE, signature kept': `${b64({ alg: 'NONE', typ: 'JWT' })}.${payload}.${signature}`,
        'escalated payload, old signature': `${header}.${b64({ ...claims, prole: 'platform_admin' })}.${signature}`,
        'flipped signature': `${header}.${payload}.${signature.slice(0, -2)}${signature.endsWith('A') ? 'BB' : 'AA'}`,
        'HS512 with the right secret': hs('HS512', 'sha512', claims),
        'HS384 with the right secret': hs('HS384', 'sha384', claims),
        'HS256 with another secret': hs(
          'HS256',
          'sha256',
          claims,
          'guess-me-guess-me-guess-me-guess',
        ),
        'no signature part': `${header}.${payload}`,
        'empty string secret': hs('HS256', 'sha256', claims, ''),
      };
      for (const [what, token] of Object.entries(forged)) {
        const res = await tenantWith(token);
        expect({ what, status: res.status, code: res.body?.code }).toEqual({
          what,
          status: 401,
          code: 'invalid_token',
        });
        expect(res.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
      }
      // The control: the real token works.
      await tenantWith(org.token).expect(200);
    });

    it('API2:2023 refuses an expired token, and one issued for another audience or issuer', async () => {
      const org = await createOrg(t.app);
      const jwt = t.app.get(JwtService);
      const { sub, sid, tid } = claimsOf(org.token) as { sub: string; sid: string; tid: string };
      expectProblem(
        await tenantWith(jwt.sign({ sub, sid, tid }, { expiresIn: -1 })),
        401,
        'token_expired',
      );
      for (const options of [{ audience: 'another-api' }, { issuer: 'someone-else' }]) {
        const other = new JwtService({
          secret: t.config.secrets.jwtSecret.reveal(),
          signOptions: { algorithm: 'HS256', issuer: 'groundwork', audience: 'groundwork-api' },
        }).sign({ sub, sid, tid }, options);
        expectProblem(await tenantWith(other), 401, 'invalid_token');
      }
    });

    it('API2:2023 after logout neither the access nor the refresh token works; a reused refresh token ends its family, access tokens included', async () => {
      const org = await createOrg(t.app);
      const rotated = await api()
        .post('/v1/auth/refresh')
        .send({ refreshToken: org.refreshToken })
        .expect(200);
      // Reuse of the first refresh token: theft suspected, every token of the family stops.
      expectProblem(
        await api().post('/v1/auth/refresh').send({ refreshToken: org.refreshToken }),
        401,
        'refresh_token_reused',
      );
      expectProblem(await tenantWith(rotated.body.accessToken as string), 401, 'invalid_token');
      expectProblem(await tenantWith(org.token), 401, 'invalid_token');

      const other = await createOrg(t.app);
      await api()
        .post('/v1/auth/logout')
        .set('Authorization', `Bearer ${other.token}`)
        .send({})
        .expect(204);
      expectProblem(await tenantWith(other.token), 401, 'invalid_token');
      expectProblem(
        await api().post('/v1/auth/refresh').send({ refreshToken: other.refreshToken }),
        401,
        'invalid_token',
      );
    });

    it('API2:2023 a revoked API key stops at once; a made-up one is refused the same way', async () => {
      const org = await createOrg(t.app);
      const key = await api()
        .post('/v1/tenant/api-keys')
        .set(org.headers)
        .send({ name: 'soon revoked' })
        .expect(201);
      await api().get('/v1/tenant').set('X-Api-Key', key.body.key).expect(200);
      await api().delete(`/v1/tenant/api-keys/${key.body.id}`).set(org.headers).expect(204);
      const revoked = await api().get('/v1/tenant').set('X-Api-Key', key.body.key);
      const madeUp = await api()
        .get('/v1/tenant')
        .set('X-Api-Key', `${(key.body.key as string).slice(0, -4)}abcd`);
      expect(revoked.status).toBe(401);
      expect(revoked.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
      expect({ status: madeUp.status, code: madeUp.body.code }).toEqual({
        status: revoked.status,
        code: revoked.body.code,
      });
    });

    it('API2:2023 a wrong password and an unknown email get the same answer (no account oracle)', async () => {
      const org = await createOrg(t.app);
      const wrong = await api()
        .post('/v1/auth/login')
        .send({ email: org.user.email, password: `${TEST_PASSWORD}!` });
      const unknown = await api()
        .post('/v1/auth/login')
        .send({ email: `nobody-${randomUUID()}@example.com`, password: TEST_PASSWORD });
      expect(wrong.status).toBe(401);
      expect({ status: unknown.status, code: unknown.body.code }).toEqual({
        status: wrong.status,
        code: wrong.body.code,
      });
    });
  });

  // ------------------------------------------------------------------ API3
  describe('API3:2023 broken object property level authorization', () => {
    const SECRET_FIELDS =
      /"(passwordHash|password_hash|tokenHash|token_hash|keyHash|key_hash|secret|totpSecret|schemaName)"\s*:/i;

    it('API3:2023 no GET of the document answers with a hash, a secret or an internal schema name', async () => {
      const org = await createOrg(t.app);
      await api().post('/v1/tenant/api-keys').set(org.headers).send({ name: 'k' }).expect(201);
      const staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
      const reads = operations.filter((op) => op.method === 'get' && !op.path.includes('{'));
      expect(reads.length).toBeGreaterThan(20);
      for (const op of reads) {
        const headers = op.path.startsWith('/v1/admin') ? staff.headers : org.headers;
        const res = await api().get(op.path).set(headers);
        expect({ op: op.operationId, status: res.status < 500 }).toEqual({
          op: op.operationId,
          status: true,
        });
        expect({ op: op.operationId, leak: SECRET_FIELDS.exec(res.text ?? '')?.[0] }).toEqual({
          op: op.operationId,
          leak: undefined,
        });
        expect(res.text ?? '').not.toContain('$argon2');
      }
    });

    it("API3:2023 an internal note is never shown to the ticket's requester", async () => {
      const org = await createOrg(t.app);
      const requester = await member(org);
      const ticket = await api()
        .post('/v1/support/tickets')
        .set(requester.headers)
        .send({ subject: 'Where is my invoice', description: 'Please help' })
        .expect(201);
      const note = `internal-only ${randomUUID()}`;
      await api()
        .post(`/v1/support/tickets/${ticket.body.id}/notes`)
        .set(org.headers)
        .send({ body: note })
        .expect(201);
      const asOwner = await api().get(`/v1/support/tickets/${ticket.body.id}`).set(org.headers);
      expect(asOwner.text).toContain(note);
      const asRequester = await api()
        .get(`/v1/support/tickets/${ticket.body.id}`)
        .set(requester.headers)
        .expect(200);
      expect(asRequester.text).not.toContain(note);
    });

    it.each([
      ['PATCH', '/v1/tenant', { name: 'Renamed', status: 'active' }],
      ['PATCH', '/v1/tenant', { name: 'Renamed', id: randomUUID() }],
      ['PATCH', '/v1/tenant', { name: 'Renamed', schemaName: 'platform' }],
      ['POST', '/v1/tenant/api-keys', { name: 'k', tenantId: randomUUID() }],
      ['POST', '/v1/tenant/api-keys', { name: 'k', role: 'owner' }],
      [
        'POST',
        '/v1/tenant/invitations',
        { email: 'x@example.com', role: 'member', tenantId: randomUUID() },
      ],
      [
        'POST',
        '/v1/support/tickets',
        { subject: 'Hello there', description: 'x', status: 'closed' },
      ],
      [
        'POST',
        '/v1/support/tickets',
        { subject: 'Hello there', description: 'x', tenantId: randomUUID() },
      ],
      [
        'POST',
        '/v1/support/tickets',
        { subject: 'Hello there', description: 'x', requesterId: randomUUID() },
      ],
      [
        'POST',
        '/v1/billing/subscription',
        { priceId: randomUUID(), quantity: 1, status: 'active' },
      ],
      ['POST', '/v1/auth/logout', { userId: randomUUID() }],
    ] as const)(
      'API3:2023 mass assignment: %s %s refuses %j with 400 validation_failed',
      async (method, path, body) => {
        const org = await createOrg(t.app);
        const before = await api().get('/v1/tenant').set(org.headers).expect(200);
        const res = await api()[method.toLowerCase() as 'post'](path).set(org.headers).send(body);
        expectProblem(res, 400, 'validation_failed');
        const after = await api().get('/v1/tenant').set(org.headers).expect(200);
        expect(after.body).toEqual(before.body);
      },
    );

    it('API3:2023 mass assignment: sign-up refuses platformRole, role and tenantId', async () => {
      for (const extra of [
        { platformRole: 'platform_admin' },
        { role: 'owner' },
        { tenantId: randomUUID() },
      ]) {
        const res = await api()
          .post('/v1/auth/signup')
          .send({
            email: `mass-${randomUUID()}@example.com`,
            password: TEST_PASSWORD,
            name: 'Mass Assign',
            organisationName: 'Mass Assign Ltd',
            ...extra,
          });
        expectProblem(res, 400, 'validation_failed');
      }
    });

    it('API3:2023 a member may not set the status, priority or assignee of their own ticket', async () => {
      const org = await createOrg(t.app);
      const requester = await member(org);
      const ticket = await api()
        .post('/v1/support/tickets')
        .set(requester.headers)
        .send({ subject: 'Status please', description: 'x' })
        .expect(201);
      for (const body of [
        { status: 'closed' },
        { priority: 'urgent' },
        { assigneeId: requester.user.id },
      ]) {
        const res = await api()
          .patch(`/v1/support/tickets/${ticket.body.id}`)
          .set(requester.headers)
          .send(body);
        expect({ body, status: res.status >= 400 && res.status < 500 }).toEqual({
          body,
          status: true,
        });
        expect(res.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
      }
    });
  });

  // ------------------------------------------------------------------ API4
  describe('API4:2023 unrestricted resource consumption', () => {
    it('API4:2023 every paginated operation declares a maximum limit and refuses limit=100000 with 400', async () => {
      const org = await createOrg(t.app);
      const staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
      const paged = operations.filter(
        (op) => op.method === 'get' && (op.parameters ?? []).some((p) => p.name === 'limit'),
      );
      expect(paged.length).toBeGreaterThan(5);
      for (const op of paged) {
        const limit = op.parameters!.find((p) => p.name === 'limit')!;
        expect({ op: op.operationId, max: typeof limit.schema?.maximum }).toEqual({
          op: op.operationId,
          max: 'number',
        });
        const headers = op.path.startsWith('/v1/admin') ? staff.headers : org.headers;
        const res = await api()
          .get(`${filled(op.path)}?limit=100000`)
          .set(headers);
        expect({ op: op.operationId, status: res.status }).toEqual({
          op: op.operationId,
          status: 400,
        });
        expectProblem(res, 400, 'validation_failed');
      }
    });

    it('API4:2023 a body over the limit is 413, a string over its maxLength 400, before any work', async () => {
      const org = await createOrg(t.app);
      const huge = await api()
        .post('/v1/support/tickets')
        .set(org.headers)
        .send({ subject: 'Big', description: 'x'.repeat(t.config.http.bodyLimitBytes + 1) });
      expectProblem(huge, 413, 'payload_too_large');
      const long = await api()
        .post('/v1/support/tickets')
        .set(org.headers)
        .send({ subject: 's'.repeat(201), description: 'x' });
      expectProblem(long, 400, 'validation_failed');
      const tickets = await api().get('/v1/support/tickets').set(org.headers).expect(200);
      expect(tickets.body.items).toEqual([]);
    });

    it('API4:2023 an attachment over ATTACHMENT_MAX_BYTES is refused with 413', async () => {
      const org = await createOrg(t.app);
      const ticket = await api()
        .post('/v1/support/tickets')
        .set(org.headers)
        .send({ subject: 'With file', description: 'x' })
        .expect(201);
      const res = await api()
        .post(`/v1/support/tickets/${ticket.body.id}/attachments?filename=big.txt`)
        .set(org.headers)
        .set('Content-Type', 'text/plain')
        .send(Buffer.alloc(t.config.attachments.maxBytes + 1, 'a'));
      expectProblem(res, 413, 'payload_too_large');
    });

    it('API4:2023 a deeply nested JSON body is refused, not recursed into', async () => {
      const org = await createOrg(t.app);
      const deep = `${'['.repeat(50_000)}${']'.repeat(50_000)}`;
      const res = await api()
        .patch('/v1/tenant')
        .set(org.headers)
        .set('Content-Type', 'application/json')
        .send(`{"name":${deep}}`);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
    });
  });

  // ------------------------------------------------------------------ API5
  describe('API5:2023 broken function level authorization', () => {
    it('API5:2023 every /v1/admin operation refuses a tenant owner, an admin and an owner API key with 403 forbidden', async () => {
      const org = await createOrg(t.app);
      const tenantAdmin = await member(org, TenantRole.Admin);
      const key = await api()
        .post('/v1/tenant/api-keys')
        .set(org.headers)
        .send({ name: 'owner key' })
        .expect(201);
      const adminOps = operations.filter((op) => op.path.startsWith('/v1/admin'));
      expect(adminOps.length).toBeGreaterThan(30);
      const callers = {
        owner: org.headers,
        'tenant admin': tenantAdmin.headers,
        'owner api key': { 'X-Api-Key': key.body.key as string },
      };
      let tried = 0;
      for (const op of adminOps) {
        for (const [who, headers] of Object.entries(callers)) {
          const call = api()[op.method as 'get'](filled(op.path)).set(headers);
          const res = ['post', 'put', 'patch'].includes(op.method)
            ? await call.send({})
            : await call;
          expect({ op: op.operationId, who, status: res.status, code: res.body?.code }).toEqual({
            op: op.operationId,
            who,
            status: 403,
            code: 'forbidden',
          });
          tried += 1;
        }
      }
      process.stdout.write(`API5: ${tried} admin operation × caller cases refused\n`);
    });

    it('API5:2023 tenant admin-only operations refuse a plain member (403), walked over the tenancy routes', async () => {
      const org = await createOrg(t.app);
      const plain = await member(org);
      const cases: [string, string, object?][] = [
        ['patch', '/v1/tenant', { name: 'Taken over' }],
        ['post', '/v1/tenant/api-keys', { name: 'k' }],
        ['get', '/v1/tenant/api-keys'],
        ['get', '/v1/tenant/audit-log'],
        ['post', '/v1/tenant/invitations', { email: 'x@example.com', role: 'admin' }],
        ['patch', `/v1/tenant/members/${plain.user.id}`, { role: 'owner' }],
        ['post', '/v1/billing/payment-methods/setup-intent', {}],
        ['post', '/v1/billing/subscription/cancel', { reason: 'too_expensive' }],
      ];
      for (const [method, path, body] of cases) {
        const call = api()[method as 'get'](path).set(plain.headers);
        const res = body ? await call.send(body) : await call;
        expect({ method, path, status: res.status, code: res.body?.code }).toEqual({
          method,
          path,
          status: 403,
          code: 'forbidden',
        });
      }
    });
  });

  // ------------------------------------------------------------------ API6
  describe('API6:2023 unrestricted access to sensitive business flows', () => {
    const PRO_MONTH = '0193a000-0000-7000-8001-000000000031';
    const STARTER_MONTH = '0193a000-0000-7000-8001-000000000021';
    const card = (org: Org) =>
      api()
        .post('/v1/billing/payment-methods')
        .set(org.headers)
        .send({ paymentMethodId: 'pm_card_visa', makeDefault: true })
        .expect(201);

    it('API6:2023 one free trial per organisation: a second, after cancelling the first, is refused', async () => {
      const org = await createOrg(t.app);
      await api()
        .post('/v1/billing/subscription')
        .set(org.headers)
        .send({ priceId: PRO_MONTH, quantity: 1, trial: true })
        .expect(201);
      const staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
      await api()
        .post(`/v1/admin/billing/tenants/${org.tenant.id}/subscription/cancel`)
        .set(staff.headers)
        .send({ reason: 'trial abuse test' })
        .expect((res) => expect(res.status).toBeLessThan(300));
      const again = await api()
        .post('/v1/billing/subscription')
        .set(org.headers)
        .send({ priceId: PRO_MONTH, quantity: 1, trial: true });
      expect(again.status).toBeGreaterThanOrEqual(400);
      expect(again.status).toBeLessThan(500);
      expect(['trial_unavailable', 'subscription_exists']).toContain(again.body.code);
    });

    it('API6:2023 concurrent trial sign-ups for one organisation start one trial', async () => {
      const org = await createOrg(t.app);
      const results = await Promise.all(
        [1, 2, 3].map(() =>
          api()
            .post('/v1/billing/subscription')
            .set(org.headers)
            .send({ priceId: PRO_MONTH, quantity: 1, trial: true }),
        ),
      );
      expect(results.map((r) => r.status).filter((s) => s === 201)).toHaveLength(1);
      for (const r of results.filter((x) => x.status !== 201)) {
        expect(r.status).toBeLessThan(500);
        expect(r.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
      }
    });

    it('API6:2023 repeated upgrades and downgrades in one period never credit more than was paid', async () => {
      const org = await createOrg(t.app);
      await card(org);
      await api()
        .post('/v1/billing/subscription')
        .set(org.headers)
        .send({ priceId: STARTER_MONTH, quantity: 5 })
        .expect(201);
      for (let i = 0; i < 6; i += 1) {
        for (const priceId of [PRO_MONTH, STARTER_MONTH]) {
          const res = await api()
            .post('/v1/billing/subscription/change')
            .set(org.headers)
            .send({ priceId });
          expect(res.status).toBeLessThan(500);
        }
      }
      const invoices = await api()
        .get('/v1/billing/invoices?limit=100')
        .set(org.headers)
        .expect(200);
      const paid = (
        invoices.body.items as { status: string; amountPaid?: number; total?: number }[]
      )
        .filter((inv) => inv.status === 'paid')
        .reduce((sum, inv) => sum + (inv.amountPaid ?? inv.total ?? 0), 0);
      const overview = await api().get('/v1/billing/subscription').set(org.headers).expect(200);
      expect(overview.body.creditBalance).toBeLessThanOrEqual(paid);
      expect(paid).toBeGreaterThan(0);
    });
  });

  // ------------------------------------------------------------------ API7
  describe('API7:2023 server side request forgery', () => {
    it('API7:2023 no request body or parameter of the document takes a URL the server would fetch', () => {
      const URLISH = /(url|uri|href|webhook|callback|redirect|endpoint|link|host)$/i;
      // Every entry here needs a reason: the server never fetches it.
      const ALLOWED: Record<string, string> = {
        'TwoFactorSetupDto.otpauthUri':
          'a response: the otpauth:// URI the authenticator app reads from a QR code; never fetched',
      };
      const found: string[] = [];
      for (const [name, schema] of Object.entries(doc.components.schemas)) {
        // Response DTOs may carry links for the client (a hosted invoice page, say): only inputs matter.
        if (
          !/(Create|Update|Change|Set|Add|Request|Body|Input|Accept|Signup|Login|Reset|Verify|Assign|Merge|Suspend|Cancel|Advance|Vote|Rate|Reply|Note|Deflection)/.test(
            name,
          )
        )
          continue;
        if (/Dto$/.test(name) && /(Result|Page|Detail|Overview|Preview)Dto$/.test(name)) continue;
        for (const [prop, def] of Object.entries(schema.properties ?? {})) {
          if (URLISH.test(prop) || def.format === 'uri' || def.format === 'url') {
            if (!ALLOWED[`${name}.${prop}`]) found.push(`${name}.${prop}`);
          }
        }
      }
      for (const op of operations) {
        for (const p of op.parameters ?? []) {
          if (URLISH.test(p.name)) found.push(`${op.operationId} ${p.in} ${p.name}`);
        }
      }
      expect(found).toEqual([]);
    });
  });

  // ------------------------------------------------------------------ API8
  describe('API8:2023 security misconfiguration', () => {
    it('API8:2023 unknown routes and unsupported methods answer problem+json, never an HTML page', async () => {
      const org = await createOrg(t.app);
      for (const [method, path] of [
        ['get', '/v1/does-not-exist'],
        ['get', '/.env'],
        ['get', '/v1/../../etc/passwd'],
        ['put', '/v1/tenant'],
        ['delete', '/v1/auth/login'],
        ['trace', '/v1/tenant'],
        ['options', '/v1/tenant'],
      ] as const) {
        const res = await api()[method](path).set(org.headers);
        if (method === 'options' && res.status < 300) continue; // a CORS preflight answer
        expect({ method, path, status: res.status >= 400 && res.status < 500 }).toEqual({
          method,
          path,
          status: true,
        });
        if (method !== 'trace') expect(res.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
        expect(res.text ?? '').not.toMatch(/<html|at .*\.(ts|js):\d+/i);
      }
    });

    it('API8:2023 errors never carry a stack trace, SQL or a driver message', async () => {
      const org = await createOrg(t.app);
      const probes: Response[] = [
        await api().get(`/v1/support/tickets/${"1' OR '1'='1"}`).set(org.headers),
        await api().get('/v1/tenant/audit-log?cursor=%27%3B--').set(org.headers),
        await api()
          .patch('/v1/tenant')
          .set(org.headers)
          .set('Content-Type', 'application/json')
          .send('{"name":'),
        await api()
          .post('/v1/support/tickets')
          .set(org.headers)
          .send({ subject: 'null byte \u0000 here', description: '\u0000' }),
        await api()
          .get('/v1/tenant')
          .set('X-Tenant-Id', "' OR '1'='1")
          .set('Authorization', `Bearer ${org.token}`),
      ];
      for (const res of probes) {
        expect(res.status).toBeLessThan(500);
        expect(res.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
        expect(res.text).not.toMatch(
          /\bselect\b.*\bfrom\b|insert into|syntax error|pg_|postgres|mikro|TypeError|ReferenceError|node_modules|\.ts:\d+|stack/i,
        );
      }
    });

    it('API8:2023 headers over the server limit and a NUL in a query string are refused with problems', async () => {
      const org = await createOrg(t.app);
      const big = await api()
        .get('/v1/tenant')
        .set(org.headers)
        .set('X-Padding', 'x'.repeat(20_000));
      expect(big.status).toBeGreaterThanOrEqual(400);
      expect(big.status).toBeLessThan(500);
      expect(big.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
      expect(typeof big.body.code).toBe('string');
      const staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
      expectProblem(
        await api().get('/v1/admin/tenants?q=a%00b').set(staff.headers),
        400,
        'validation_failed',
      );
    });

    it('API8:2023 a date-time input beyond what the database stores is a 400, not a database error', async () => {
      const staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
      for (const url of [
        '/v1/admin/billing/payment-failures?to=100000',
        '/v1/admin/billing/payment-failures?from=-000001-01-01T00:00:00.000Z',
        '/v1/admin/billing/recovery?to=275760-09-13T00:00:00.000Z',
      ]) {
        expectProblem(await api().get(url).set(staff.headers), 400, 'validation_failed');
      }
    });

    it('API8:2023 responses carry the security headers and say nothing about the server software', async () => {
      const res = await api().get('/v1/pricing').expect(200);
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(String(res.headers.server ?? '')).not.toMatch(/\d/);
      // @fastify/helmet (src/common/http/security-headers.ts).
      expect(res.headers).toMatchObject({
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
      expect(String(res.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    });

    it('API8:2023 a form-encoded or text body (what a cross-site form posts) is refused with 415', async () => {
      const org = await createOrg(t.app);
      for (const type of [
        'application/x-www-form-urlencoded',
        'text/plain',
        'multipart/form-data; boundary=x',
      ]) {
        const res = await api()
          .post('/v1/tenant/api-keys')
          .set(org.headers)
          .set('Content-Type', type)
          .send('name=csrf');
        expectProblem(res, 415, 'unsupported_media_type');
      }
    });
  });

  // ------------------------------------------------------------------ API9
  describe('API9:2023 improper inventory management', () => {
    /** Every route the running app serves, as `method /path` in the document's notation. */
    function servedRoutes(): string[] {
      const discovery = t.app.get(DiscoveryService);
      const scanner = t.app.get(MetadataScanner);
      const routes: string[] = [];
      const unprefixed = /^\/(health|webhooks|metrics)(\/|$)/;
      for (const wrapper of discovery.getControllers()) {
        const instance = wrapper.instance as object | undefined;
        if (!instance) continue;
        const prefixes = [
          Reflect.getMetadata(PATH_METADATA, wrapper.metatype as object) as string | string[],
        ].flat();
        const prototype = Object.getPrototypeOf(instance) as object;
        for (const name of scanner.getAllMethodNames(prototype)) {
          const handler = (prototype as Record<string, () => void>)[name];
          const paths = Reflect.getMetadata(PATH_METADATA, handler) as
            string | string[] | undefined;
          if (paths === undefined) continue;
          const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number];
          for (const prefix of prefixes) {
            for (const path of [paths].flat()) {
              const segments = [prefix, path]
                .flatMap((s) => (s ?? '').split('/'))
                .filter((s) => s !== '')
                .map((s) => s.replace(/^:(\w+)$/, '{$1}'));
              const route = `/${segments.join('/')}`;
              routes.push(
                `${method.toLowerCase()} ${unprefixed.test(route) ? route : `/v1${route}`}`,
              );
            }
          }
        }
      }
      return [...new Set(routes)].sort();
    }

    /** Served on purpose outside the document, each with why. */
    const UNDOCUMENTED: Record<string, string> = {
      'get /health': 'probe, hidden from the public spec',
      'get /health/live': 'probe',
      'get /health/ready': 'probe',
      'get /metrics': 'Prometheus scrape, protected by METRICS_TOKEN',
    };

    it('API9:2023 every served route is in openapi.json and every documented one is served', () => {
      const served = servedRoutes();
      const documented = operations.map((op) => `${op.method} ${op.path}`).sort();
      expect(served.filter((r) => !documented.includes(r) && !(r in UNDOCUMENTED))).toEqual([]);
      expect(documented.filter((r) => !served.includes(r))).toEqual([]);
      expect(Object.keys(UNDOCUMENTED).filter((r) => !served.includes(r))).toEqual([]);
    });

    it('API9:2023 every operation has a unique operationId and a summary', () => {
      const ids = operations.map((op) => op.operationId);
      expect(
        operations
          .filter((op) => !op.operationId || !op.summary?.trim())
          .map((op) => `${op.method} ${op.path}`),
      ).toEqual([]);
      expect(ids.length).toBe(new Set(ids).size);
    });

    it('API9:2023 the document leaves out health and metrics on purpose, and only one API version is served', async () => {
      expect(Object.keys(doc.paths).filter((p) => /^\/(health|metrics)/.test(p))).toEqual([]);
      expect(Object.keys(doc.paths).filter((p) => !/^\/(v1|webhooks)\//.test(p))).toEqual([]);
      for (const path of ['/v0/tenant', '/v2/tenant', '/api/v1/tenant', '/tenant']) {
        expectProblem(await api().get(path), 404, 'not_found');
      }
    });
  });

  // ------------------------------------------------------------------ API10
  describe('API10:2023 unsafe consumption of APIs', () => {
    /** A "Stripe" that answers every request with what the test says. */
    let server: Server;
    let answer: (path: string) => { status: number; type: string; body: string };
    let url: string;

    beforeAll(async () => {
      server = createServer((req, res) => {
        req.resume();
        req.on('end', () => {
          const a = answer(req.url ?? '');
          res.writeHead(a.status, { 'content-type': a.type, 'request-id': 'req_fake' });
          res.end(a.body);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    const gateway = () =>
      new StripeGateway({
        secretKey: new Secret('sk_test_fake_unsafe_consumption'),
        webhookSecret: new Secret('whsec_unsafe_consumption_tests_0123'),
        apiUrl: url,
        timeoutMs: 2_000,
      });

    const MALFORMED: Record<string, { status: number; type: string; body: string }> = {
      'an HTML error page': { status: 502, type: 'text/html', body: '<html>Bad gateway</html>' },
      'truncated JSON': {
        status: 200,
        type: 'application/json',
        body: '{"id": "pi_1", "status": "succ',
      },
      'an empty 200': { status: 200, type: 'application/json', body: '' },
      'JSON null': { status: 200, type: 'application/json', body: 'null' },
      'an array': { status: 200, type: 'application/json', body: '[]' },
      'an object of the wrong kind': {
        status: 200,
        type: 'application/json',
        body: '{"object":"customer","id":42}',
      },
      'a payment with an unknown status': {
        status: 200,
        type: 'application/json',
        body: '{"object":"payment_intent","id":"pi_x","status":"exploded","amount":"lots"}',
      },
      'an error without a type': { status: 400, type: 'application/json', body: '{"error":{}}' },
      '200 with an error body': {
        status: 200,
        type: 'application/json',
        body: '{"error":{"type":"api_error"}}',
      },
    };

    it.each(Object.keys(MALFORMED))(
      'API10:2023 a gateway call answered with %s fails as a PaymentError or returns a checked value, never a TypeError',
      async (what) => {
        answer = () => MALFORMED[what];
        const g = gateway();
        const calls: [string, () => Promise<unknown>][] = [
          [
            'createCustomer',
            () => g.createCustomer({ email: 'a@example.com', name: 'A', tenantId: randomUUID() }),
          ],
          [
            'charge',
            () =>
              g.charge({
                customerId: 'cus_1',
                paymentMethodId: 'pm_1',
                amount: 100,
                currency: 'usd',
                idempotencyKey: `k-${randomUUID()}`,
                description: 'x',
                metadata: {},
              }),
          ],
          ['retrievePayment', () => g.retrievePayment('pi_1')],
        ];
        for (const [name, call] of calls) {
          const outcome = await call().then(
            (value) => ({ value }),
            (error: unknown) => ({ error }),
          );
          if ('error' in outcome) {
            expect({
              name,
              isPaymentError: outcome.error instanceof PaymentError,
              error: String(outcome.error),
            }).toMatchObject({
              name,
              isPaymentError: true,
            });
          } else {
            // A value came back: it must be well-formed, never a half-read object.
            expect({ name, value: outcome.value }).toMatchObject({
              name,
              value: expect.anything(),
            });
            const value = outcome.value as { id?: unknown; paymentId?: unknown };
            if ('id' in value) expect(typeof value.id).toBe('string');
            if ('paymentId' in value) expect(typeof value.paymentId).toBe('string');
          }
        }
      },
    );

    it('API10:2023 signed webhook events of unexpected shapes are acknowledged or refused with a problem, and change nothing', async () => {
      const secret = t.config.billing.webhookSecret.reveal();
      const events = t.app.get(GatewayEventService);
      const org = await createOrg(t.app);
      const before = await api().get('/v1/billing/subscription').set(org.headers).expect(200);
      const shapes: unknown[] = [
        { id: `evt_${randomUUID()}`, type: 'payment_intent.succeeded', data: {} },
        { id: `evt_${randomUUID()}`, type: 'payment_intent.succeeded', data: { object: null } },
        {
          id: `evt_${randomUUID()}`,
          type: 'payment_intent.succeeded',
          created: 'yesterday',
          data: { object: { id: 42, amount: 'all', metadata: 'x' } },
        },
        {
          id: `evt_${randomUUID()}`,
          type: 'charge.refunded',
          data: { object: { payment_intent: { nested: true }, amount_refunded: -5 } },
        },
        {
          id: `evt_${randomUUID()}`,
          type: 'setup_intent.succeeded',
          data: { object: { customer: [], payment_method: {} } },
        },
        {
          id: `evt_${randomUUID()}`,
          type: 'charge.dispute.created',
          data: { object: { metadata: { tenant_id: org.tenant.id } } },
        },
        { type: 'payment_intent.succeeded' },
        { id: 12345, type: ['array'] },
        [],
        'a string',
      ];
      for (const shape of shapes) {
        const payload = JSON.stringify(shape);
        const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret });
        const res = await api()
          .post('/webhooks/stripe')
          .set('Content-Type', 'application/json')
          .set('Stripe-Signature', signature)
          .send(payload);
        expect({ shape, status: res.status < 500 }).toEqual({ shape, status: true });
        if (res.status >= 400) expect(res.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
        if (res.status === 200 && typeof res.body?.id === 'string') {
          // Processing it records an error or ignores it; it never throws past the worker.
          await events.process(res.body.id as string).catch((error: unknown) => {
            expect(error).not.toBeInstanceOf(TypeError);
          });
        }
      }
      const after = await api().get('/v1/billing/subscription').set(org.headers).expect(200);
      expect(after.body).toEqual(before.body);
    });
  });
});
