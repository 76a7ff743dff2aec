import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { expectStatus, isRecord, jsonOf, SmokeFailure, SmokeHttp } from './http';
import { SmokeOptions } from './options';

export type CheckStatus = 'ok' | 'failed' | 'skipped';

export interface CheckResult {
  name: string;
  status: CheckStatus;
  durationMs: number;
  /** What was seen when it passed, why it failed, or which check it waited for. */
  detail: string;
}

/** The throwaway account and organisation; the password is never reported. */
export interface ThrowawayAccount {
  email: string;
  organizationSlug: string;
  tenantId: string | null;
  /** Whether the organisation and account are gone after the run. */
  deleted: boolean;
  note: string;
}

export interface SmokeReport {
  baseUrl: string;
  ok: boolean;
  startedAt: string;
  durationMs: number;
  passed: number;
  failed: number;
  skipped: number;
  checks: CheckResult[];
  account: ThrowawayAccount;
}

interface Tokens {
  accessToken: string;
  refreshToken: string;
  tenantId: string | null;
}

interface SmokeState {
  email: string;
  password: string;
  slug: string;
  signup?: Tokens;
  login?: Tokens;
}

interface Check {
  name: string;
  /** Checks that must have passed first; otherwise this one is skipped. */
  needs: string[];
  /** When set and false, the check is skipped with this reason (nothing to do). */
  applies?: (state: SmokeState) => string | undefined;
  run(http: SmokeHttp, state: SmokeState): Promise<string>;
}

/**
 * The API has no route that deletes or closes an organisation (nor an
 * account), so the throwaway one stays; its name and slug say what it was.
 */
const LEFT_IN_PLACE =
  'the API has no route to delete an organisation or an account: both are left in place ' +
  '(slug smoke-…, address smoke+…)';
export const CLEANUP_NOTE = `${LEFT_IN_PLACE}; their sessions were ended`;
const CLEANUP_FAILED_NOTE = `${LEFT_IN_PLACE}; ending their sessions failed (see the cleanup check)`;

const LIVE = 'health.live';

const CHECKS: Check[] = [
  {
    name: LIVE,
    needs: [],
    run: async (http) => {
      const res = await http.send('/health/live');
      expectStatus(res, 200);
      return 'HTTP 200';
    },
  },
  {
    name: 'health.ready',
    needs: [LIVE],
    run: async (http) => {
      const res = await http.send('/health/ready');
      expectStatus(res, 200);
      return 'HTTP 200';
    },
  },
  {
    name: 'docs.json',
    needs: [LIVE],
    run: async (http) => {
      const res = await http.send('/docs-json');
      expectStatus(res, 200);
      const doc = jsonOf(res);
      if (!isRecord(doc) || typeof doc.openapi !== 'string' || !/^3\.\d+\.\d+/.test(doc.openapi))
        throw new SmokeFailure('the body is not an OpenAPI 3 document (no "openapi": "3.x.y")');
      if (!isRecord(doc.paths) || Object.keys(doc.paths).length === 0)
        throw new SmokeFailure('the OpenAPI document lists no paths');
      const version = isRecord(doc.info) ? doc.info.version : undefined;
      const paths = Object.keys(doc.paths).length;
      return `OpenAPI ${doc.openapi}, ${paths} paths${typeof version === 'string' ? `, API version ${version}` : ''}`;
    },
  },
  {
    name: 'docs.ui',
    needs: [LIVE],
    run: async (http) => {
      const res = await http.send('/docs');
      expectStatus(res, 200);
      if (!res.contentType.startsWith('text/html') || !/<html/i.test(res.text))
        throw new SmokeFailure(
          `expected an HTML page, got ${res.contentType || 'no content type'}`,
        );
      return 'HTML page';
    },
  },
  {
    name: 'pricing',
    needs: [LIVE],
    run: async (http) => {
      const res = await http.send('/v1/pricing');
      expectStatus(res, 200);
      const body = jsonOf(res);
      const tiers = isRecord(body) && Array.isArray(body.tiers) ? body.tiers : undefined;
      if (!tiers) throw new SmokeFailure('the pricing page has no "tiers" list');
      if (tiers.length === 0) throw new SmokeFailure('the pricing page lists no plans');
      const codes = tiers.map((tier) => (isRecord(tier) ? tier.code : undefined));
      if (!codes.every((code): code is string => typeof code === 'string'))
        throw new SmokeFailure('a plan on the pricing page has no "code"');
      return `${codes.length} plan(s): ${codes.join(', ')}`;
    },
  },
  {
    name: 'auth.signup',
    needs: [LIVE],
    run: async (http, state) => {
      const res = await http.send('/v1/auth/signup', {
        method: 'POST',
        body: {
          email: state.email,
          password: state.password,
          name: 'Smoke Test',
          organizationName: `Smoke test ${new Date().toISOString()}`,
          organizationSlug: state.slug,
        },
      });
      expectStatus(res, 201);
      state.signup = tokensOf(res.text);
      if (!state.signup.tenantId) throw new SmokeFailure('sign-up returned no tenantId');
      return `organisation ${state.slug} (${state.signup.tenantId}) owned by ${state.email}`;
    },
  },
  {
    name: 'auth.login',
    needs: ['auth.signup'],
    run: async (http, state) => {
      const res = await http.send('/v1/auth/login', {
        method: 'POST',
        body: { email: state.email, password: state.password },
      });
      expectStatus(res, 200);
      state.login = tokensOf(res.text);
      if (state.login.tenantId !== state.signup!.tenantId)
        throw new SmokeFailure(
          `signed in for organisation ${String(state.login.tenantId)}, not the one created (${state.signup!.tenantId})`,
        );
      return `signed in as ${state.email}`;
    },
  },
  {
    name: 'tenant.get',
    needs: ['auth.login'],
    run: async (http, state) => {
      const res = await http.send('/v1/tenant', { token: state.login!.accessToken });
      expectStatus(res, 200);
      const tenant = jsonOf(res);
      if (!isRecord(tenant) || tenant.id !== state.signup!.tenantId || tenant.slug !== state.slug)
        throw new SmokeFailure(
          `GET /v1/tenant answered another organisation than ${state.slug} (${state.signup!.tenantId})`,
        );
      return `organisation ${state.slug}, status ${String(tenant.status)}`;
    },
  },
  {
    name: 'cleanup',
    // Runs whenever sign-up created something (even when its check then failed),
    // whatever happened after it.
    needs: [],
    applies: (state) => (state.signup ? undefined : 'nothing was created'),
    run: async (http, state) => {
      // Each sign-in is a session of its own: end both, so no refresh token outlives the run.
      const sessions = [state.signup, state.login].filter((t): t is Tokens => !!t);
      for (const session of sessions) {
        const res = await http.send('/v1/auth/logout', {
          method: 'POST',
          token: session.accessToken,
          body: {},
        });
        expectStatus(res, 204);
      }
      return `${sessions.length} session(s) ended; organisation ${state.slug} left in place (no delete route)`;
    },
  },
];

