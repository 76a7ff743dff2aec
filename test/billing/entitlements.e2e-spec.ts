import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import {
  createOrg,
  createUser,
  uniqueEmail,
  uniqueSlug,
  type Actor,
  type Org,
} from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

const PRO_USD_MONTH = '0193a000-0000-7000-8001-000000000031';

/** What the plan allows reaches the seat limit on invitations and the CASL ability. */
describe('entitlements from the plan', () => {
  let t: TestApp;
  let staff: Actor;

  beforeAll(async () => {
    t = await bootTestApp();
    staff = await createUser(t.app, { platformRole: PlatformRole.Admin });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  const invite = (org: Org) =>
    api()
      .post('/v1/tenant/invitations')
      .set(org.headers)
      .send({ email: uniqueEmail('seat'), role: 'member' });

  async function subscribe(org: Org, priceId: string, quantity: number): Promise<void> {
    await api()
      .post('/v1/billing/payment-methods')
      .set(org.headers)
      .send({ paymentMethodId: 'pm_card_visa' })
      .expect(201);
    await api()
      .post('/v1/billing/subscription')
      .set(org.headers)
      .send({ priceId, quantity })
      .expect(201);
  }

  it("the free plan's seats bound invitations (the owner takes one)", async () => {
    const org = await createOrg(t.app);
    const overview = await api().get('/v1/billing/subscription').set(org.headers).expect(200);
    expect(overview.body.entitlements).toMatchObject({ planCode: 'free', seatLimit: 5 });
    for (let i = 0; i < 4; i++) await invite(org).expect(201);
    const refused = await invite(org).expect(409);
    expect(refused.body.code).toBe('seat_limit_reached');
  });

  it('a paid plan gives the seats paid for; buying more opens more', async () => {
    const org = await createOrg(t.app);
    await subscribe(org, PRO_USD_MONTH, 2);
    await invite(org).expect(201);
    expect((await invite(org).expect(409)).body.code).toBe('seat_limit_reached');
    await api()
      .post('/v1/billing/subscription/change')
      .set(org.headers)
      .send({ quantity: 3 })
      .expect(200);
    await invite(org).expect(201);
    // Fewer seats than are taken cannot be bought.
    const below = await api()
      .post('/v1/billing/subscription/change')
      .set(org.headers)
      .send({ quantity: 2 })
      .expect(409);
    expect(below.body).toMatchObject({ code: 'seats_below_members', seatsInUse: 3 });
  });

  it('a plan without API access removes creating keys from the ability, for owners and staff alike', async () => {
    const code = uniqueSlug('noapi');
    const plan = await api()
      .post('/v1/admin/plans')
      .set(staff.headers)
      .send({
        code,
        name: 'No API',
        description: 'A plan without API keys.',
        sortOrder: 90,
        supportTier: 'standard',
        seatLimit: 10,
        features: {
          support: 'Email',
          api_access: false,
          audit_log: true,
          knowledge_base: true,
          sso: false,
          uptime_sla: null,
        },
      })
      .expect(201);
    const price = await api()
      .post(`/v1/admin/plans/${plan.body.id}/prices`)
      .set(staff.headers)
      .send({ currency: 'usd', interval: 'month', unitAmount: 500 })
      .expect(201);

    const org = await createOrg(t.app);
    await api().post('/v1/tenant/api-keys').set(org.headers).send({ name: 'before' }).expect(201);
    await subscribe(org, price.body.id, 2);
    const refused = await api()
      .post('/v1/tenant/api-keys')
      .set(org.headers)
      .send({ name: 'after' })
      .expect(403);
    expect(refused.headers['content-type']).toMatch(/application\/problem\+json/);
    // Existing keys stay readable (and removable).
    const keys = await api().get('/v1/tenant/api-keys').set(org.headers).expect(200);
    expect(keys.body).toHaveLength(1);
    await api()
      .post('/v1/tenant/api-keys')
      .set({ ...staff.headers, 'X-Tenant-Id': org.tenant.id })
      .send({ name: 'staff' })
      .expect(403);

    // On a plan with API access again: allowed at once.
    await api()
      .post('/v1/billing/subscription/change')
      .set(org.headers)
      .send({ priceId: PRO_USD_MONTH })
      .expect(200);
    await api().post('/v1/tenant/api-keys').set(org.headers).send({ name: 'again' }).expect(201);
  });
});
