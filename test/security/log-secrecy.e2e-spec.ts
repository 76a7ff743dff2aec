import request from 'supertest';
import Stripe from 'stripe';
import { OutboxMessage } from '../../src/notifications/entities/outbox-message.entity';
import { PRICES } from '../billing/billing-helpers';
import { TEST_PASSWORD, uniqueEmail, uniqueSlug } from '../support/factories';
import { LogCapture } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const NEW_PASSWORD = 'a different passphrase for the reset 93';
/** A card number (Stripe's test Visa): it must never be echoed into a log line, even when refused. */
const CARD_NUMBER = '4242424242424242';

/**
 * Everything secret that passes through the app in a whole customer journey,
 * logged at the most verbose level, and then the captured log searched for
 * every one of those values: passwords, access and refresh tokens, API keys,
 * mailed one-time tokens, webhook signatures, configured secrets and keys,
 * and card data.
 */
describe('logs keep secrets out', () => {
  let t: TestApp;
  const logs = new LogCapture();
  /** Every secret value the journey handled, with what it is (for the failure message). */
  const secrets = new Map<string, string>();
  const keep = (what: string, value: string | undefined) => {
    expect(value).toBeTruthy();
    secrets.set(value!, what);
  };
  const api = () => request(t.server);

  async function mailedToken(to: string, template: string): Promise<string> {
    const [message] = await t
      .em()
      .find(OutboxMessage, { to, template }, { orderBy: { createdAt: 'desc' }, limit: 1 });
    const token = /token=([A-Za-z0-9_-]{43})/.exec(message?.text ?? '')?.[1];
    keep(`${template} token`, token);
    return token!;
  }

  beforeAll(async () => {
    t = await bootTestApp({ env: { LOG_LEVEL: 'trace' }, logDestination: logs });
    keep('JWT_SECRET', t.config.secrets.jwtSecret.reveal());
    keep('STRIPE_WEBHOOK_SECRET', t.config.billing.webhookSecret.reveal());
    for (const key of t.config.secrets.dataEncryptionKeys) {
      keep(`DATA_ENCRYPTION_KEYS ${key.id}`, key.key.reveal());
    }

    // Sign-up, sign-in, refresh, the tenant, a failed sign-in.
    const email = uniqueEmail('secrets');
    keep('password', TEST_PASSWORD);
    const signup = await api()
      .post('/v1/auth/signup')
      .send({
        email,
        password: TEST_PASSWORD,
        name: 'Sam Secret',
        organizationName: 'Secrets Ltd',
        organizationSlug: uniqueSlug('secrets'),
      })
      .expect(201);
    keep('signup access token', signup.body.accessToken);
    keep('signup refresh token', signup.body.refreshToken);
    const login = await api()
      .post('/v1/auth/login')
      .send({ email, password: TEST_PASSWORD })
      .expect(200);
    keep('access token', login.body.accessToken);
    keep('refresh token', login.body.refreshToken);
    let headers = { Authorization: `Bearer ${login.body.accessToken}` };
    const refreshed = await api()
      .post('/v1/auth/refresh')
      .send({ refreshToken: login.body.refreshToken })
      .expect(200);
    keep('rotated refresh token', refreshed.body.refreshToken);
    keep('rotated access token', refreshed.body.accessToken);
    headers = { Authorization: `Bearer ${refreshed.body.accessToken}` };
    keep('wrong password', 'not the password but close 1');
    await api()
      .post('/v1/auth/login')
      .send({ email, password: 'not the password but close 1' })
      .expect(401);
    await api().get('/v1/tenant').set(headers).expect(200);

    // Billing: a card refused as a raw number, a real test card, a subscription, a decline.
    await api()
      .post('/v1/billing/payment-methods')
      .set(headers)
      .send({ paymentMethodId: CARD_NUMBER });
    await api()
      .post('/v1/billing/payment-methods')
      .set(headers)
      .send({ paymentMethodId: 'pm_card_visa' })
      .expect(201);
    await api()
      .post('/v1/billing/subscription')
      .set(headers)
      .send({ priceId: PRICES.PRO_MONTH, quantity: 2 })
      .expect(201);
    await api()
      .post('/v1/billing/payment-methods')
      .set(headers)
      .send({ paymentMethodId: 'pm_card_chargeDeclinedInsufficientFunds' });

    // An API key, used once, and a bad one.
    const key = await api()
      .post('/v1/tenant/api-keys')
      .set(headers)
      .send({ name: 'CI' })
      .expect(201);
    const plaintextKey = key.body.key as string | undefined;
    keep('API key', plaintextKey);
    await api().get('/v1/tenant').set('X-Api-Key', plaintextKey!).expect(200);
    keep('forged API key', `${plaintextKey!.slice(0, -4)}zzzz`);
    await api()
      .get('/v1/tenant')
      .set('X-Api-Key', `${plaintextKey!.slice(0, -4)}zzzz`)
      .expect(401);

    // Mailed one-time tokens: verification and password reset.
    await api().post('/v1/auth/verify-email/request').set(headers);
    const verifyToken = await mailedToken(email, 'auth.verify_email');
    await api().post('/v1/auth/verify-email').send({ token: verifyToken }).expect(204);
    await api().post('/v1/auth/password/forgot').send({ email }).expect(202);
    const resetToken = await mailedToken(email, 'auth.reset_password');
    keep('new password', NEW_PASSWORD);
    await api()
      .post('/v1/auth/password/reset')
      .send({ token: resetToken, password: NEW_PASSWORD })
      .expect(204);

    // A signed webhook, and one with a forged signature.
    const payload = JSON.stringify({
      id: 'evt_log_secrecy',
      object: 'event',
      created: Math.floor(Date.now() / 1000),
      livemode: false,
      type: 'customer.updated',
      data: { object: { id: 'cus_unknown', object: 'customer' } },
    });
    const signature = Stripe.webhooks.generateTestHeaderString({
      payload,
      secret: t.config.billing.webhookSecret.reveal(),
    });
    keep('webhook signature', signature.split('v1=')[1]);
    await api()
      .post('/webhooks/stripe')
      .set('Content-Type', 'application/json')
      .set('Stripe-Signature', signature)
      .send(payload);
    await api()
      .post('/webhooks/stripe')
      .set('Content-Type', 'application/json')
      .set('Stripe-Signature', `t=1,v1=${'ab'.repeat(32)}`)
      .send(payload)
      .expect(400);

    // Reusing a rotated refresh token is refused and revokes the family (logged as a warning).
    const again = await api()
      .post('/v1/auth/login')
      .send({ email, password: NEW_PASSWORD })
      .expect(200);
    keep('second session access token', again.body.accessToken);
    keep('second session refresh token', again.body.refreshToken);
    await api()
      .post('/v1/auth/refresh')
      .send({ refreshToken: again.body.refreshToken })
      .expect(200);
    await api()
      .post('/v1/auth/refresh')
      .send({ refreshToken: again.body.refreshToken })
      .expect(401);

    // Sign out: the session's tokens are dead now, and still must not be logged when tried.
    await api()
      .post('/v1/auth/logout')
      .set(headers)
      .send({ refreshToken: refreshed.body.refreshToken });
    await api().get('/v1/tenant').set(headers).expect(401);
  });
  afterAll(() => t?.close());

  it('captured a real log of the journey (every request, at trace level)', () => {
    const completed = logs.entries.filter((e) => e.msg === 'request completed');
    expect(completed.length).toBeGreaterThanOrEqual(20);
    expect(secrets.size).toBeGreaterThanOrEqual(15);
  });

  it('holds none of the secrets, whole or as the signature of a token', () => {
    const text = logs.text;
    const found: string[] = [];
    for (const [value, what] of secrets) {
      const parts = value.split('.');
      // A JWT's signature alone is enough to be worth hiding; payloads are not secret.
      const needles = parts.length === 3 ? [value, parts[2]] : [value];
      for (const needle of needles) if (text.includes(needle)) found.push(what);
    }
    expect(found).toEqual([]);
  });

  it('holds no card number and no credential header value', () => {
    const text = logs.text;
    expect(text).not.toContain(CARD_NUMBER);
    // Luhn-valid runs of 15–19 digits starting as card numbers do (Amex 3, Visa 4,
    // Mastercard 5, Discover 6). Shorter runs are left out: millisecond times are 13 digits.
    const pans = (text.match(/\b[3-6]\d{14,18}\b/g) ?? []).filter(luhn);
    expect(pans).toEqual([]);
    // The request serializer keeps method, URL and address only; should headers
    // ever be logged, credentials among them must read as redacted.
    for (const entry of logs.entries) {
      const req = entry.req as { headers?: Record<string, string> } | undefined;
      for (const name of ['authorization', 'x-api-key', 'stripe-signature', 'cookie']) {
        const value = req?.headers?.[name];
        if (value !== undefined) expect({ name, value }).toEqual({ name, value: '[redacted]' });
      }
    }
  });
});

function luhn(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let d = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
  }
  return sum % 10 === 0;
}
