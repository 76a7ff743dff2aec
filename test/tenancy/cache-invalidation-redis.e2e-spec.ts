import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { createOrg, createUser, Org } from '../support/factories';
import { createTestDatabase, TestDatabase } from '../support/database';
import { expectProblem } from '../support/http-helpers';
import { reachable } from '../support/reachable';
import { bootTestApp, TestApp } from '../support/test-app';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Replicas share the signing key (and passport keeps one strategy per process). */
const JWT_SECRET = randomBytes(32).toString('hex');

/** Two replicas on one database, as a deployment runs them. */
async function twoReplicas(
  db: TestDatabase,
  env: Record<string, string>,
): Promise<[TestApp, TestApp]> {
  const a = await bootTestApp({ database: db, env: { JWT_SECRET, ...env } });
  const b = await bootTestApp({ database: db, env: { JWT_SECRET, ...env } });
  return [a, b];
}

/**
 * The membership, tenant and entitlement caches live in each replica for a
 * few seconds. With REDIS_URL an invalidation on one replica reaches the
 * others at once (ARCHITECTURE, request pipeline step 3: a removed member
 * loses access at once). The shared case runs where a Redis answers; the
 * case without Redis shows what the channel changes.
 */
describe('cache invalidations between replicas', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  describe('through Redis', () => {
    let a: TestApp;
    let b: TestApp;
    let available = false;

    beforeAll(async () => {
      available = await reachable(REDIS_URL);
      if (!available) {
        process.stdout.write(`cache-invalidation-redis: no Redis at ${REDIS_URL}; skipped\n`);
        return;
      }
      [a, b] = await twoReplicas(db, { REDIS_URL });
    });
    afterAll(async () => {
      if (!available) return;
      await a.close();
      await b.close();
    });

    it('refuses a member removed on one replica at their next request to the other', async () => {
      if (!available) return;
      const org = await createOrg(a.app);
      const member = await createUser(a.app, { tenant: org.tenant, role: TenantRole.Member });
      // B holds the membership in its cache.
      await request(b.server).get('/v1/tenant').set(member.headers).expect(200);

      await request(a.server)
        .delete(`/v1/tenant/members/${member.user.id}`)
        .set(org.headers)
        .expect(204);

      const refused = await request(b.server).get('/v1/tenant').set(member.headers);
      expectProblem(refused, 404, 'tenant_not_found');
    });

    it('applies a role change made on one replica at the next request to the other', async () => {
      if (!available) return;
      const org = await createOrg(a.app);
      const admin = await createUser(a.app, { tenant: org.tenant, role: TenantRole.Admin });
      const invite = { email: `invitee-${randomBytes(4).toString('hex')}@example.com` };
      await request(b.server).get('/v1/tenant/members').set(admin.headers).expect(200);

      await request(a.server)
        .patch(`/v1/tenant/members/${admin.user.id}`)
        .set(org.headers)
        .send({ role: TenantRole.Member })
        .expect(200);

      const refused = await request(b.server)
        .post('/v1/tenant/invitations')
        .set(admin.headers)
        .send({ ...invite, role: TenantRole.Member });
      expectProblem(refused, 403, 'forbidden');
    });

    it('refuses a tenant suspended on one replica at the next request to the other', async () => {
      if (!available) return;
      const org: Org = await createOrg(a.app);
      const staff = await createUser(a.app, { platformRole: PlatformRole.Admin });
      await request(b.server).get('/v1/tenant').set(org.headers).expect(200);

      await request(a.server)
        .post(`/v1/admin/tenants/${org.tenant.id}/suspend`)
        .set(staff.headers)
        .send({ reason: 'Chargeback under review' })
        .expect(200);

      const refused = await request(b.server).get('/v1/tenant').set(org.headers);
      expectProblem(refused, 403, 'tenant_suspended');
    });
  });

  describe('without Redis', () => {
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      [a, b] = await twoReplicas(db, {});
    });
    afterAll(async () => {
      await a.close();
      await b.close();
    });

    it('drops the membership at once only where it changed; the other replica waits for its TTL', async () => {
      const org = await createOrg(a.app);
      const member = await createUser(a.app, { tenant: org.tenant, role: TenantRole.Member });
      await request(a.server).get('/v1/tenant').set(member.headers).expect(200);
      await request(b.server).get('/v1/tenant').set(member.headers).expect(200);

      await request(a.server)
        .delete(`/v1/tenant/members/${member.user.id}`)
        .set(org.headers)
        .expect(204);

      expectProblem(
        await request(a.server).get('/v1/tenant').set(member.headers),
        404,
        'tenant_not_found',
      );
      // The case the Redis channel exists for: a single process cannot know.
      await request(b.server).get('/v1/tenant').set(member.headers).expect(200);
    });
  });
});
