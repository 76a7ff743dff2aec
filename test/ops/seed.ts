import request from 'supertest';
import { PRICES } from '../billing/billing-helpers';
import { TEST_PASSWORD, uniqueEmail, uniqueSlug } from '../support/factories';
import type { TestApp } from '../support/test-app';

export interface SeededOrg {
  tenantId: string;
  slug: string;
  email: string;
  headers: Record<string, string>;
  ticketId: string;
  attachmentId: string;
  /** The attachment's bytes (a small PNG). */
  attachment: Buffer;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * An organisation with something in every part of the product, made through
 * the API as a customer would: an owner, a paid Pro subscription (customer,
 * card, invoice, lines, attempt), an invitation, an API key and a support
 * ticket with a reply and an attachment.
 */
export async function seedOrg(t: TestApp, prefix: string): Promise<SeededOrg> {
  const api = () => request(t.server);
  const email = uniqueEmail(prefix);
  const slug = uniqueSlug(prefix);
  const signup = await api()
    .post('/v1/auth/signup')
    .send({
      email,
      password: TEST_PASSWORD,
      name: `${prefix} Owner`,
      organizationName: `${prefix} Ltd`,
      organizationSlug: slug,
    })
    .expect(201);
  const tenantId = signup.body.tenantId as string;
  const headers = { Authorization: `Bearer ${signup.body.accessToken}` };
  await api()
    .post('/v1/billing/payment-methods')
    .set(headers)
    .send({ paymentMethodId: 'pm_card_visa' })
    .expect(201);
  await api()
    .post('/v1/billing/subscription')
    .set(headers)
    .send({ priceId: PRICES.PRO_MONTH, quantity: 3 })
    .expect(201);
  await api()
    .post('/v1/tenant/invitations')
    .set(headers)
    .send({ email: uniqueEmail(`${prefix}-invitee`), role: 'member' })
    .expect(201);
  await api().post('/v1/tenant/api-keys').set(headers).send({ name: 'CI' }).expect(201);
  const ticket = await api()
    .post('/v1/support/tickets')
    .set(headers)
    .send({ subject: `${prefix}: export fails`, description: 'The CSV export times out.' })
    .expect(201);
  const ticketId = ticket.body.id as string;
  await api()
    .post(`/v1/support/tickets/${ticketId}/replies`)
    .set(headers)
    .send({ body: 'Still failing this morning.' })
    .expect(201);
  const attachment = Buffer.concat([PNG_SIGNATURE, Buffer.from(`${prefix} screenshot`)]);
  const uploaded = await api()
    .post(`/v1/support/tickets/${ticketId}/attachments`)
    .query({ filename: 'screenshot.png' })
    .set(headers)
    .set('content-type', 'image/png')
    .send(attachment)
    .expect(201);
  return {
    tenantId,
    slug,
    email,
    headers,
    ticketId,
    attachmentId: uploaded.body.id as string,
    attachment,
  };
}
