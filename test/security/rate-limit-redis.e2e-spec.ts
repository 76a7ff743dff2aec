import { randomBytes } from 'node:crypto';
import Redis from 'ioredis';
import request from 'supertest';
import { reachable } from '../support/reachable';
import { createOrg, Org } from '../support/factories';
import { createTestDatabase, TestDatabase } from '../support/database';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Replicas share the signing key (and passport keeps one strategy per process). */
const JWT_SECRET = randomBytes(32).toString('hex');
const BUDGETS = {
  JWT_SECRET,
  RATE_LIMIT_IP_PER_MINUTE: '0',
  RATE_LIMIT_USER_PER_MINUTE: '4',
  RATE_LIMIT_TENANT_PER_MINUTE: '0',
};

/**
 * With REDIS_URL, replicas share the API's rate limits. The shared case runs
 * where a Redis answers (this project's development and CI machines);
 * elsewhere it says so and skips. The outage case needs no Redis.
 */
describe('API rate limits through Redis', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  describe('shared by two replicas', () => {
    let a: TestApp;
    let b: TestApp;
    let org: Org;
    let available = false;

    beforeAll(async () => {
      available = await reachable(REDIS_URL);
      if (!available) {
        process.stdout.write(`rate-limit-redis: no Redis at ${REDIS_URL}; skipped\n`);
        return;
      }
      a = await bootTestApp({ database: db, env: { ...BUDGETS, REDIS_URL } });
      b = await bootTestApp({ database: db, env: { ...BUDGETS, REDIS_URL } });
      org = await createOrg(a.app);
    });
    afterAll(async () => {
      if (!available) return;
      // The window lasts a minute: leave nothing behind for the next run.
      const redis = new Redis(REDIS_URL, { lazyConnect: true });
      await redis.connect();
      await redis.del(`gw:api-user:user:${org.user.id}`);
      await redis.quit();
      await a.close();
      await b.close();
    });

    it('counts requests served by one replica when the other decides', async () => {
      if (!available) return;
      for (let i = 0; i < 4; i++) {
        const replica = i % 2 ? a : b;
        const res = await request(replica.server).get('/v1/tenant').set(org.headers).expect(200);
        expect(res.headers['ratelimit-remaining']).toBe(String(3 - i));
      }
      for (const replica of [a, b]) {
        const refused = await request(replica.server).get('/v1/tenant').set(org.headers);
        const problem = expectProblem(refused, 429, 'too_many_requests');
        expect(problem.rateLimit).toBe('user');
        expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      }
    });
  });

  describe('when Redis does not answer', () => {
    let app: TestApp;
    beforeAll(async () => {
      // Nothing listens on port 1: every command fails at once (no offline queue).
      app = await bootTestApp({
        database: db,
        env: { ...BUDGETS, REDIS_URL: 'redis://127.0.0.1:1' },
      });
    });
    afterAll(() => app.close());

    it('still limits, in this process, instead of failing open or refusing everyone', async () => {
      const org = await createOrg(app.app);
      for (let i = 0; i < 4; i++) {
        await request(app.server).get('/v1/tenant').set(org.headers).expect(200);
      }
      expectProblem(
        await request(app.server).get('/v1/tenant').set(org.headers),
        429,
        'too_many_requests',
      );
    });
  });
});
