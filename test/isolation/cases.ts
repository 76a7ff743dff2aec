import { PlatformRole, TenantRole } from '../../src/access/roles';
import { createUser, uniqueEmail } from '../support/factories';
import { CaseRequest, tag, VictimTenant } from './harness';

/**
 * How the isolation suite attacks one tenant-scoped operation: it creates A's
 * objects with `setup`, builds the request A's owner would send with
 * `request` (the OpenAPI document gives the method and path template), checks
 * that A's owner gets `success` with it, then sends it as every attacker.
 */
export interface IsolationCase<Objects extends Record<string, string> = Record<string, string>> {
  /**
   * Creates, in tenant A, the objects the request names — through the HTTP
   * API as A's owner, or with the factories. Every string returned is A's
   * data: the suite checks that no attacker ever sees it.
   */
  setup?(victim: VictimTenant): Promise<Objects>;
  /** The request A's owner would send, its path parameters filled from A's objects. */
  request(victim: VictimTenant, objects: Objects): CaseRequest;
  /** The status A's owner gets for it (the control: the request itself is valid). */
  success: number;
  /**
   * Attack (a), B's owner sending the same request in B: a route naming A's
   * objects must not find them (`{ notFound: <problem code> }`); a collection
   * or singleton route answers with B's own data (`'own-data'`, status
   * `success`), which must hold nothing of A's.
   */
  inOtherTenant: { notFound: string } | 'own-data';
  /**
   * Plain members may call it (tenant reads): attack (f), wrong role, does not
   * apply, and the suite checks instead that a member does get `success`.
   */
  memberMay?: boolean;
  /**
   * Why A's owner's answer names nothing A had before the request (only what
   * the request itself made: a new card, a gateway setup intent, a webhook
   * event): the control then does not require it to hold A's known data.
   */
  answerOnlyNew?: string;
  /**
   * Plain members may use the route, but only on their own objects: A's
   * owner's object is then not found for them (this problem code), not forbidden.
   */
  memberNotFound?: string;
  /**
   * Only the operator's staff may call it, acting in A (why, in a word): the
   * control is sent by a platform support user with A's tenant header, and
   * every tenant role (B's owner in attack (a) too) is refused by policy, 403,
   * before anything is looked up.
   */
  staffOnly?: string;
}

/** Keeps the objects' type between `setup` and `request`. */
const defineCase = <Objects extends Record<string, string>>(
  isolationCase: IsolationCase<Objects>,
): IsolationCase => isolationCase;

/** A second member of A, as a target for role changes and removal. */
async function victimMember(a: VictimTenant) {
  const target = await createUser(a.app, {
    tenant: a.tenant,
    role: TenantRole.Member,
    email: uniqueEmail('victim-target'),
    name: `Victim target ${tag()}`,
  });
  return { userId: target.user.id, email: target.user.email, name: target.user.name };
}

/** A pending invitation of A's, created by A's owner through the API. */
async function victimInvitation(a: VictimTenant) {
  const res = await a
    .http()
    .post('/v1/tenant/invitations')
    .set(a.owner.headers)
    .send({ email: uniqueEmail('victim-invitee'), role: 'member' })
    .expect(201);
  return { id: res.body.id as string, email: res.body.email as string };
}

/** Seeded price (migrations/platform/…_catalog_seed.ts): Pro, USD, monthly; up to 200 seats. */
const PRO_USD_MONTH = '0193a000-0000-7000-8001-000000000031';
/** Seats A subscribes for: more than it uses (cases may add members), within Pro's limit. */
const SEATS = 20;

/**
 * A card of A's, saved by A's owner through the API (the simulated gateway
 * takes Stripe's test cards). Only its id is A's: brand and last 4 are the
 * test card's, the same in every tenant that uses it.
 */
async function victimCard(a: VictimTenant, card = 'pm_card_visa', makeDefault = false) {
  const res = await a
    .http()
    .post('/v1/billing/payment-methods')
    .set(a.owner.headers)
    .send({ paymentMethodId: card, makeDefault })
    .expect(201);
  return res.body.id as string;
}

