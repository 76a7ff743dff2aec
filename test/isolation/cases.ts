import { TenantRole } from '../../src/access/roles';
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

  updateTenant: defineCase({
    request: () => ({ body: { name: `Renamed ${tag()}` } }),
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
};
