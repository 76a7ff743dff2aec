import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { LIVE_WINDOW_MS, SharedCaches } from '../../src/common/cache/shared-caches';
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
  await Promise.all([untilLive(a), untilLive(b)]);
  return [a, b];
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + LIVE_WINDOW_MS * 2;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Until the replica's own pings come back through its channel (it then trusts its long-lived copies). */
async function untilLive(t: TestApp): Promise<void> {
  const caches = t.app.get(SharedCaches);
  await until(() => caches.live(), 'the cache invalidation channel to deliver');
}

/**
 * The membership, tenant, entitlement, session and two-factor caches live in
 * each replica (a minute while invalidations are known to arrive). An
 * invalidation on one replica reaches the others at once (ARCHITECTURE,
 * request pipeline step 3: a removed member loses access at once): through
 * Redis when REDIS_URL is set, through PostgreSQL's LISTEN/NOTIFY otherwise.
 */
describe('cache invalidations between replicas', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  const channels: { name: string; kind: string; env: () => Record<string, string> }[] = [
    { name: 'through Redis', kind: 'redis', env: () => ({ REDIS_URL }) },
    { name: 'through PostgreSQL (no Redis)', kind: 'postgres', env: () => ({}) },
  ];

  describe.each(channels)('$name', ({ kind, env }) => {
    let a: TestApp;
    let b: TestApp;
    let available = false;

    beforeAll(async () => {
      available = kind !== 'redis' || (await reachable(REDIS_URL));
      if (!available) {
        process.stdout.write(`cache-invalidation: no Redis at ${REDIS_URL}; skipped\n`);
        return;
      }
      [a, b] = await twoReplicas(db, env());
    });
    afterAll(async () => {
      if (!available) return;
      await a.close();
      await b.close();
    });

    it('carries invalidations on the expected channel', () => {
      if (!available) return;
      expect(a.app.get(SharedCaches).channelKind).toBe(kind);
      expect(b.app.get(SharedCaches).live()).toBe(true);
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

    it('refuses an access token whose session ended on the other replica', async () => {
      if (!available) return;
      const org = await createOrg(a.app);
      await request(b.server).get('/v1/tenant').set(org.headers).expect(200);

      await request(a.server).post('/v1/auth/logout').set(org.headers).send({}).expect(204);

      expectProblem(
        await request(b.server).get('/v1/tenant').set(org.headers),
        401,
        'invalid_token',
      );
    });
  });

  it('has no channel with CACHE_CHANNEL=none (behind a transaction pooler): short lifetimes only', async () => {
    const alone = await bootTestApp({ database: db, env: { JWT_SECRET, CACHE_CHANNEL: 'none' } });
    try {
      const caches = alone.app.get(SharedCaches);
      expect(caches.channelKind).toBe('none');
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(caches.live()).toBe(false);
    } finally {
      await alone.close();
    }
  });

  describe('when the channel breaks', () => {
    let a: TestApp;
    let b: TestApp;

    beforeAll(async () => {
      [a, b] = await twoReplicas(db, {});
    });
    afterAll(async () => {
      await a.close();
      await b.close();
    });

    it('stops trusting long-lived copies at once, and drops them when the channel is back', async () => {
      const org = await createOrg(a.app);
      const member = await createUser(a.app, { tenant: org.tenant, role: TenantRole.Member });
      await request(b.server).get('/v1/tenant').set(member.headers).expect(200);

      // B's listening connection dies (a failover, a pooler restart): B knows at once.
      const admin = new Client({ connectionString: db.url });
      await admin.connect();
      try {
        const killed = await admin.query<{ pid: number }>(
          `select pg_terminate_backend(pid) as pid from pg_stat_activity
            where application_name = 'groundwork-cache-invalidation' and datname = current_database()`,
        );
        expect(killed.rowCount).toBe(2);
      } finally {
        await admin.end();
      }
      const caches = b.app.get(SharedCaches);
      await until(() => !caches.live(), 'B noticing its channel broke');

      // Both reconnect on their own and trust the channel again.
      await Promise.all([untilLive(a), untilLive(b)]);
      await request(a.server)
        .delete(`/v1/tenant/members/${member.user.id}`)
        .set(org.headers)
        .expect(204);
      expectProblem(
        await request(b.server).get('/v1/tenant').set(member.headers),
        404,
        'tenant_not_found',
      );
    });
  });
});
