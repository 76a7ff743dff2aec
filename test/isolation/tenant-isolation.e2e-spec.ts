import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { createUser, uniqueEmail } from '../support/factories';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';
import { ATTACKS } from './attacks';
import { ISOLATION_CASES } from './cases';
import {
  buildRequest,
  buildWorld,
  ghostRequest,
  normalisedAnswer,
  OpenApiDocument,
  readVictim,
  receivedText,
  send,
  sentText,
  TENANT_HEADER,
  TenantScopedOperation,
  tenantScopedOperations,
  tenantScopedRoutes,
  World,
} from './harness';

/**
 * Tenant isolation: every tenant-scoped operation of the served OpenAPI
 * document, attacked from outside tenant A (B's token, B's forged header,
 * B's API key, a removed member, an expired token, no credentials) and from
 * below (a plain member). Each attack must be refused with the right problem,
 * disclose nothing of A's, answer the same as for made-up values, and leave
 * A's data as it was.
 */
describe('tenant isolation', () => {
  let t: TestApp;
  let operations: Map<string, TenantScopedOperation>;
  const tally = { tried: 0, operations: new Set<string>(), allowed: [] as string[] };

  beforeAll(async () => {
    t = await bootTestApp();
    const res = await request(t.server).get('/docs-json').expect(200);
    operations = new Map(
      tenantScopedOperations(res.body as OpenApiDocument).map((op) => [op.operationId, op]),
    );
  });

  afterAll(async () => {
    await t?.close();
    process.stdout.write(
      `isolation: ${tally.tried} operation × attack cases tried across ${tally.operations.size} tenant-scoped operations\n`,
    );
    if (tally.allowed.length > 0) {
      process.stdout.write(
        `isolation: not attacked, declared allowed: ${tally.allowed.join('; ')}\n`,
      );
    }
    expect(tally.tried).toBeGreaterThan(0);
  });

  describe('coverage', () => {
    it('finds the tenant-scoped operations in the served document', () => {
      // getTenant is the anchor: if the header detection found nothing, the suite would prove nothing.
      expect(operations.size).toBeGreaterThan(0);
      expect([...operations.keys()]).toContain('getTenant');
    });

    it('has an isolation case for every tenant-scoped operation', () => {
      const missing = [...operations.keys()].filter((id) => !(id in ISOLATION_CASES));
      if (missing.length > 0) {
        throw new Error(
          `Tenant-scoped operations with no isolation case: ${missing.join(', ')}.\n` +
            'Add a case for each to ISOLATION_CASES in test/isolation/cases.ts: how to create ' +
            "tenant A's objects it acts on, and the request A's owner would send.",
        );
      }
    });

    it('has no isolation case for an operation that no longer exists', () => {
      const stale = Object.keys(ISOLATION_CASES).filter((id) => !operations.has(id));
      if (stale.length > 0) {
        throw new Error(
          `ISOLATION_CASES has cases for operations that are not tenant-scoped operations of the document: ${stale.join(', ')}.\n` +
            'Remove them from test/isolation/cases.ts, or rename them after the new operationId.',
        );
      }
    });

    it('documents every @TenantScoped() route, with its X-Tenant-Id header', () => {
      const routes = tenantScopedRoutes(t.app);
      const documented = [...operations.values()].map((op) => `${op.method} ${op.path}`);
      expect(routes.length).toBeGreaterThan(0);
      expect(routes.filter((route) => !documented.includes(route))).toEqual([]);
    });
  });

  describe('uniqueness checks', () => {
    it("answer per tenant: B may invite an email that is A's member or has A's pending invitation", async () => {
      const world = await buildWorld(t);
      const pending = uniqueEmail('victim-pending');
      await request(t.server)
        .post('/v1/tenant/invitations')
        .set(world.victim.owner.headers)
        .send({ email: pending, role: 'member' })
        .expect(201);
      for (const email of [pending, world.victim.member.user.email]) {
        const res = await request(t.server)
          .post('/v1/tenant/invitations')
          .set(world.attacker.owner.headers)
          .send({ email, role: 'member' });
        expect(res.status).toBe(201);
        expect(world.secrets.foundIn(receivedText(res), email)).toEqual([]);
      }
    });
  });

  describe.each(Object.keys(ISOLATION_CASES).sort())('%s', (operationId) => {
    const isolationCase = ISOLATION_CASES[operationId];

    const operation = (): TenantScopedOperation => {
      const op = operations.get(operationId);
      if (!op) throw new Error(`${operationId} is not a tenant-scoped operation of the document`);
      return op;
    };

    /** A fresh A and B, the case's objects in A, and the request A's owner would send. */
    const prepare = async () => {
      const op = operation();
      const world: World = await buildWorld(t);
      const objects = isolationCase.setup ? await isolationCase.setup(world.victim) : {};
      world.secrets.addAll(`A.${operationId}`, objects);
      const req = buildRequest(op, isolationCase.request(world.victim, objects));
      const before = await readVictim(t, world, [...operations.values()]);
      world.secrets.addIdsIn('A data:', before);
      return { op, world, req, before };
    };

    it.each(
      ATTACKS.map((attack) => {
        const expected = attack.expected(isolationCase);
        const title =
          expected.kind === 'allowed'
            ? `${attack.title}: not an attack here (${expected.reason}), so checked as allowed`
            : attack.title;
        return [title, attack] as const;
      }),
    )('%s', async (_title, attack) => {
      const { op, world, req, before } = await prepare();
      const expected = attack.expected(isolationCase);
      const headers = attack.headers(world);
      const res = await send(t, req, headers);

      if (expected.kind === 'allowed') {
        // The declaration is true: the role may call it (or this would have been an attack).
        expect(res.status).toBe(expected.status);
        tally.allowed.push(`${operationId} ${attack.id}`);
        return;
      }
      tally.tried += 1;
      tally.operations.add(op.operationId);

      if (expected.kind === 'problem') {
        expectProblem(res, expected.status, expected.code);
      } else {
        expect(res.status).toBe(expected.status);
        if (res.text) expect(res.headers['content-type']).toMatch(/^application\/json/);
      }
      // Not one of A's strings, but for those the caller sent itself.
      expect(world.secrets.foundIn(receivedText(res), sentText(req, headers))).toEqual([]);

      if (attack.outsider && expected.kind === 'problem') {
        // No oracle: with A's values replaced by made-up ones, the answer is the same.
        const ghost = ghostRequest(req, headers, world.secrets);
        const other = await send(t, ghost.req, ghost.headers);
        expect(normalisedAnswer(res, ghost.real)).toEqual(normalisedAnswer(other, ghost.ghost));
      }

      // A's data is as it was.
      expect(await readVictim(t, world, [...operations.values()])).toEqual(before);
    });

    const controlCaller = isolationCase.staffOnly ? 'platform support acting in A' : "A's owner";
    it(`control: ${controlCaller} sending the same request gets ${isolationCase.success}`, async () => {
      const { world, req } = await prepare();
      const headers = isolationCase.staffOnly
        ? {
            ...(await createUser(t.app, { platformRole: PlatformRole.Support })).headers,
            [TENANT_HEADER]: world.victim.tenant.id,
          }
        : world.victim.owner.headers;
      const res = await send(t, req, headers);
      expect(res.status).toBe(isolationCase.success);
      // The leak check would see A's data: A's own answers carry it (unless they only
      // name what the request made, which the case says).
      if (res.text && !isolationCase.answerOnlyNew) {
        expect(world.secrets.foundIn(receivedText(res)).length).toBeGreaterThan(0);
      }
    });
  });
});
