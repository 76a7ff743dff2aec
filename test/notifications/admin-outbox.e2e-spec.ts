import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { createOrg, createUser, uniqueEmail } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';
import { eventually, SmtpSink } from './smtp-sink';

describe('admin outbox (no SMTP_URL: mail is held and read here)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  it('lists held mail to staff and shows bodies to platform admins only', async () => {
    const org = await createOrg(t.app);
    await api().post('/v1/auth/password/forgot').send({ email: org.user.email }).expect(202);
    const admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    const support = await createUser(t.app, { platformRole: PlatformRole.Support });

    const list = await api()
      .get(`/v1/admin/outbox?to=${encodeURIComponent(org.user.email)}`)
      .set(support.headers)
      .expect(200);
    expect(list.body.items).toHaveLength(1);
    expect(list.body.items[0]).toMatchObject({
      to: org.user.email,
      status: 'held',
      template: 'auth.reset_password',
    });
    expect(JSON.stringify(list.body)).not.toContain('token=');

    const id = list.body.items[0].id as string;
    await api().get(`/v1/admin/outbox/${id}`).set(support.headers).expect(403);
    const one = await api().get(`/v1/admin/outbox/${id}`).set(admin.headers).expect(200);
    expect(one.body.text).toMatch(/reset-password\?token=/);

    await api().get('/v1/admin/outbox').set(org.headers).expect(403);
    await api().get('/v1/admin/outbox').expect(401);
    await api().get('/v1/admin/outbox/not-a-uuid').set(admin.headers).expect(400);
    await api().get('/v1/admin/outbox?status=lost').set(admin.headers).expect(400);
  });
});

describe('auth mail over real SMTP', () => {
  let t: TestApp;
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    t = await bootTestApp({ env: { SMTP_URL: sink.url, OUTBOX_POLL_MS: '50' } });
  });
  afterAll(async () => {
    await t.close();
    await sink.close();
  });

  it('delivers the verification mail of a sign-up and the reset mail to a loopback SMTP receiver', async () => {
    const email = uniqueEmail('smtp');
    await request(t.server)
      .post('/v1/auth/signup')
      .send({
        email,
        password: 'a long enough passphrase 9',
        name: 'Sam',
        organizationName: 'SMTP Co',
        organizationSlug: `smtp-${Date.now()}`,
      })
      .expect(201);
    await request(t.server).post('/v1/auth/password/forgot').send({ email }).expect(202);
    const mine = () => sink.messages.filter((m) => m.to.includes(email));
    await eventually(() => mine().length >= 2, 'the two mails');
    const mails = mine();
    expect(mails.map((m) => m.subject).sort()).toEqual([
      'Confirm your email address',
      'Reset your password',
    ]);
    expect(mails.find((m) => m.subject === 'Reset your password')!.text).toMatch(
      /reset-password\?token=[A-Za-z0-9_-]{43}/,
    );
  });

  it('sends the verification mail again on request', async () => {
    const user = await createUser(t.app);
    await request(t.server).post('/v1/auth/verify-email/request').set(user.headers).expect(204);
    await eventually(
      () => sink.messages.some((m) => m.to.includes(user.user.email)),
      'the verification mail',
    );
    expect(sink.messages.find((m) => m.to.includes(user.user.email))!.subject).toBe(
      'Confirm your email address',
    );
    await request(t.server).post('/v1/auth/verify-email/request').expect(401);
  });
});
