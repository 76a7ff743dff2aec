import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { Clock, ManualClock } from '../../src/common/clock';
import { FlagSource } from '../../src/features/feature-resolution';
import { Actor, createOrg, createUser } from '../support/factories';
import { createTestDatabase, TestDatabase } from '../support/database';
import { eventually } from '../support/polling';
import { reachable } from '../support/reachable';
import { bootTestApp, TestApp } from '../support/test-app';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
/** Replicas share the signing key. */
const JWT_SECRET = randomBytes(32).toString('hex');

/**
 * A flag changed through one replica is seen by the other at once, through
 * the shared caches' Redis channel (ADR 0022, 0023). Both replicas' clocks
 * stand still, so their caches never expire: only the invalidation can make
 * the other replica read again. Skipped where no Redis answers.
 */
describe('feature flag changes between replicas (Redis)', () => {
  let db: TestDatabase;
  let a: TestApp;
  let b: TestApp;
  let available = false;
  let admin: Actor;

  beforeAll(async () => {
    available = await reachable(REDIS_URL);
    if (!available) {
      process.stdout.write(`feature-flags-redis: no Redis at ${REDIS_URL}; skipped\n`);
      return;
    }
    db = await createTestDatabase();
    const boot = () =>
      bootTestApp({
        database: db,
        env: { JWT_SECRET, REDIS_URL },
        override: (builder) => builder.overrideProvider(Clock).useValue(new ManualClock()),
      });
    a = await boot();
    b = await boot();
    admin = await createUser(a.app, { platformRole: PlatformRole.Admin });
  }, 120_000);
  afterAll(async () => {
    if (!available) return;
    await a.close();
    await b.close();
    await db.drop();
  });

  const featureOn = async (t: TestApp, headers: Record<string, string>, key: string) =>
    (
      (await request(t.server).get('/v1/tenant/features').set(headers).expect(200)).body as {
        items: { key: string; enabled: boolean; source: FlagSource }[];
      }
    ).items.find((item) => item.key === key);

  it('shows an override and a flag change made on A at the next requests to B', async () => {
    if (!available) return;
    const org = await createOrg(a.app);
    const key = `flag_${randomBytes(4).toString('hex')}`;
    await request(a.server)
      .post('/v1/admin/features')
      .set(admin.headers)
      .send({ key, description: 'Across replicas.', defaultEnabled: false })
      .expect(201);
    // B caches the flag off.
    await eventually(
      'B to see the new flag',
      async () => (await featureOn(b, org.headers, key)) !== undefined,
      3_000,
    );
    expect(await featureOn(b, org.headers, key)).toMatchObject({
      enabled: false,
      source: 'default',
    });

    await request(a.server)
      .put(`/v1/admin/features/${key}/overrides/${org.tenant.id}`)
      .set(admin.headers)
      .send({ enabled: true })
      .expect(200);
    await eventually(
      'B to see the override',
      async () => (await featureOn(b, org.headers, key))?.source === FlagSource.Override,
      3_000,
    );

    await request(a.server)
      .delete(`/v1/admin/features/${key}/overrides/${org.tenant.id}`)
      .set(admin.headers)
      .expect(204);
    await request(a.server)
      .patch(`/v1/admin/features/${key}`)
      .set(admin.headers)
      .send({ defaultEnabled: true })
      .expect(200);
    await eventually(
      'B to see the new default',
      async () => {
        const flag = await featureOn(b, org.headers, key);
        return flag?.source === FlagSource.Default && flag.enabled;
      },
      3_000,
    );
  });
});