export const CHECK_NAMES = CHECKS.map((check) => check.name);

/** Runs every check in order, one request at a time, and never throws. */
export async function runSmoke(options: SmokeOptions, http?: SmokeHttp): Promise<SmokeReport> {
  const client = http ?? new SmokeHttp(options.baseUrl, options.timeoutMs);
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const state = throwawayIdentity(options.emailDomain);
  const results: CheckResult[] = [];
  const statusOf = (name: string) => results.find((r) => r.name === name)?.status;

  for (const check of CHECKS) {
    const missing = check.needs.filter((name) => statusOf(name) !== 'ok');
    const notApplicable = missing.length > 0 ? undefined : check.applies?.(state);
    if (missing.length > 0 || notApplicable) {
      results.push({
        name: check.name,
        status: 'skipped',
        durationMs: 0,
        detail: notApplicable ?? `needs ${missing.join(', ')}`,
      });
      continue;
    }
    const t0 = performance.now();
    try {
      const detail = await check.run(client, state);
      results.push({ name: check.name, status: 'ok', durationMs: since(t0), detail });
    } catch (error) {
      const detail =
        error instanceof SmokeFailure
          ? error.message
          : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
      results.push({ name: check.name, status: 'failed', durationMs: since(t0), detail });
    }
  }

  const count = (status: CheckStatus) => results.filter((r) => r.status === status).length;
  return {
    baseUrl: options.baseUrl.toString(),
    ok: count('ok') === results.length,
    startedAt,
    durationMs: since(started),
    passed: count('ok'),
    failed: count('failed'),
    skipped: count('skipped'),
    checks: results,
    account: {
      email: state.email,
      organizationSlug: state.slug,
      tenantId: state.signup?.tenantId ?? null,
      deleted: false,
      note: !state.signup
        ? 'nothing was created'
        : statusOf('cleanup') === 'ok'
          ? CLEANUP_NOTE
          : CLEANUP_FAILED_NOTE,
    },
  };
}

/** Unique per run and recognisable afterwards: `smoke+<ms since epoch>-<random>@<domain>`. */
function throwawayIdentity(domain: string): SmokeState {
  const id = `${Date.now()}-${randomBytes(4).toString('hex')}`;
  return {
    email: `smoke+${id}@${domain}`,
    slug: `smoke-${id}`,
    // 192 random bits: long, not a common password, and not derived from the address.
    password: randomBytes(24).toString('base64url'),
  };
}

function tokensOf(text: string): Tokens {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new SmokeFailure('the answer is not JSON');
  }
  if (
    !isRecord(body) ||
    typeof body.accessToken !== 'string' ||
    typeof body.refreshToken !== 'string'
  )
    throw new SmokeFailure('the answer has no accessToken and refreshToken');
  return {
    accessToken: body.accessToken,
    refreshToken: body.refreshToken,
    tenantId: typeof body.tenantId === 'string' ? body.tenantId : null,
  };
}

const since = (t0: number) => Math.round(performance.now() - t0);
