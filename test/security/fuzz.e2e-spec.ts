import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EntityManager } from '@mikro-orm/postgresql';
import fc from 'fast-check';
import request, { Response } from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { User } from '../../src/identity/entities/user.entity';
import { TokenService } from '../../src/identity/token.service';
import { createOrg, createUser, Org } from '../support/factories';
import { PROBLEM_MEDIA_TYPE } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const NO_RATE_LIMITS = {
  RATE_LIMIT_IP_PER_MINUTE: '1000000',
  RATE_LIMIT_USER_PER_MINUTE: '1000000',
  RATE_LIMIT_TENANT_PER_MINUTE: '1000000',
};
import {
  anyJson,
  CONTENT_TYPES,
  FuzzDocument,
  FuzzOperation,
  headerValue,
  operationsOf,
  pathValue,
  queryValue,
  SchemaArbitraries,
} from './openapi-fuzz';

/**
 * Property-based fuzzing of every operation of openapi.json (OWASP API8/API4
 * in practice): generated and broken bodies, path parameters, query strings
 * and headers, sent with valid credentials. No answer may be a 5xx, and every
 * 4xx is a problem document with a code.
 *
 * `FUZZ_RUNS` cases per operation (15 by default; `npm run fuzz` runs 500),
 * `FUZZ_SEED` replays a run (the seed is printed at the end).
 */
const RUNS = Number(process.env.FUZZ_RUNS ?? 15);
/** A request that gets no answer in this long is a failure (a hung handler is a denial of service). */
const REQUEST_TIMEOUT_MS = 10_000;
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);

const DOC = JSON.parse(readFileSync(join(__dirname, '../../openapi.json'), 'utf8')) as FuzzDocument;
const OPERATIONS = operationsOf(DOC);

/** Operations not fuzzed, each with why. Keep it empty unless there is a reason. */
const EXCLUDED: Record<string, string> = {};

/** Seeded catalog prices (migrations/platform/…_catalog_seed.ts): real ids worth hitting. */
const SEEDED_IDS = ['0193a000-0000-7000-8001-000000000021', '0193a000-0000-7000-8001-000000000031'];

/** Present in a quarter of the cases: most cases should get past the refusals they trigger. */
const rarely = <T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> =>
  fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });

interface FuzzCase {
  params: Record<string, { raw: boolean; value: string }>;
  query: [string, string][];
  body?: { kind: string; value: unknown } | { kind: 'bytes'; bytes: Uint8Array };
  contentType?: string;
  auth: 'valid' | 'none' | 'garbage' | 'api-key';
  tenantHeader: 'own' | 'none' | { value: string };
  idempotencyKey?: string;
  extraHeaders: Record<string, string>;
}

interface Tally {
  cases: number;
  statuses: Map<number, number>;
  failures: Map<string, string>;
}

