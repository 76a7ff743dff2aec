import Redis from 'ioredis';
import request from 'supertest';
import { reachable } from '../support/reachable';
import { LOGIN_LIMITS } from '../../src/identity/login-throttle.service';
import { createOrg } from '../support/factories';
import { createTestDatabase, TestDatabase } from '../support/database';
import { bootTestApp, TestApp } from '../support/test-app';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * With REDIS_URL, replicas share sign-in limits. Runs where a Redis answers
 * (this project's development and CI machines); elsewhere it says so and skips.
 */
describe('sign-in limits shared through Redis', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let available = false;

  beforeAll(async () => {
    available = await reachable(REDIS_URL);
    if (!available) {
      process.stdout.write(`login-throttle-redis: no Redis at ${REDIS_URL}; skipped\n`);
      return;
    }
    db = await createTestDatabase();
    a = await bootTestApp({ database: db, env: { REDIS_URL } });
    b = await bootTestApp({ database: db, env: { REDIS_URL } });
  });
  // Limits live in Redis for 15 minutes: leave none behind for the next run.
  const forget = async (...keys: string[]) => {
    const redis = new Redis(REDIS_URL, { lazyConnect: true });
    await redis.connect();
    await redis.del(...keys.map((k) => `gw:${k}`));
    await redis.quit();
  };
  let email = '';

  afterAll(async () => {
    if (!available) return;
    await forget('login-ip:127.0.0.1', 'login-ip:::ffff:127.0.0.1', `login-account:${email}`);
    await a.close();
    await b.close();
    await db.drop();
  });

  it('counts failures made on one replica when another checks', async () => {
    if (!available) return;
    await forget('login-ip:127.0.0.1', 'login-ip:::ffff:127.0.0.1');
    const org = await createOrg(a.app);
    email = org.user.email;
    for (let i = 0; i < LOGIN_LIMITS.account.points; i++) {
      const replica = i % 2 ? a : b;
      await request(replica.server)
        .post('/v1/auth/login')
        .send({ email: org.user.email, password: `nope nope ${i}` })
        .expect(401);
    }
    const blocked = await request(a.server)
      .post('/v1/auth/login')
      .send({ email: org.user.email, password: 'nope nope' })
      .expect(429);
    expect(Number(blocked.headers['retry-after'])).toBeGreaterThan(0);
    await request(b.server)
      .post('/v1/auth/login')
      .send({ email: org.user.email, password: 'nope nope' })
      .expect(429);
  });
});
