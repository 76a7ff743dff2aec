import { IsolationCase } from './cases';
import { TENANT_HEADER, World } from './harness';

/** What an attack must get: a problem with this status and code, or (a) B's own data. */
export type Expected =
  | { kind: 'problem'; status: number; code: string }
  | { kind: 'own-data'; status: number }
  | { kind: 'allowed'; status: number; reason: string };

export interface Attack {
  /** `(a)` … `(g)` as in the issue; variants share the letter. */
  id: string;
  title: string;
  /**
   * The caller has no standing in A: its answer must not depend on whether
   * A's values it names exist (the suite compares it with made-up values).
   */
  outsider: boolean;
  headers(world: World): Record<string, string>;
  expected(isolationCase: IsolationCase): Expected;
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const notFound = (): Expected => ({ kind: 'problem', status: 404, code: 'tenant_not_found' });

/** Every way the suite tries to reach tenant A's data from outside it, or above one's role. */
export const ATTACKS: Attack[] = [
  {
    id: 'a',
    title: "(a) B's owner, no X-Tenant-Id (acts in B)",
    outsider: true,
    headers: (w) => bearer(w.attacker.owner.token),
    expected: (c) =>
      c.staffOnly
        ? { kind: 'problem', status: 403, code: 'forbidden' }
        : c.inOtherTenant === 'own-data'
          ? { kind: 'own-data', status: c.success }
          : { kind: 'problem', status: 404, code: c.inOtherTenant.notFound },
  },
  {
    id: 'b',
    title: "(b) B's owner, forged X-Tenant-Id: A's id",
    outsider: true,
    headers: (w) => ({
      ...bearer(w.attacker.owner.token),
      [TENANT_HEADER]: w.victim.tenant.id,
    }),
    expected: notFound,
  },
  {
    id: 'b',
    title: "(b) B's owner, forged X-Tenant-Id: A's slug",
    outsider: true,
    headers: (w) => ({
      ...bearer(w.attacker.owner.token),
      [TENANT_HEADER]: w.victim.tenant.slug,
    }),
    expected: notFound,
  },
  {
    id: 'c',
    title: "(c) B's API key, X-Tenant-Id: A's id",
    outsider: true,
    headers: (w) => ({ 'X-Api-Key': w.attacker.apiKey, [TENANT_HEADER]: w.victim.tenant.id }),
    expected: notFound,
  },
  {
    id: 'c',
    title: "(c) B's API key, X-Tenant-Id: A's slug",
    outsider: true,
    headers: (w) => ({ 'X-Api-Key': w.attacker.apiKey, [TENANT_HEADER]: w.victim.tenant.slug }),
    expected: notFound,
  },
  {
    id: 'd',
    title: '(d) token of a member removed from A, X-Tenant-Id: A',
    outsider: true,
    headers: (w) => ({ ...bearer(w.removed.token), [TENANT_HEADER]: w.victim.tenant.id }),
    expected: notFound,
  },
  {
    id: 'd',
    title: "(d) token of a member removed from A, A only in the token's tenant claim",
    outsider: true,
    headers: (w) => bearer(w.removed.token),
    expected: notFound,
  },
  {
    id: 'e',
    title: "(e) expired token of A's owner",
    outsider: true,
    headers: (w) => ({ ...bearer(w.expiredOwnerToken), [TENANT_HEADER]: w.victim.tenant.id }),
    expected: () => ({ kind: 'problem', status: 401, code: 'token_expired' }),
  },
  {
    id: 'f',
    title: '(f) a plain member of A (wrong role)',
    outsider: false,
    headers: (w) => w.victim.member.headers,
    expected: (c) =>
      c.memberMay
        ? { kind: 'allowed', status: c.success, reason: 'the case declares members may call it' }
        : c.memberNotFound
          ? { kind: 'problem', status: 404, code: c.memberNotFound }
          : { kind: 'problem', status: 403, code: 'forbidden' },
  },
  {
    id: 'g',
    title: '(g) no credentials, X-Tenant-Id: A',
    outsider: true,
    headers: (w) => ({ [TENANT_HEADER]: w.victim.tenant.id }),
    expected: () => ({ kind: 'problem', status: 401, code: 'unauthenticated' }),
  },
];
