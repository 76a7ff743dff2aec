import request, { type Response } from 'supertest';
import { PaymentGateway } from '../../src/billing/payments/payment-gateway';
import { SimulatedGateway } from '../../src/billing/payments/simulated.gateway';
import { TEST_PASSWORD, uniqueEmail, uniqueSlug, type Actor } from '../support/factories';
import type { TestApp } from '../support/test-app';

/** Seeded prices (migrations/platform/…_catalog_seed.ts): per seat, minor units. */
export const PRICES = {
  STARTER_MONTH: '0193a000-0000-7000-8001-000000000021', // USD 1200 / month
  STARTER_YEAR: '0193a000-0000-7000-8001-000000000022', // USD 12000 / year
  STARTER_EUR_MONTH: '0193a000-0000-7000-8001-000000000023', // EUR 1100 / month
  PRO_MONTH: '0193a000-0000-7000-8001-000000000031', // USD 2900 / month
  PRO_YEAR: '0193a000-0000-7000-8001-000000000032', // USD 29000 / year
  PRO_EUR_MONTH: '0193a000-0000-7000-8001-000000000033', // EUR 2700 / month
  ENTERPRISE_MONTH: '0193a000-0000-7000-8001-000000000041', // USD 7900 / month, no trial
} as const;

export type Headers = Record<string, string>;
/** A response body as supertest gives it (untyped): the assertions check its shape. */
export type Body = Response['body'];

/** An organisation signed up through the API, with its owner's headers. */
export interface Buyer {
  tenantId: string;
  headers: Headers;
}

/** Midnight UTC of a day, as the API writes it. */
export const iso = (day: string): string => `${day}T00:00:00.000Z`;

/**
 * The billing calls the e2e suites share, bound to one test app and a
 * platform admin (who drives the test clock); getters, as both are made in `beforeAll`.
 */
export function billingClient(app: () => TestApp, staff: () => Actor) {
  const api = () => request(app().server);
  const gateway = () => app().app.get<PaymentGateway, SimulatedGateway>(PaymentGateway);
  return {
    api,
    gateway,
    /** What a tenant's cards were asked to pay, in order (declined attempts included). */
    charges: (tenantId: string): number[] =>
      gateway()
        .chargeLog.filter((charge) => charge.metadata.tenant_id === tenantId)
        .map((charge) => charge.amount),

    /** Signs a new owner and organisation up through the API. */
    async signUp(): Promise<Buyer> {
      const res = await api()
        .post('/v1/auth/signup')
        .send({
          email: uniqueEmail('buyer'),
          password: TEST_PASSWORD,
          name: 'Grace Buyer',
          organizationName: 'Buyers Ltd',
          organizationSlug: uniqueSlug('buyers'),
        })
        .expect(201);
      return {
        tenantId: res.body.tenantId as string,
        headers: { Authorization: `Bearer ${res.body.accessToken}` },
      };
    },

    /** Moves the tenant's billing time to midnight UTC of `day` and runs what falls due. */
    async advance(tenantId: string, day: string): Promise<Body> {
      const res = await api()
        .post(`/v1/admin/billing/test-clocks/${tenantId}/advance`)
        .set(staff().headers)
        .send({ to: iso(day) })
        .expect(200);
      return res.body;
    },

    /** Saves a card (a simulated test card id); the request, for the caller to assert on. */
    addCard(headers: Headers, paymentMethodId: string, makeDefault?: boolean) {
      return api()
        .post('/v1/billing/payment-methods')
        .set(headers)
        .send(makeDefault === undefined ? { paymentMethodId } : { paymentMethodId, makeDefault });
    },

    async overview(headers: Headers): Promise<Body> {
      return (await api().get('/v1/billing/subscription').set(headers).expect(200)).body;
    },
  };
}
