import request from 'supertest';
import { Clock, ManualClock } from '../../src/common/clock';
import { OutboxMessage } from '../../src/notifications/entities/outbox-message.entity';
import { SeatLimit } from '../../src/tenancy/invitations/seat-limit';
import { createOrg, uniqueEmail } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

const HOUR = 3600_000;

async function tokenFromMail(t: TestApp, to: string, template: string): Promise<string> {
  const [message] = await t
    .em()
    .find(OutboxMessage, { to, template }, { orderBy: { id: 'desc' }, limit: 1 });
  return /token=([A-Za-z0-9_-]{43})/.exec(message.text)![1];
}

/** Time-dependent rules, driven by the injectable clock; and the seat limit hook. */
describe('expiry and seats', () => {
  let t: TestApp;
  const clock = new ManualClock(new Date());
  let seats: number | undefined;

  beforeAll(async () => {
    t = await bootTestApp({
      override: (b) =>
        b
          .overrideProvider(Clock)
          .useValue(clock)
          .overrideProvider(SeatLimit)
          .useValue({ limitFor: () => Promise.resolve(seats) }),
    });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  it('refuses a password-reset link after its hour', async () => {
    const org = await createOrg(t.app);
    await api().post('/v1/auth/password/forgot').send({ email: org.user.email }).expect(202);
    const token = await tokenFromMail(t, org.user.email, 'auth.reset_password');
    clock.advance(HOUR + 1000);
    const res = await api()
      .post('/v1/auth/password/reset')
      .send({ token, password: 'a fresh long passphrase' })
      .expect(401);
    expect(res.body.code).toBe('token_expired');
  });

  it('refuses an invitation after its week, and resending gives a new week', async () => {
    const org = await createOrg(t.app);
    const email = uniqueEmail('late');
    const created = await api()
      .post('/v1/tenant/invitations')
      .set(org.headers)
      .send({ email, role: 'member' })
      .expect(201);
    const token = await tokenFromMail(t, email, 'tenant.invitation');
    clock.advance(7 * 24 * HOUR + 1000);
    const late = await api()
      .post('/v1/auth/invitations/accept')
      .send({ token, name: 'Late', password: 'a fresh long passphrase' })
      .expect(410);
    expect(late.body.code).toBe('invitation_expired');
    const listed = await api().get('/v1/tenant/invitations').set(org.headers).expect(200);
    expect(listed.body[0].status).toBe('expired');

    await api()
      .post(`/v1/tenant/invitations/${created.body.id}/resend`)
      .set(org.headers)
      .expect(200);
    const fresh = await tokenFromMail(t, email, 'tenant.invitation');
    await api()
      .post('/v1/auth/invitations/accept')
      .send({ token: fresh, name: 'Late', password: 'a fresh long passphrase' })
      .expect(200);
  });

  it('stops invitations when members plus pending invitations fill the seats', async () => {
    const org = await createOrg(t.app);
    seats = 2; // the owner and one more
    try {
      await api()
        .post('/v1/tenant/invitations')
        .set(org.headers)
        .send({ email: uniqueEmail(), role: 'member' })
        .expect(201);
      const full = await api()
        .post('/v1/tenant/invitations')
        .set(org.headers)
        .send({ email: uniqueEmail(), role: 'member' })
        .expect(409);
      expect(full.body.code).toBe('seat_limit_reached');
    } finally {
      seats = undefined;
    }
  });
});
