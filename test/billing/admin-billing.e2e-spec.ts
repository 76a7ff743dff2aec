import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { PlatformAuditEvent } from '../../src/tenancy/audit/platform-audit-event.entity';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

const PRO_USD_MONTH = '0193a000-0000-7000-8001-000000000031';
const PRO_EUR_MONTH = '0193a000-0000-7000-8001-000000000033';

/** Staff views of billing health, and the test clock's guard rails. */
describe('admin billing', () => {
  let t: TestApp;
  let admin: Actor;
  let support: Actor;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    support = await createUser(t.app, { platformRole: PlatformRole.Support });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  async function declinedOrg(card: string, priceId = PRO_USD_MONTH): Promise<Org> {
    const org = await createOrg(t.app);
    await api()
      .post('/v1/billing/payment-methods')
      .set(org.headers)
      .send({ paymentMethodId: card })
      .expect(201);
    await api()
      .post('/v1/billing/subscription')
      .set(org.headers)
      .send({ priceId, quantity: 1 })
      .expect(402);
    return org;
  }

  describe('GET /v1/admin/billing/payment-failures', () => {
    let insufficient: Org;
    let expired: Org;
    let euro: Org;

    beforeAll(async () => {
      insufficient = await declinedOrg('pm_card_chargeDeclinedInsufficientFunds');
      expired = await declinedOrg('pm_card_chargeDeclinedExpiredCard');
      euro = await declinedOrg('pm_card_chargeDeclinedInsufficientFunds', PRO_EUR_MONTH);
    });

    it('lists failures newest first with counts and amounts by category and currency', async () => {
      const res = await api()
        .get('/v1/admin/billing/payment-failures')
        .set(admin.headers)
        .expect(200);
      const ours = res.body.items.filter((i: { tenantId: string }) =>
        [insufficient.tenant.id, expired.tenant.id, euro.tenant.id].includes(i.tenantId),
      );
      expect(ours.map((i: { tenantId: string }) => i.tenantId)).toEqual([
        euro.tenant.id,
        expired.tenant.id,
        insufficient.tenant.id,
      ]);
      expect(res.body.byCategory).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ category: 'insufficient_funds', currency: 'usd' }),
          expect.objectContaining({ category: 'insufficient_funds', currency: 'eur' }),
          expect.objectContaining({ category: 'expired_card', currency: 'usd' }),
        ]),
      );
      expect(res.body.total).toBe(
        res.body.byCategory.reduce((sum: number, row: { count: number }) => sum + row.count, 0),
      );
    });

    it('filters by category and tenant, and counts over the same filters', async () => {
      const res = await api()
        .get('/v1/admin/billing/payment-failures')
        .query({ category: 'expired_card', tenantId: expired.tenant.id })
        .set(admin.headers)
        .expect(200);
      expect(res.body.items).toEqual([
        expect.objectContaining({
          tenantId: expired.tenant.id,
          category: 'expired_card',
          amount: 2900,
        }),
      ]);
      expect(res.body.byCategory).toEqual([
        { category: 'expired_card', currency: 'usd', count: 1, amount: 2900 },
      ]);
      expect(res.body.total).toBe(1);
    });

    it('filters by time and pages with a cursor', async () => {
      const future = await api()
        .get('/v1/admin/billing/payment-failures')
        .query({ from: new Date(Date.now() + 3600_000).toISOString() })
        .set(admin.headers)
        .expect(200);
      expect(future.body).toMatchObject({ items: [], total: 0, nextCursor: null });
      const first = await api()
        .get('/v1/admin/billing/payment-failures')
        .query({ limit: 1 })
        .set(admin.headers)
        .expect(200);
      expect(first.body.items).toHaveLength(1);
      const second = await api()
        .get('/v1/admin/billing/payment-failures')
        .query({ limit: 1, cursor: first.body.nextCursor })
        .set(admin.headers)
        .expect(200);
      expect(second.body.items[0].id).not.toBe(first.body.items[0].id);
    });

    it('refuses bad filters with a 400 problem', async () => {
      for (const query of [
        { category: 'nope' },
        { tenantId: 'x' },
        { from: 'yesterday' },
        { limit: 1000 },
      ]) {
        const res = await api()
          .get('/v1/admin/billing/payment-failures')
          .query(query)
          .set(admin.headers)
          .expect(400);
        expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      }
    });

    it('is for platform staff: support reads, tenant owners and anonymous callers do not', async () => {
      await api().get('/v1/admin/billing/payment-failures').set(support.headers).expect(200);
      await api().get('/v1/admin/billing/payment-failures').set(insufficient.headers).expect(403);
      await api().get('/v1/admin/billing/payment-failures').expect(401);
    });
  });

  describe('immediate cancel', () => {
    it('ends the subscription now, audited; platform support may not', async () => {
      const org = await createOrg(t.app);
      await api()
        .post('/v1/billing/payment-methods')
        .set(org.headers)
        .send({ paymentMethodId: 'pm_card_visa' });
      await api()
        .post('/v1/billing/subscription')
        .set(org.headers)
        .send({ priceId: PRO_USD_MONTH, quantity: 1 })
        .expect(201);
      const url = `/v1/admin/billing/tenants/${org.tenant.id}/subscription/cancel`;
      await api().post(url).set(support.headers).send({ reason: 'fraud' }).expect(403);
      await api().post(url).set(admin.headers).send({}).expect(400);
      const res = await api()
        .post(url)
        .set(admin.headers)
        .send({ reason: 'Chargeback fraud' })
        .expect(200);
      expect(res.body.status).toBe('canceled');
      expect(res.body.endedAt).toBeTruthy();
      const overview = await api().get('/v1/billing/subscription').set(org.headers).expect(200);
      expect(overview.body.subscription).toBeNull();
      const audit = await t.em().findOneOrFail(PlatformAuditEvent, {
        tenantId: org.tenant.id,
        action: 'billing.subscription.canceled_by_staff',
      });
      expect(audit.actorId).toBe(admin.user.id);
      // Nothing left to cancel.
      expect(
        (await api().post(url).set(admin.headers).send({ reason: 'again' }).expect(404)).body.code,
      ).toBe('subscription_not_found');
    });
  });

  describe('test clocks', () => {
    it('answers 404 for an unknown organisation and 403 to a tenant member', async () => {
      const unknown = '01900000-0000-7000-8000-000000000000';
      await api().get(`/v1/admin/billing/test-clocks/${unknown}`).set(admin.headers).expect(404);
      const org = await createOrg(t.app);
      const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
      await api()
        .get(`/v1/admin/billing/test-clocks/${org.tenant.id}`)
        .set(member.headers)
        .expect(403);
      const clock = await api()
        .get(`/v1/admin/billing/test-clocks/${org.tenant.id}`)
        .set(admin.headers)
        .expect(200);
      expect(Math.abs(Date.parse(clock.body.frozenTime) - Date.now())).toBeLessThan(60_000);
    });

    it('needs exactly a date or a number of days', async () => {
      const org = await createOrg(t.app);
      const url = `/v1/admin/billing/test-clocks/${org.tenant.id}/advance`;
      const both = { days: 3, to: '2031-01-01T00:00:00Z' };
      for (const body of [
        {},
        { days: 0 },
        { days: 1.5 },
        { to: 'soon' },
        both,
        // Found by the fuzzer: with both given, neither was checked (a 500 on the invalid date).
        { days: 3653, to: -3.0230790133966726e121 },
      ]) {
        const res = await api().post(url).set(admin.headers).send(body).expect(400);
        expect(res.body.detail).toBeTruthy();
      }
      const res = await api().post(url).set(admin.headers).send(both).expect(400);
      expect(JSON.stringify(res.body)).toContain('not both');
    });
  });

  describe('in production', () => {
    let prod: TestApp;

    beforeAll(async () => {
      prod = await bootTestApp({
        env: {
          NODE_ENV: 'production',
          DATABASE_URL: t.db.url,
          BILLING_GATEWAY: 'simulated',
          JWT_SECRET: randomBytes(48).toString('base64url'),
          DATA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}`,
          STRIPE_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64url')}`,
        },
        database: t.db,
      });
    });
    afterAll(() => prod.close());

    it('has no test clocks', async () => {
      const staff = await createUser(prod.app, { platformRole: PlatformRole.Admin });
      const org = await createOrg(prod.app);
      const res = await request(prod.server)
        .post(`/v1/admin/billing/test-clocks/${org.tenant.id}/advance`)
        .set(staff.headers)
        .send({ days: 30 })
        .expect(404);
      expect(res.body.code).toBe('test_clocks_disabled');
    });
  });
});
