import fc from 'fast-check';
import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { EntitlementService } from '../../src/billing/catalog/entitlement.service';
import { CommonException } from '../../src/common/errors/common.exception';
import { platformSchemaDiff } from '../../src/database/schema-diff';
import { FeedbackErrorCode, FeedbackException } from '../../src/feedback/feedback.exception';
import { FeedbackCategory, FeedbackKind } from '../../src/feedback/feedback-rules';
import { FeedbackService } from '../../src/feedback/feedback.service';
import { MembershipService } from '../../src/tenancy/members/membership.service';
import { TenancyErrorCode } from '../../src/tenancy/tenancy.exception';
import { createOrg, createUser, type Org } from '../support/factories';
import { erroredFields, expectProblem, PROBLEM_MEDIA_TYPE } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

/** Pro, USD, monthly: the seeded catalog's price (migration catalog_seed). */
const PRO_USD_MONTH = '0193a000-0000-7000-8001-000000000031';

interface StoredRow {
  id: string;
  tenant_id: string;
  user_id: string;
  kind: string;
  score: number;
  category: string;
  message: string | null;
  context: Record<string, unknown>;
  created_at: Date;
}

/** Members give product feedback in their organisation (POST /v1/feedback). */
describe('POST /v1/feedback', () => {
  let t: TestApp;
  let org: Org;

  beforeAll(async () => {
    t = await bootTestApp();
    org = await createOrg(t.app);
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  const rowsOf = (tenantId: string) =>
    t
      .em()
      .execute<StoredRow[]>(
        'select * from platform.feedback where tenant_id = ? order by created_at, id',
        [tenantId],
      );

  it('has a migration that matches its entity', async () => {
    const { up } = await platformSchemaDiff(t.orm);
    expect(up.filter((sql) => sql.includes('feedback'))).toEqual([]);
  });

  it('stores a rating under the caller and its organisation, and answers with it', async () => {
    const before = Date.now();
    const res = await api()
      .post('/v1/feedback')
      .set(org.headers)
      .send({
        kind: 'rating',
        score: 4,
        category: 'usability',
        message: '  The new invoice page is much clearer.  ',
        context: { page: '/billing/invoices', appVersion: '4.2.0', retina: true, width: 1280 },
      })
      .expect(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      tenantId: org.tenant.id,
      userId: org.user.id,
      kind: 'rating',
      score: 4,
      category: 'usability',
      message: 'The new invoice page is much clearer.',
      context: { page: '/billing/invoices', appVersion: '4.2.0', retina: true, width: 1280 },
      createdAt: expect.any(String),
    });
    const createdAt = new Date(res.body.createdAt).getTime();
    expect(createdAt).toBeGreaterThanOrEqual(before - 1);
    expect(createdAt).toBeLessThanOrEqual(Date.now());
    const [row] = (await rowsOf(org.tenant.id)).filter((r) => r.id === res.body.id);
    expect(row).toMatchObject({
      tenant_id: org.tenant.id,
      user_id: org.user.id,
      kind: 'rating',
      score: 4,
      category: 'usability',
      message: 'The new invoice page is much clearer.',
      context: { page: '/billing/invoices', appVersion: '4.2.0', retina: true, width: 1280 },
    });
  });

  it('takes an NPS answer without message or category (other), blank messages as none', async () => {
    const bare = await api()
      .post('/v1/feedback')
      .set(org.headers)
      .send({ kind: 'nps', score: 0 })
      .expect(201);
    expect(bare.body).toMatchObject({
      kind: 'nps',
      score: 0,
      category: 'other',
      message: null,
      context: {},
    });
    const blank = await api()
      .post('/v1/feedback')
      .set(org.headers)
      .send({ kind: 'nps', score: 10, message: '   \n ' })
      .expect(201);
    expect(blank.body.message).toBeNull();
  });

  it('lets every tenant role give feedback', async () => {
    const team = await createOrg(t.app);
    for (const role of Object.values(TenantRole)) {
      const member = await createUser(t.app, { tenant: team.tenant, role });
      const res = await api()
        .post('/v1/feedback')
        .set(member.headers)
        .send({ kind: 'rating', score: 5 })
        .expect(201);
      expect(res.body).toMatchObject({ tenantId: team.tenant.id, userId: member.user.id });
    }
    expect(await rowsOf(team.tenant.id)).toHaveLength(Object.values(TenantRole).length);
  });

  describe('refuses invalid feedback with 400, naming the field, and stores nothing', () => {
    let victim: Org;
    beforeAll(async () => {
      victim = await createOrg(t.app);
    });
    afterAll(async () => {
      expect(await rowsOf(victim.tenant.id)).toEqual([]);
    });

    const longMessage = 'x'.repeat(5001);
    const tooManyKeys = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i]));
    const tooManyBytes = Object.fromEntries(
      Array.from({ length: 5 }, (_, i) => [`k${i}`, 'é'.repeat(500)]),
    );
    it.each<[string, Record<string, unknown>, string]>([
      ['no kind', { score: 3 }, 'kind'],
      ['an unknown kind', { kind: 'stars', score: 3 }, 'kind'],
      ['no score', { kind: 'rating' }, 'score'],
      ['a score as a string', { kind: 'rating', score: '3' }, 'score'],
      ['a fractional score', { kind: 'nps', score: 7.5 }, 'score'],
      ['a rating of 0', { kind: 'rating', score: 0 }, 'score'],
      ['a rating of 6', { kind: 'rating', score: 6 }, 'score'],
      ['an NPS of -1', { kind: 'nps', score: -1 }, 'score'],
      ['an NPS of 11', { kind: 'nps', score: 11 }, 'score'],
      ['an unknown category', { kind: 'nps', score: 9, category: 'ux' }, 'category'],
      [
        'a message over 5000 characters',
        { kind: 'nps', score: 9, message: longMessage },
        'message',
      ],
      ['a message that is not text', { kind: 'nps', score: 9, message: 42 }, 'message'],
      ['a context that is an array', { kind: 'nps', score: 9, context: ['a'] }, 'context'],
      ['a nested context', { kind: 'nps', score: 9, context: { a: { b: 1 } } }, 'context'],
      ['a context with 21 keys', { kind: 'nps', score: 9, context: tooManyKeys }, 'context'],
      ['a context over 4 KiB', { kind: 'nps', score: 9, context: tooManyBytes }, 'context'],
      ['a context key with spaces', { kind: 'nps', score: 9, context: { 'a b': 1 } }, 'context'],
      [
        'a tenant named in the body',
        { kind: 'nps', score: 9, tenantId: '0193a000-0000-7000-8000-000000000001' },
        'tenantId',
      ],
      [
        'a user named in the body',
        { kind: 'nps', score: 9, userId: '0193a000-0000-7000-8000-000000000002' },
        'userId',
      ],
    ])('%s', async (_name, body, field) => {
      const res = await api().post('/v1/feedback').set(victim.headers).send(body).expect(400);
      const problem = expectProblem(res, 400, 'validation_failed');
      expect(erroredFields(problem)).toEqual([field]);
    });

    it('says which range the kind allows', async () => {
      const res = await api()
        .post('/v1/feedback')
        .set(victim.headers)
        .send({ kind: 'rating', score: 9 })
        .expect(400);
      expect(expectProblem(res, 400, 'validation_failed').errors).toContainEqual({
        field: 'score',
        message: 'score must be an integer from 1 to 5 for rating feedback',
      });
    });

    it('a body that is not JSON', async () => {
      const res = await api()
        .post('/v1/feedback')
        .set(victim.headers)
        .set('content-type', 'application/json')
        .send('{"kind": "nps", ')
        .expect(400);
      expectProblem(res, 400, 'malformed_json');
    });
  });

  it('never answers a generated body with a 5xx, and stores only what it accepts', async () => {
    const fuzzed = await createOrg(t.app);
    let accepted = 0;
    const value = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.string({ unit: 'binary', maxLength: 40 }),
      fc.integer({ min: -20, max: 20 }),
    );
    const body = fc.record(
      {
        kind: fc.oneof(fc.constantFrom('rating', 'nps'), value),
        score: fc.oneof(fc.integer({ min: -2, max: 12 }), fc.double(), value),
        category: fc.oneof(fc.constantFrom(...Object.values(FeedbackCategory)), value),
        message: fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), value),
        context: fc.oneof(
          fc.dictionary(fc.string({ unit: 'binary', maxLength: 12 }), value, { maxKeys: 25 }),
          value,
        ),
        extra: value,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(body, async (generated) => {
        const res = await api().post('/v1/feedback').set(fuzzed.headers).send(generated);
        expect(res.status).toBeLessThan(500);
        if (res.status === 201) accepted++;
        else {
          expect(res.status).toBe(400);
          expect(res.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
        }
      }),
      { numRuns: 150 },
    );
    expect(await rowsOf(fuzzed.tenant.id)).toHaveLength(accepted);
  });

  it('refuses anonymous callers with 401', async () => {
    const res = await api().post('/v1/feedback').send({ kind: 'nps', score: 9 }).expect(401);
    expectProblem(res, 401, 'unauthenticated');
  });

  it('refuses API keys with 403 feedback_user_required: feedback is a person', async () => {
    const keyOrg = await createOrg(t.app);
    const key = await api()
      .post('/v1/tenant/api-keys')
      .set(keyOrg.headers)
      .send({ name: 'CI' })
      .expect(201);
    const res = await api()
      .post('/v1/feedback')
      .set('X-Api-Key', key.body.key as string)
      .send({ kind: 'nps', score: 9 })
      .expect(403);
    expectProblem(res, 403, FeedbackErrorCode.UserRequired);
    expect(await rowsOf(keyOrg.tenant.id)).toEqual([]);
  });

  it('refuses platform staff acting on an organisation they are not a member of', async () => {
    const target = await createOrg(t.app);
    const admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    const asAdmin = await api()
      .post('/v1/feedback')
      .set(admin.headers)
      .set('X-Tenant-Id', target.tenant.id)
      .send({ kind: 'nps', score: 9 })
      .expect(403);
    expectProblem(asAdmin, 403, FeedbackErrorCode.MemberRequired);
    const support = await createUser(t.app, { platformRole: PlatformRole.Support });
    const asSupport = await api()
      .post('/v1/feedback')
      .set(support.headers)
      .set('X-Tenant-Id', target.tenant.id)
      .send({ kind: 'nps', score: 9 })
      .expect(403);
    expectProblem(asSupport, 403, 'forbidden');
    expect(await rowsOf(target.tenant.id)).toEqual([]);
  });

  describe('tenant isolation', () => {
    it('cannot give feedback in an organisation the caller does not belong to (404, as if it did not exist)', async () => {
      const a = await createOrg(t.app);
      const b = await createOrg(t.app);
      const res = await api()
        .post('/v1/feedback')
        .set(a.headers)
        .set('X-Tenant-Id', b.tenant.id)
        .send({ kind: 'nps', score: 1 })
        .expect(404);
      expectProblem(res, 404, TenancyErrorCode.TenantNotFound);
      expect(await rowsOf(b.tenant.id)).toEqual([]);
      expect(await rowsOf(a.tenant.id)).toEqual([]);
    });

    it("refuses B's owner naming A by slug, a removed member of A, and B's API key in A", async () => {
      const a = await createOrg(t.app);
      const b = await createOrg(t.app);
      const body = { kind: 'nps', score: 1 };
      const bySlug = await api()
        .post('/v1/feedback')
        .set({ Authorization: b.headers.Authorization, 'X-Tenant-Id': a.tenant.slug })
        .send(body)
        .expect(404);
      expectProblem(bySlug, 404, TenancyErrorCode.TenantNotFound);

      const leaver = await createUser(t.app, { tenant: a.tenant, role: TenantRole.Member });
      await api().delete(`/v1/tenant/members/${leaver.user.id}`).set(a.headers).expect(204);
      const removed = await api().post('/v1/feedback').set(leaver.headers).send(body).expect(404);
      expectProblem(removed, 404, TenancyErrorCode.TenantNotFound);

      const key = await api()
        .post('/v1/tenant/api-keys')
        .set(b.headers)
        .send({ name: 'B key' })
        .expect(201);
      const byKey = await api()
        .post('/v1/feedback')
        .set({ 'X-Api-Key': key.body.key as string, 'X-Tenant-Id': a.tenant.id })
        .send(body)
        .expect(404);
      expectProblem(byKey, 404, TenancyErrorCode.TenantNotFound);
      expect(await rowsOf(a.tenant.id)).toEqual([]);
      expect(await rowsOf(b.tenant.id)).toEqual([]);
    });

    it('stores feedback under the organisation the request acts for', async () => {
      const a = await createOrg(t.app);
      const b = await createOrg(t.app);
      // A's owner is also a member of B: the header selects B, the token's tenant is A.
      const em = t.em();
      t.app.get(MembershipService).add(em, b.tenant.id, a.user.id, TenantRole.Member);
      await em.flush();
      const inB = await api()
        .post('/v1/feedback')
        .set(a.headers)
        .set('X-Tenant-Id', b.tenant.id)
        .send({ kind: 'rating', score: 2 })
        .expect(201);
      expect(inB.body.tenantId).toBe(b.tenant.id);
      const inA = await api()
        .post('/v1/feedback')
        .set({ Authorization: a.headers.Authorization })
        .send({ kind: 'rating', score: 3 })
        .expect(201);
      expect(inA.body.tenantId).toBe(a.tenant.id);
      expect((await rowsOf(b.tenant.id)).map((r) => r.id)).toEqual([inB.body.id]);
      expect((await rowsOf(a.tenant.id)).map((r) => r.id)).toEqual([inA.body.id]);
    });
  });

  it('stays open to an organisation suspended for an unpaid invoice (other writes get 402)', async () => {
    const unpaid = await createOrg(t.app);
    await api()
      .post('/v1/billing/payment-methods')
      .set(unpaid.headers)
      .send({ paymentMethodId: 'pm_card_visa' })
      .expect(201);
    await api()
      .post('/v1/billing/subscription')
      .set(unpaid.headers)
      .send({ priceId: PRO_USD_MONTH, quantity: 1 })
      .expect(201);
    // Where payment recovery's last step leaves it (test/billing/recovery.e2e-spec.ts walks there).
    await t
      .em()
      .execute("update platform.subscription set status = 'unpaid' where tenant_id = ?", [
        unpaid.tenant.id,
      ]);
    t.app.get(EntitlementService).invalidate(unpaid.tenant.id);
    const gated = await api()
      .patch('/v1/tenant')
      .set(unpaid.headers)
      .send({ name: 'Renamed' })
      .expect(402);
    expectProblem(gated, 402, 'payment_required');
    await api()
      .post('/v1/feedback')
      .set(unpaid.headers)
      .send({ kind: 'nps', score: 2, category: 'billing', message: 'Too expensive for us now.' })
      .expect(201);
    expect(await rowsOf(unpaid.tenant.id)).toHaveLength(1);
  });

  it('replays a repeated Idempotency-Key instead of storing twice', async () => {
    const keyed = await createOrg(t.app);
    const body = { kind: 'nps', score: 8, message: 'Solid.' };
    const first = await api()
      .post('/v1/feedback')
      .set(keyed.headers)
      .set('Idempotency-Key', 'feedback-1')
      .send(body)
      .expect(201);
    const again = await api()
      .post('/v1/feedback')
      .set(keyed.headers)
      .set('Idempotency-Key', 'feedback-1')
      .send(body)
      .expect(201);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await api()
      .post('/v1/feedback')
      .set(keyed.headers)
      .set('Idempotency-Key', 'feedback-1')
      .send({ ...body, score: 9 })
      .expect(422);
    expectProblem(other, 422, 'idempotency_key_reused');
    expect(await rowsOf(keyed.tenant.id)).toHaveLength(1);
  });

  it('leaves with its organisation when the tenant row is deleted', async () => {
    const gone = await createOrg(t.app);
    await api().post('/v1/feedback').set(gone.headers).send({ kind: 'nps', score: 5 }).expect(201);
    await t.em().execute('delete from platform.tenant where id = ?', [gone.tenant.id]);
    expect(await rowsOf(gone.tenant.id)).toEqual([]);
  });

  describe('FeedbackService.record (demo data, without HTTP)', () => {
    it('stores feedback for a tenant and user at a given time', async () => {
      const demo = await createOrg(t.app);
      const at = new Date('2026-06-01T09:30:00.000Z');
      const dto = await t.app.get(FeedbackService).record({
        tenantId: demo.tenant.id,
        userId: demo.user.id,
        kind: FeedbackKind.Rating,
        score: 3,
        category: FeedbackCategory.Performance,
        message: 'Slow exports',
        context: { source: 'demo' },
        at,
      });
      expect(dto).toMatchObject({
        tenantId: demo.tenant.id,
        userId: demo.user.id,
        createdAt: at,
        category: 'performance',
      });
      const [row] = await rowsOf(demo.tenant.id);
      expect(row.id).toBe(dto.id);
      expect(new Date(row.created_at).toISOString()).toBe(at.toISOString());
    });

    it('applies the API rules and names a missing organisation', async () => {
      const demo = await createOrg(t.app);
      const service = t.app.get(FeedbackService);
      const base = { tenantId: demo.tenant.id, userId: demo.user.id };
      await expect(
        service.record({ ...base, kind: FeedbackKind.Nps, score: 11 }),
      ).rejects.toBeInstanceOf(CommonException);
      await expect(
        service.record({
          ...base,
          kind: FeedbackKind.Nps,
          score: 3,
          context: { a: { b: 1 } } as never,
        }),
      ).rejects.toBeInstanceOf(CommonException);
      await expect(
        service.record({
          ...base,
          tenantId: '0193a000-0000-7000-8000-00000000dead',
          kind: FeedbackKind.Nps,
          score: 3,
        }),
      ).rejects.toEqual(expect.any(FeedbackException));
      expect(await rowsOf(demo.tenant.id)).toEqual([]);
    });
  });
});