describe('fuzzing every operation of openapi.json', () => {
  let t: TestApp;
  let admin: { user: User };
  const tallies = new Map<string, Tally>();

  beforeAll(async () => {
    // The API rate limits have their own tests: here they would only stop the attacks early.
    t = await bootTestApp({ env: NO_RATE_LIMITS });
    admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
  });

  afterAll(async () => {
    await t?.close();
    const lines = [...tallies].map(([id, tally]) => {
      const statuses = [...tally.statuses]
        .sort(([x], [y]) => x - y)
        .map(([status, n]) => `${status}×${n}`)
        .join(' ');
      return `  ${id.padEnd(40)} ${String(tally.cases).padStart(5)} cases  ${statuses}`;
    });
    const total = [...tallies.values()].reduce((sum, tally) => sum + tally.cases, 0);
    const excluded = Object.entries(EXCLUDED).map(([id, why]) => `  excluded ${id}: ${why}`);
    process.stdout.write(
      `fuzz: seed ${SEED}, ${RUNS} runs per operation\n${lines.join('\n')}\n${excluded.join('\n')}\n` +
        `fuzz: ${total} cases across ${tallies.size} operations (${OPERATIONS.length} in openapi.json, ${Object.keys(EXCLUDED).length} excluded)\n`,
    );
  });

  it('fuzzes the operations the app serves (the committed document is the served one)', async () => {
    const served = operationsOf(
      (await request(t.server).get('/docs-json').expect(200)).body as FuzzDocument,
    );
    expect(served.map((op) => op.operationId)).toEqual(OPERATIONS.map((op) => op.operationId));
    expect(
      Object.keys(EXCLUDED).filter((id) => !OPERATIONS.some((op) => op.operationId === id)),
    ).toEqual([]);
  });

  /** Real ids of the org's own objects, so that some cases get past "not found". */
  async function objectsOf(org: Org): Promise<string[]> {
    const ticket = await request(t.server)
      .post('/v1/support/tickets')
      .set(org.headers)
      .send({ subject: 'Fuzz target', description: 'A ticket to aim at' })
      .expect(201);
    const key = await request(t.server)
      .post('/v1/tenant/api-keys')
      .set(org.headers)
      .send({ name: 'fuzz key' })
      .expect(201);
    return [
      org.tenant.id,
      org.user.id,
      ticket.body.id as string,
      key.body.id as string,
      ...SEEDED_IDS,
    ];
  }

  function caseOf(op: FuzzOperation, realIds: string[]): fc.Arbitrary<FuzzCase> {
    const arbs = new SchemaArbitraries(DOC, realIds);
    const pathParams = op.parameters.filter((p) => p.in === 'path');
    const queryParams = op.parameters.filter((p) => p.in === 'query');
    const params = fc.record(
      Object.fromEntries(pathParams.map((p) => [p.name, pathValue(realIds)])),
    ) as fc.Arbitrary<FuzzCase['params']>;
    const query = fc
      .tuple(
        fc.tuple(
          ...queryParams.map((p) =>
            fc
              .option(queryValue(arbs, p.schema), { freq: 2 })
              .map((v) => (v === null ? [] : ([[p.name, v]] as [string, string][]))),
          ),
        ),
        rarely(
          fc.oneof(
            fc.tuple(fc.constantFrom('role', 'tenantId', '__proto__', 'limit', 'x'), headerValue),
            fc.tuple(fc.constant('limit'), fc.constantFrom('100000', '1&limit=2')),
          ),
        ),
      )
      .map(([declared, extra]) => [...declared.flat(), ...(extra ? [extra] : [])]);

    const uploads = op.bodyTypes.filter((type) => type !== 'application/json');
    const bodies: fc.Arbitrary<Pick<FuzzCase, 'body' | 'contentType'>>[] = [];
    if (op.bodyTypes.includes('application/json')) {
      bodies.push(
        fc.record({
          body: arbs.body(op.bodySchema),
          contentType: fc.oneof(
            { weight: 8, arbitrary: fc.constant('application/json') },
            { weight: 2, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
          ),
        }),
      );
    }
    if (uploads.length > 0) {
      bodies.push(
        fc.record({
          body: fc
            .uint8Array({ maxLength: 2_000 })
            .map((bytes) => ({ kind: 'bytes' as const, bytes })),
          contentType: fc.oneof(fc.constantFrom(...uploads), fc.constantFrom(...CONTENT_TYPES)),
        }),
      );
    }
    // Operations without a body get one sometimes, and nothing otherwise.
    bodies.push(
      fc
        .option(
          fc.record({
            body: anyJson.map((value) => ({ kind: 'unexpected body', value })),
            contentType: fc.constantFrom(...CONTENT_TYPES),
          }),
          { freq: op.bodyTypes.length > 0 ? 10 : 3 },
        )
        .map((b) => b ?? {}),
    );

    return fc
      .record({
        params,
        query,
        body: fc.oneof(
          ...bodies.map((arbitrary, i) => ({
            weight: i === bodies.length - 1 && bodies.length > 1 ? 1 : 4,
            arbitrary,
          })),
        ),
        auth: fc.oneof(
          { weight: 12, arbitrary: fc.constant('valid' as const) },
          {
            weight: 1,
            arbitrary: fc.constantFrom('none' as const, 'garbage' as const, 'api-key' as const),
          },
        ),
        tenantHeader: fc.oneof(
          { weight: 8, arbitrary: fc.constant('own' as const) },
          { weight: 1, arbitrary: fc.constant('none' as const) },
          { weight: 2, arbitrary: headerValue.map((value) => ({ value })) },
        ),
        idempotencyKey: rarely(headerValue),
        extraHeaders: fc.oneof(
          { weight: 6, arbitrary: fc.constant({}) },
          {
            weight: 1,
            arbitrary: fc
              .tuple(
                fc.constantFrom(
                  'X-Request-Id',
                  'X-Forwarded-For',
                  'Accept',
                  'Accept-Language',
                  'If-None-Match',
                  'Origin',
                  'X-Http-Method-Override',
                  'Content-Encoding',
                ),
                headerValue,
              )
              .map(([name, value]) => ({ [name]: value })),
          },
        ),
      })
      .map(({ body, ...rest }) => ({ ...rest, ...body }));
  }

  /** encodeURIComponent, which throws on a lone surrogate: that one is sent as its UTF-8 replacement. */
  const encode = (value: string) =>
    encodeURIComponent(
      value.replace(/[\ud800-\udfff]/g, (c, i: number, all: string) =>
        /[\ud800-\udbff][\udc00-\udfff]/.test(all.slice(i - 1, i + 1)) ||
        /[\ud800-\udbff][\udc00-\udfff]/.test(all.slice(i, i + 2))
          ? c
          : '\ufffd',
      ),
    );

  function urlOf(op: FuzzOperation, c: FuzzCase): string {
    const path = op.path.replace(/\{([^}]+)\}/g, (_m, name: string) => {
      const p = c.params[name];
      return p.raw ? p.value : encode(p.value);
    });
    if (c.query.length === 0) return path;
    const query = c.query
      .map(([k, v]) => (v.includes('&') ? `${k}=${v}` : `${encode(k)}=${encode(v)}`))
      .join('&');
    return `${path}?${query}`;
  }

  async function send(op: FuzzOperation, c: FuzzCase, org: Org, apiKey: string): Promise<Response> {
    const em = t.app.get(EntityManager).fork();
    const asAdmin = op.path.startsWith('/v1/admin');
    const user = asAdmin ? admin.user : org.user;
    // A session of its own per case: a fuzzed logout must not end the next case's.
    const tokens = t.app.get(TokenService).issue(em, user, asAdmin ? null : org.tenant.id);
    await em.flush();

    const call = request(t.server)
      [op.method as 'get'](urlOf(op, c))
      .timeout({ response: REQUEST_TIMEOUT_MS });
    if (c.auth === 'valid') void call.set('Authorization', `Bearer ${tokens.accessToken}`);
    if (c.auth === 'garbage') void call.set('Authorization', `Bearer ${tokens.accessToken}x`);
    if (c.auth === 'api-key') void call.set('X-Api-Key', apiKey);
    if (c.tenantHeader === 'own') void call.set('X-Tenant-Id', org.tenant.id);
    else if (c.tenantHeader !== 'none') void call.set('X-Tenant-Id', c.tenantHeader.value);
    if (c.idempotencyKey !== undefined) void call.set('Idempotency-Key', c.idempotencyKey);
    for (const [name, value] of Object.entries(c.extraHeaders)) void call.set(name, value);
    if (c.body === undefined) return call;
    void call.set('Content-Type', c.contentType ?? 'application/json');
    return 'bytes' in c.body
      ? call.send(Buffer.from(c.body.bytes))
      : call.send(JSON.stringify(c.body.value) ?? 'null');
  }

  const describeCase = (op: FuzzOperation, c: FuzzCase): string => {
    const body =
      c.body === undefined
        ? 'no body'
        : 'bytes' in c.body
          ? `${c.body.bytes.length} bytes`
          : `${c.body.kind} ${JSON.stringify(c.body.value)?.slice(0, 300)}`;
    return `${op.method.toUpperCase()} ${urlOf(op, c).slice(0, 300)} auth=${c.auth} tenant=${JSON.stringify(c.tenantHeader).slice(0, 60)} idem=${JSON.stringify(c.idempotencyKey?.slice(0, 40))} headers=${JSON.stringify(c.extraHeaders).slice(0, 80)} ct=${c.contentType} body=${body}`;
  };

  /** What is wrong with the answer, or undefined. */
  function verdict(res: Response): string | undefined {
    if (res.status >= 500) return `${res.status} ${String((res.body as { code?: string })?.code)}`;
    if (res.status >= 400) {
      const type = String(res.headers['content-type']);
      if (!PROBLEM_MEDIA_TYPE.test(type)) return `${res.status} as ${type}`;
      const code = (res.body as { code?: unknown })?.code;
      if (typeof code !== 'string' || code === '') return `${res.status} problem without code`;
    }
    return undefined;
  }

  describe.each(
    OPERATIONS.filter((op) => !(op.operationId in EXCLUDED)).map(
      (op) => [op.operationId, op] as const,
    ),
  )('%s', (_id, op) => {
    it(
      `never answers 5xx, and every 4xx is problem+json with a code (${RUNS} cases)`,
      async () => {
        const org = await createOrg(t.app);
        const apiKey = await request(t.server)
          .post('/v1/tenant/api-keys')
          .set(org.headers)
          .send({ name: 'fuzz api key' })
          .expect(201);
        const realIds = await objectsOf(org);
        const tally: Tally = { cases: 0, statuses: new Map(), failures: new Map() };
        tallies.set(op.operationId, tally);

        await fc.assert(
          fc.asyncProperty(caseOf(op, realIds), async (c) => {
            const res = await send(op, c, org, apiKey.body.key as string);
            tally.cases += 1;
            tally.statuses.set(res.status, (tally.statuses.get(res.status) ?? 0) + 1);
            const wrong = verdict(res);
            // Recorded, not thrown: one run shows every kind of failure an operation has.
            if (wrong && !tally.failures.has(wrong)) {
              tally.failures.set(wrong, `${describeCase(op, c)}\n    → ${res.text?.slice(0, 300)}`);
            }
          }),
          { numRuns: RUNS, seed: SEED, endOnFailure: true },
        );
        expect([...tally.failures].map(([wrong, example]) => `${wrong}: ${example}`)).toEqual([]);
      },
      60_000 + RUNS * 1_500,
    );
  });
});
