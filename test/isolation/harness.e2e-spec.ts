import { Controller, Get, Param } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import request from 'supertest';
import { Public } from '../../src/access/policies';
import { TenantRole } from '../../src/access/roles';
import { SharedCaches } from '../../src/common/cache/shared-caches';
import { Clock } from '../../src/common/clock';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { MembershipService } from '../../src/tenancy/members/membership.service';
import { TenancyErrorCode, TenancyException } from '../../src/tenancy/tenancy.exception';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';
import { ATTACKS } from './attacks';
import {
  BuiltRequest,
  buildRequest,
  buildWorld,
  ghostRequest,
  normalisedAnswer,
  OpenApiDocument,
  readVictim,
  receivedText,
  send,
  sentText,
  TenantScopedOperation,
  tenantScopedOperations,
} from './harness';

/** Test-only: answers differently for organisations that exist (an existence oracle). */
@Controller('isolation-oracle')
class OracleController {
  constructor(private readonly em: EntityManager) {}

  @Get(':id')
  @Public()
  async probe(@Param('id') id: string): Promise<never> {
    const tenant = await this.em.fork().findOne(Tenant, { id });
    throw new TenancyException(
      TenancyErrorCode.TenantNotFound,
      tenant ? `You may not see "${id}".` : `No organisation "${id}".`,
    );
  }
}

/**
 * The isolation suite proves something only if its checks fail on a leak. Here
 * the app is broken on purpose (every user is an owner of every organisation;
 * a route that is an existence oracle), and each check must see it.
 */
describe('isolation harness, against a deliberately broken app', () => {
  let t: TestApp;
  let operations: TenantScopedOperation[];
  const op = (id: string) => operations.find((o) => o.operationId === id)!;
  const attack = (title: string) => ATTACKS.find((a) => a.title === title)!;

  beforeAll(async () => {
    t = await bootTestApp({
      controllers: [OracleController],
      override: (builder) =>
        builder.overrideProvider(MembershipService).useFactory({
          inject: [EntityManager, Clock, SharedCaches],
          factory: (em: EntityManager, clock: Clock, caches: SharedCaches) => {
            const broken = new MembershipService(em, clock, caches);
            broken.roleOf = () => Promise.resolve(TenantRole.Owner);
            return broken;
          },
        }),
    });
    const res = await request(t.server).get('/docs-json').expect(200);
    operations = tenantScopedOperations(res.body as OpenApiDocument);
  });
  afterAll(() => t.close());

  it("finds A's strings in what B reads with a forged X-Tenant-Id", async () => {
    const world = await buildWorld(t);
    const forged = attack("(b) B's owner, forged X-Tenant-Id: A's id");
    const headers = forged.headers(world);
    const req = buildRequest(op('getTenant'), {});
    const res = await send(t, req, headers);
    expect(res.status).toBe(200);
    // A's id was sent (an echo is allowed), but A's name and slug were not.
    expect(world.secrets.foundIn(receivedText(res), sentText(req, headers))).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^A\.name /),
        expect.stringMatching(/^A\.slug /),
      ]),
    );
  });

  it("sees A's data change when B writes to it", async () => {
    const world = await buildWorld(t);
    const before = await readVictim(t, world, operations);
    const headers = attack("(b) B's owner, forged X-Tenant-Id: A's slug").headers(world);
    const req = buildRequest(op('updateTenant'), { body: { name: 'Taken over' } });
    expect((await send(t, req, headers)).status).toBe(200);
    expect(await readVictim(t, world, operations)).not.toEqual(before);
  });

  it('tells an answer that depends on whether A exists from one that does not', async () => {
    const world = await buildWorld(t);
    const req: BuiltRequest = {
      method: 'get',
      url: `/v1/isolation-oracle/${world.victim.tenant.id}`,
    };
    const res = await send(t, req, {});
    expectProblem(res, 404, 'tenant_not_found');
    // The id is echoed: not a disclosure by itself...
    expect(world.secrets.foundIn(receivedText(res), sentText(req, {}))).toEqual([]);
    // ...but the answer differs from the one for a made-up id.
    const ghost = ghostRequest(req, {}, world.secrets);
    expect(ghost.req.url).not.toBe(req.url);
    const other = await send(t, ghost.req, ghost.headers);
    expect(normalisedAnswer(res, ghost.real)).not.toEqual(normalisedAnswer(other, ghost.ghost));
    // Two made-up ids answer alike once normalised: the difference is the oracle's.
    const second = ghostRequest(req, {}, world.secrets);
    expect(second.req.url).not.toBe(ghost.req.url);
    const another = await send(t, second.req, second.headers);
    expect(normalisedAnswer(another, second.ghost)).toEqual(normalisedAnswer(other, ghost.ghost));
  });
});