/** A subscribed by A's owner through the API: Pro monthly, charged to `card`. */
async function subscribeVictim(a: VictimTenant, card: string) {
  const paymentMethodId = await victimCard(a, card);
  const res = await a
    .http()
    .post('/v1/billing/subscription')
    .set(a.owner.headers)
    .send({ priceId: PRO_USD_MONTH, quantity: SEATS })
    .expect(201);
  return {
    objects: {
      paymentMethodId,
      subscriptionId: res.body.subscription.id as string,
      invoiceId: res.body.invoice.id as string,
      // To the millisecond, when A subscribed: A's alone (and what a preview answers with).
      currentPeriodEnd: res.body.subscription.currentPeriodEnd as string,
    },
    payment: res.body.payment as { status: string; paymentId: string | null },
  };
}

/** A with an active subscription, paid with a card that needs no authentication. */
async function victimSubscription(a: VictimTenant) {
  const { objects, payment } = await subscribeVictim(a, 'pm_card_visa');
  expect(payment.status).toBe('succeeded');
  return objects;
}

/**
 * A whose first payment waits for 3-D Secure: the subscription `incomplete`,
 * its invoice open, the gateway's payment in `requires_action`.
 */
async function victimAwaitingAuthentication(a: VictimTenant) {
  const { objects, payment } = await subscribeVictim(a, 'pm_card_authenticationRequired');
  expect(payment).toMatchObject({ status: 'requires_action', paymentId: expect.any(String) });
  return { ...objects, paymentId: payment.paymentId! };
}

/** A ticket of A's, opened by A's owner through the API. */
async function victimTicket(a: VictimTenant) {
  const res = await a
    .http()
    .post('/v1/support/tickets')
    .set(a.owner.headers)
    .send({ subject: `Victim ticket ${tag()}`, description: `Private words ${tag()}` })
    .expect(201);
  return { id: res.body.id as string, subject: res.body.subject as string };
}

/** A's ticket, solved by A's owner (owners handle their organisation's tickets). */
async function victimSolvedTicket(a: VictimTenant) {
  const ticket = await victimTicket(a);
  await a
    .http()
    .patch(`/v1/support/tickets/${ticket.id}`)
    .set(a.owner.headers)
    .send({ status: 'solved' })
    .expect(200);
  return ticket;
}

/** A file on A's ticket, uploaded by A's owner; its name and words are A's. */
async function victimAttachment(a: VictimTenant) {
  const ticket = await victimTicket(a);
  const content = `Private file ${tag()}`;
  const res = await a
    .http()
    .post(`/v1/support/tickets/${ticket.id}/attachments`)
    .query({ filename: `victim-${tag()}.txt` })
    .set(a.owner.headers)
    .set('content-type', 'text/plain')
    .send(content)
    .expect(201);
  return {
    id: ticket.id,
    subject: ticket.subject,
    attachmentId: res.body.id as string,
    fileName: res.body.fileName as string,
    content,
  };
}

/** A canned response for A's ticket to be answered with (macros are the operator's, written by an admin). */
async function victimMacro(a: VictimTenant) {
  const admin = await createUser(a.app, { platformRole: PlatformRole.Admin });
  const res = await a
    .http()
    .post('/v1/admin/support/macros')
    .set(admin.headers)
    .send({
      name: `Macro ${tag()}`,
      body: 'About #{{ticket.number}}: on it.',
      setStatus: 'pending',
    })
    .expect(201);
  return res.body.id as string;
}

/** A's solved ticket and a knowledge-base category (the operator's) for its draft. */
async function victimSolvedTicketAndCategory(a: VictimTenant) {
  const ticket = await victimSolvedTicket(a);
  const admin = await createUser(a.app, { platformRole: PlatformRole.Admin });
  const res = await a
    .http()
    .post('/v1/admin/kb/categories')
    .set(admin.headers)
    .send({ slug: `drafts-${tag()}`.toLowerCase(), name: 'Drafts' })
    .expect(201);
  return { ...ticket, categoryId: res.body.id as string };
}

/**
 * One case per tenant-scoped operationId of the OpenAPI document. The suite
 * fails when an operation has no case here, or a case no longer has an
 * operation: a new tenant-scoped route is attacked from the day it exists.
 */
