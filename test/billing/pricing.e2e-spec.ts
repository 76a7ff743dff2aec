import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { Plan } from '../../src/billing/entities/plan.entity';
import { Clock, ManualClock } from '../../src/common/clock';
import { createUser } from '../support/factories';
import { erroredFields, expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const TIERS = ['free', 'starter', 'pro', 'enterprise'];
const FEATURE_KEYS = [
  'seats',
  'support',
  'api_access',
  'audit_log',
  'knowledge_base',
  'sso',
  'uptime_sla',
];

/** The public pricing page over the seeded catalog (Free, Starter, Pro, Enterprise; USD and EUR). */
describe('GET /v1/pricing', () => {
  let t: TestApp;
  // Stands still, so the page cache expires only when a test says so.
  const clock = new ManualClock(new Date());

  beforeAll(async () => {
    t = await bootTestApp({ override: (b) => b.overrideProvider(Clock).useValue(clock) });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  it('lists the tiers in display order with prices, savings and the recommended tier, anonymously', async () => {
    const res = await api().get('/v1/pricing').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const body = res.body;
    expect(body.currency).toBeNull();
    expect(body.currencies).toEqual(['usd', 'eur']);
    expect(body.recommended).toBe('pro');
    expect(body.tiers.map((tier: { code: string }) => tier.code)).toEqual(TIERS);
    expect(body.tiers.filter((tier: { recommended: boolean }) => tier.recommended)).toHaveLength(1);

    const [free, starter, pro, enterprise] = body.tiers;
    expect(free).toEqual({
      code: 'free',
      name: 'Free',
      description: 'For a small team finding its feet.',
      supportTier: 'community',
      seatLimit: 5,
      trialDays: 0,
      recommended: false,
      prices: [],
    });
    expect(pro).toMatchObject({
      code: 'pro',
      name: 'Pro',
      supportTier: 'priority',
      seatLimit: 200,
      trialDays: 14,
      recommended: true,
    });
    expect(enterprise.seatLimit).toBeNull();
    expect(pro.prices.map((p: { currency: string }) => p.currency)).toEqual(['usd', 'eur']);
    expect(pro.prices[0]).toEqual({
      currency: 'usd',
      monthly: {
        priceId: '0193a000-0000-7000-8001-000000000031',
        interval: 'month',
        unitAmount: 2900,
        currency: 'usd',
      },
      yearly: {
        priceId: '0193a000-0000-7000-8001-000000000032',
        interval: 'year',
        unitAmount: 29000,
        currency: 'usd',
      },
      // 12 × 2900 − 29000 per seat per year; 5800 / 34800 = 16.7 %.
      yearlySaving: { amount: 5800, currency: 'usd', percent: 17 },
    });
    expect(pro.prices[1].yearlySaving).toEqual({ amount: 5400, currency: 'eur', percent: 17 });
    expect(starter.prices[0].yearlySaving).toEqual({ amount: 2400, currency: 'usd', percent: 17 });
  });

  it('has a complete comparison matrix: every feature in order × every tier', async () => {
    const { body } = await api().get('/v1/pricing').expect(200);
    expect(body.matrix.plans).toEqual(TIERS);
    expect(body.matrix.rows.map((row: { key: string }) => row.key)).toEqual(FEATURE_KEYS);
    for (const row of body.matrix.rows) {
      expect(Object.keys(row).sort()).toEqual(['cells', 'description', 'key', 'kind', 'name']);
      expect(Object.keys(row.cells).sort()).toEqual([...TIERS].sort());
    }
    const rows = body.matrix.rows as { key: string; cells: object }[];
    const row = (key: string) => rows.find((r) => r.key === key);
    expect(row('seats')).toMatchObject({
      name: 'Seats',
      kind: 'limit',
      cells: { free: 5, starter: 25, pro: 200, enterprise: null },
    });
    expect(row('sso')).toEqual({
      key: 'sso',
      name: 'Single sign-on',
      description: 'SAML and OIDC sign-in for the whole organisation.',
      kind: 'flag',
      cells: { free: false, starter: false, pro: true, enterprise: true },
    });
    expect(row('uptime_sla')?.cells).toEqual({
      free: null,
      starter: '99.5%',
      pro: '99.9%',
      enterprise: '99.95%',
    });
  });

  it('filters prices by currency (case-insensitive), keeping every tier', async () => {
    const eur = await api().get('/v1/pricing?currency=eur').expect(200);
    expect(eur.body.currency).toBe('eur');
    expect(eur.body.currencies).toEqual(['usd', 'eur']);
    expect(eur.body.tiers.map((tier: { prices: { currency: string }[] }) => tier.prices)).toEqual([
      [],
      [expect.objectContaining({ currency: 'eur' })],
      [expect.objectContaining({ currency: 'eur' })],
      [expect.objectContaining({ currency: 'eur' })],
    ]);
    const upper = await api().get('/v1/pricing?currency=USD').expect(200);
    expect(upper.body.currency).toBe('usd');
    expect(upper.body.tiers[2].prices.map((p: { currency: string }) => p.currency)).toEqual([
      'usd',
    ]);
    const gbp = await api().get('/v1/pricing?currency=gbp').expect(200);
    expect(gbp.body.tiers.every((tier: { prices: unknown[] }) => tier.prices.length === 0)).toBe(
      true,
    );
    expect(gbp.body.matrix.rows).toHaveLength(FEATURE_KEYS.length);
  });

  it.each([['jpy'], [''], ['usd,eur']])('refuses currency=%j with a 400 problem', async (value) => {
    const res = await api()
      .get(`/v1/pricing?currency=${encodeURIComponent(value)}`)
      .expect(400);
    const problem = expectProblem(res, 400, 'validation_failed');
    expect(erroredFields(problem)).toEqual(['currency']);
    expect(problem.errors?.[0].message).toMatch(/usd, eur, gbp/);
  });

  it('refuses unknown query parameters', async () => {
    const res = await api().get('/v1/pricing?plan=pro').expect(400);
    expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual(['plan']);
  });

  it('sends a strong ETag and public caching; If-None-Match with it gets an empty 304', async () => {
    const first = await api().get('/v1/pricing').expect(200);
    const etag = first.headers.etag;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(first.headers['cache-control']).toBe('public, max-age=60');

    const again = await api().get('/v1/pricing').expect(200);
    expect(again.headers.etag).toBe(etag);

    for (const header of [etag, `W/${etag}`, `"stale", ${etag}`, '*']) {
      const notModified = await api().get('/v1/pricing').set('If-None-Match', header).expect(304);
      expect(notModified.text ?? '').toBe('');
      expect(notModified.headers['content-type']).toBeUndefined();
      expect(notModified.headers['content-length'] ?? '0').toBe('0');
      expect(notModified.headers.etag).toBe(etag);
      expect(notModified.headers['cache-control']).toBe('public, max-age=60');
    }

    const stale = await api().get('/v1/pricing').set('If-None-Match', '"stale"').expect(200);
    expect(stale.body.tiers).toHaveLength(4);

    // Another representation, another tag; each revalidates on its own.
    const eur = await api().get('/v1/pricing?currency=eur').expect(200);
    expect(eur.headers.etag).not.toBe(etag);
    await api().get('/v1/pricing').set('If-None-Match', eur.headers.etag).expect(200);
    await api().get('/v1/pricing?currency=eur').set('If-None-Match', eur.headers.etag).expect(304);
  });

  it('serves from its cache (a minute while invalidations arrive), then reads the catalog again', async () => {
    const before = await api().get('/v1/pricing').expect(200);
    // Behind the service's back: the cached page does not see it yet.
    await t
      .em()
      .nativeUpdate(Plan, { code: 'starter' }, { description: 'Changed behind the cache.' });
    const cached = await api().get('/v1/pricing').expect(200);
    expect(cached.body.tiers[1].description).not.toBe('Changed behind the cache.');
    expect(cached.headers.etag).toBe(before.headers.etag);

    // CACHE_TTL_MS (60 s) is the longest any copy lives; without a working channel, 5 s.
    clock.advance(60_001);
    const fresh = await api().get('/v1/pricing').expect(200);
    expect(fresh.body.tiers[1].description).toBe('Changed behind the cache.');
    expect(fresh.headers.etag).not.toBe(before.headers.etag);
    await api().get('/v1/pricing').set('If-None-Match', before.headers.etag).expect(200);
  });

  it('shows an admin catalog change at once: a new price appears, an archived one goes', async () => {
    const admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    const before = await api().get('/v1/pricing').expect(200);
    const beforeGbp = await api().get('/v1/pricing?currency=gbp').expect(200);
    expect(beforeGbp.body.tiers[2].prices).toEqual([]);

    const starterId = '0193a000-0000-7000-8000-000000000002';
    const created = await api()
      .post(`/v1/admin/plans/${starterId}/prices`)
      .set(admin.headers)
      .send({ currency: 'gbp', interval: 'month', unitAmount: 1000 })
      .expect(201);

    const after = await api().get('/v1/pricing').expect(200);
    expect(after.headers.etag).not.toBe(before.headers.etag);
    expect(after.body.currencies).toEqual(['usd', 'eur', 'gbp']);
    expect(after.body.tiers[1].prices[2]).toEqual({
      currency: 'gbp',
      monthly: { priceId: created.body.id, interval: 'month', unitAmount: 1000, currency: 'gbp' },
      yearly: null,
      yearlySaving: null,
    });
    const gbp = await api().get('/v1/pricing?currency=gbp').expect(200);
    expect(gbp.body.tiers[1].prices).toHaveLength(1);
    await api().get('/v1/pricing').set('If-None-Match', before.headers.etag).expect(200);

    await api()
      .post(`/v1/admin/plans/${starterId}/prices/${created.body.id}/archive`)
      .set(admin.headers)
      .expect(200);
    const archived = await api().get('/v1/pricing?currency=gbp').expect(200);
    expect(archived.body.tiers[1].prices).toEqual([]);
    expect(archived.headers.etag).toBe(beforeGbp.headers.etag);
  });
});