export const ISOLATION_CASES: Record<string, IsolationCase> = {
  getTenant: defineCase({
    request: () => ({}),
    success: 200,
    inOtherTenant: 'own-data',
    memberMay: true,
  }),

  createFeedback: defineCase({
    request: () => ({ body: { kind: 'nps', score: 9, message: `Feedback ${tag()}` } }),
    success: 201,
    inOtherTenant: 'own-data',
    memberMay: true,
    answerOnlyNew: 'it names only the feedback the request gives',
  }),

  getTenantOnboarding: defineCase({
    request: () => ({}),
    success: 200,
    inOtherTenant: 'own-data',
    memberMay: true,
    answerOnlyNew: 'booleans and times only: the checklist names no object, id or person',
  }),

  listTenantFeatures: defineCase({
    request: () => ({}),
    success: 200,
    inOtherTenant: 'own-data',
    memberMay: true,
    answerOnlyNew: 'flag keys, booleans and sources: the same flags for every organisation',
  }),

  updateTenant: defineCase({
    request: () => ({ body: { name: `Renamed ${tag()}` } }),
    success: 200,
    inOtherTenant: 'own-data',
  }),

  // Off: A's owner has no second factor, and turning the requirement on needs one.
  setTwoFactorPolicy: defineCase({
    request: () => ({ body: { required: false } }),
    success: 200,
    inOtherTenant: 'own-data',
  }),

  listAuditEvents: defineCase({
    request: () => ({ query: { limit: 100 } }),
    success: 200,
    inOtherTenant: 'own-data',
  }),

  listMembers: defineCase({
    request: () => ({}),
    success: 200,
    inOtherTenant: 'own-data',
    memberMay: true,
  }),

  changeMemberRole: defineCase({
    setup: victimMember,
    request: (_a, target) => ({ params: { userId: target.userId }, body: { role: 'admin' } }),
    success: 200,
    inOtherTenant: { notFound: 'member_not_found' },
  }),

  removeMember: defineCase({
    setup: victimMember,
    request: (_a, target) => ({ params: { userId: target.userId } }),
    success: 204,
    inOtherTenant: { notFound: 'member_not_found' },
  }),

  createApiKey: defineCase({
    request: () => ({ body: { name: `Deploy key ${tag()}`, scopes: ['read:Member'] } }),
    success: 201,
    inOtherTenant: 'own-data',
  }),

  listApiKeys: defineCase({
    request: () => ({}),
    success: 200,
    inOtherTenant: 'own-data',
  }),

  revokeApiKey: defineCase({
    setup: async (a) => {
      const res = await a
        .http()
        .post('/v1/tenant/api-keys')
        .set(a.owner.headers)
        .send({ name: `Victim deploy key ${tag()}` })
        .expect(201);
      return {
        id: res.body.id as string,
        prefix: res.body.prefix as string,
        name: res.body.name as string,
        key: res.body.key as string,
      };
    },
    request: (_a, key) => ({ params: { id: key.id } }),
    success: 204,
    inOtherTenant: { notFound: 'api_key_not_found' },
  }),

  createInvitation: defineCase({
    request: () => ({ body: { email: uniqueEmail('invitee'), role: 'admin' } }),
    success: 201,
    inOtherTenant: 'own-data',
  }),

  listInvitations: defineCase({
    setup: victimInvitation,
    request: () => ({}),
    success: 200,
    inOtherTenant: 'own-data',
  }),

  resendInvitation: defineCase({
    setup: victimInvitation,
    request: (_a, invitation) => ({ params: { id: invitation.id } }),
    success: 200,
    inOtherTenant: { notFound: 'invitation_not_found' },
  }),

  revokeInvitation: defineCase({
    setup: victimInvitation,
    request: (_a, invitation) => ({ params: { id: invitation.id } }),
    success: 204,
    inOtherTenant: { notFound: 'invitation_not_found' },
  }),

  getBillingOverview: defineCase({
    setup: victimSubscription,
    request: () => ({}),
    success: 200,
    inOtherTenant: 'own-data',
    memberMay: true,
  }),

  createSubscription: defineCase({
    // A has a card and no subscription; the request names A's card.
    setup: async (a) => ({ paymentMethodId: await victimCard(a) }),
    request: (_a, card) => ({
      body: { priceId: PRO_USD_MONTH, quantity: SEATS, paymentMethodId: card.paymentMethodId },
    }),
    success: 201,
    inOtherTenant: { notFound: 'payment_method_not_found' },
    answerOnlyNew: 'it names the subscription and invoice the request creates',
  }),

  previewSubscriptionChange: defineCase({
    setup: victimSubscription,
    // A price would be A's data too (A's overview names it): seats only.
    request: () => ({ body: { quantity: SEATS + 5 } }),
    success: 200,
    inOtherTenant: { notFound: 'subscription_not_found' },
    memberMay: true,
  }),

  changeSubscription: defineCase({
    setup: victimSubscription,
    request: () => ({ body: { quantity: SEATS + 5 } }),
    success: 200,
    inOtherTenant: { notFound: 'subscription_not_found' },
  }),

  cancelSubscription: defineCase({
    setup: victimSubscription,
    request: () => ({ body: { reason: 'too_expensive' } }),
    success: 200,
    inOtherTenant: { notFound: 'subscription_not_found' },
  }),

  resumeSubscription: defineCase({
    setup: async (a) => {
      const subscribed = await victimSubscription(a);
      await a
        .http()
        .post('/v1/billing/subscription/cancel')
        .set(a.owner.headers)
        .send({ reason: 'unused' })
        .expect(200);
      return subscribed;
    },
    request: () => ({}),
    success: 200,
    inOtherTenant: { notFound: 'subscription_not_found' },
  }),

  listPaymentMethods: defineCase({
    setup: async (a) => ({ paymentMethodId: await victimCard(a) }),
    request: () => ({}),
    success: 200,
    inOtherTenant: 'own-data',
  }),

  createSetupIntent: defineCase({
    setup: async (a) => ({ paymentMethodId: await victimCard(a) }),
    request: () => ({}),
    success: 201,
    inOtherTenant: 'own-data',
    answerOnlyNew: "it names the gateway's new setup intent only",
  }),

  addPaymentMethod: defineCase({
    setup: async (a) => ({ paymentMethodId: await victimCard(a) }),
    request: () => ({ body: { paymentMethodId: 'pm_card_mastercard', makeDefault: true } }),
    success: 201,
    inOtherTenant: 'own-data',
    answerOnlyNew: 'it names the card the request saves only',
  }),

  setDefaultPaymentMethod: defineCase({
    setup: async (a) => ({
      defaultId: await victimCard(a),
      otherId: await victimCard(a, 'pm_card_mastercard'),
    }),
    request: (_a, cards) => ({ params: { id: cards.otherId } }),
    success: 200,
    inOtherTenant: { notFound: 'payment_method_not_found' },
  }),

  removePaymentMethod: defineCase({
    setup: async (a) => ({
      defaultId: await victimCard(a),
      otherId: await victimCard(a, 'pm_card_mastercard'),
    }),
    request: (_a, cards) => ({ params: { id: cards.otherId } }),
    success: 204,
    inOtherTenant: { notFound: 'payment_method_not_found' },
  }),

  listInvoices: defineCase({
    setup: victimSubscription,
    request: () => ({ query: { limit: 100 } }),
    success: 200,
    inOtherTenant: 'own-data',
  }),

  getInvoice: defineCase({
    setup: victimSubscription,
    request: (_a, subscribed) => ({ params: { id: subscribed.invoiceId } }),
    success: 200,
    inOtherTenant: { notFound: 'invoice_not_found' },
  }),

  payInvoice: defineCase({
    // The first invoice stays open while 3-D Secure waits; a card that needs none pays it.
    setup: async (a) => {
      const awaiting = await victimAwaitingAuthentication(a);
      return { ...awaiting, defaultId: await victimCard(a, 'pm_card_visa', true) };
    },
    request: (_a, awaiting) => ({ params: { id: awaiting.invoiceId } }),
    success: 200,
    inOtherTenant: { notFound: 'invoice_not_found' },
  }),

  simulatePaymentAuthentication: defineCase({
    setup: victimAwaitingAuthentication,
    request: (_a, awaiting) => ({
      params: { paymentId: awaiting.paymentId },
      body: { succeed: true },
    }),
    success: 200,
    // The service answers a payment that is not the tenant's as one that does not exist.
    inOtherTenant: { notFound: 'invoice_not_found' },
    answerOnlyNew: 'it names the webhook event the simulation delivers only',
  }),

  createTicket: defineCase({
    request: () => ({ body: { subject: `Help ${tag()}`, description: 'Something broke.' } }),
    success: 201,
    inOtherTenant: 'own-data',
    memberMay: true,
    answerOnlyNew: 'it names the ticket the request opens only',
  }),

  listTickets: defineCase({
    setup: victimTicket,
    request: () => ({}),
    success: 200,
    inOtherTenant: 'own-data',
    // Members list their own tickets (none here): allowed, and nothing of the owner's shows.
    memberMay: true,
  }),

  getTicket: defineCase({
    setup: victimTicket,
    request: (_a, ticket) => ({ params: { id: ticket.id } }),
    success: 200,
    inOtherTenant: { notFound: 'ticket_not_found' },
    memberNotFound: 'ticket_not_found',
  }),

  replyToTicket: defineCase({
    setup: victimTicket,
    request: (_a, ticket) => ({ params: { id: ticket.id }, body: { body: 'More details.' } }),
    success: 201,
    inOtherTenant: { notFound: 'ticket_not_found' },
    memberNotFound: 'ticket_not_found',
    answerOnlyNew: 'it names the reply the request writes only',
  }),

  addTicketNote: defineCase({
    setup: victimTicket,
    request: (_a, ticket) => ({ params: { id: ticket.id }, body: { body: 'Internal note.' } }),
    success: 201,
    inOtherTenant: { notFound: 'ticket_not_found' },
    answerOnlyNew: 'it names the note the request writes only',
  }),

  updateTicket: defineCase({
    setup: victimTicket,
    request: (_a, ticket) => ({ params: { id: ticket.id }, body: { priority: 'high' } }),
    success: 200,
    inOtherTenant: { notFound: 'ticket_not_found' },
  }),

  rateTicket: defineCase({
    setup: victimSolvedTicket,
    request: (_a, ticket) => ({ params: { id: ticket.id }, body: { score: 4 } }),
    success: 200,
    inOtherTenant: { notFound: 'ticket_not_found' },
    memberNotFound: 'ticket_not_found',
  }),

  mergeTicket: defineCase({
    setup: async (a) => {
      const duplicate = await victimTicket(a);
      const keep = await victimTicket(a);
      return { duplicateId: duplicate.id, keepId: keep.id, keepSubject: keep.subject };
    },
    request: (_a, t) => ({ params: { id: t.duplicateId }, body: { intoTicketId: t.keepId } }),
    success: 200,
    inOtherTenant: { notFound: 'ticket_not_found' },
  }),

  createKbDraftFromTicket: defineCase({
    setup: victimSolvedTicketAndCategory,
    request: (_a, t) => ({ params: { id: t.id }, body: { categoryId: t.categoryId } }),
    success: 201,
    inOtherTenant: { notFound: 'ticket_not_found' },
    staffOnly: 'the knowledge base is the operator’s',
  }),

  applyTicketMacro: defineCase({
    setup: async (a) => {
      const ticket = await victimTicket(a);
      return { id: ticket.id, subject: ticket.subject, macroId: await victimMacro(a) };
    },
    request: (_a, t) => ({ params: { id: t.id, macroId: t.macroId } }),
    success: 200,
    inOtherTenant: { notFound: 'ticket_not_found' },
  }),
  uploadTicketAttachment: defineCase({
    setup: victimTicket,
    request: (_a, ticket) => ({
      params: { id: ticket.id },
      query: { filename: 'notes.txt' },
      body: 'Steps to reproduce.',
      contentType: 'text/plain',
    }),
    success: 201,
    inOtherTenant: { notFound: 'ticket_not_found' },
    memberNotFound: 'ticket_not_found',
    answerOnlyNew: 'it names the file the request uploads only',
  }),

  listTicketAttachments: defineCase({
    setup: victimAttachment,
    request: (_a, t) => ({ params: { id: t.id } }),
    success: 200,
    inOtherTenant: { notFound: 'ticket_not_found' },
    memberNotFound: 'ticket_not_found',
  }),

  downloadTicketAttachment: defineCase({
    setup: victimAttachment,
    request: (_a, t) => ({ params: { id: t.id, attachmentId: t.attachmentId } }),
    success: 200,
    inOtherTenant: { notFound: 'ticket_not_found' },
    memberNotFound: 'ticket_not_found',
  }),
};
