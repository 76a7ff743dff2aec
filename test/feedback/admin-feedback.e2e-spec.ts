import fc from 'fast-check';
import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { CSV_COLUMNS, EXPORT_PAGE_SIZE } from '../../src/feedback/admin-feedback.service';
import { FeedbackErrorCode } from '../../src/feedback/feedback.exception';
import { FeedbackCategory, FeedbackKind } from '../../src/feedback/feedback-rules';
import { FeedbackService } from '../../src/feedback/feedback.service';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { erroredFields, expectProblem, PROBLEM_MEDIA_TYPE } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';
import { parseCsv } from './csv-parse';

interface Item {
  id: string;
  tenantId: string;
  tenantSlug: string;
  userId: string;
  kind: string;
  score: number;
  category: string;
  message: string | null;
  context: Record<string, unknown>;
  createdAt: string;
}

/** The operator's views of feedback: /v1/admin/feedback, its summary and its CSV export. */
describe('admin feedback', () => {
  let t: TestApp;
  let admin: Actor;
  let support: Actor;
  let a: Org;
  let b: Org;
  /** Seeded feedback by number (1–11), as the service returned it. */
  const seeded = new Map<number, Item>();
  /** Every SQL statement the app runs (the ORM's query log). */
  const statements: string[] = [];
  /** The statements `fn` runs that read platform.feedback. */
  const feedbackReads = async (fn: () => Promise<unknown>): Promise<string[]> => {
    const start = statements.length;
    await fn();
    return statements
      .slice(start)
      .filter((line) => /select .*from platform\.feedback/is.test(line));
  };

  const at = (day: number, hour = 10) =>
    new Date(`2026-01-${String(day).padStart(2, '0')}T${String(hour).padStart(2, '0')}:00:00.000Z`);

  beforeAll(async () => {
    t = await bootTestApp({ orm: { onQuery: (line) => statements.push(line) } });
    admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    support = await createUser(t.app, { platformRole: PlatformRole.Support });
    a = await createOrg(t.app);
    b = await createOrg(t.app);
    const service = t.app.get(FeedbackService);
    const { Rating, Nps } = FeedbackKind;
    const C = FeedbackCategory;
    const rows: [number, Org, FeedbackKind, number, FeedbackCategory, string | null, Date][] = [
      [1, a, Rating, 5, C.Bug, 'Crashes, sometimes', at(1)],
      [2, a, Rating, 4, C.Usability, 'He said "wow"\nthen left', at(2)],
      [3, a, Rating, 1, C.Billing, '=HYPERLINK("http://evil.example","click")', at(3)],
      [4, a, Nps, 10, C.Other, '+1 would recommend', at(4)],
      [5, a, Nps, 9, C.FeatureRequest, '@channel please add SSO', at(5)],
      [6, a, Nps, 3, C.Performance, '-slow-', at(6)],
      [7, b, Rating, 2, C.Support, null, at(2, 12)],
      [8, b, Nps, 7, C.Bug, 'Line1\r\nLine2, with comma', at(7)],
      [9, b, Nps, 0, C.Billing, 'Too expensive; 100% sure', at(8)],
      [10, b, Nps, 10, C.Other, 'Great', at(9)],
      [11, b, Rating, 3, C.Usability, 'Okay_ish', at(9)],
    ];
    for (const [n, org, kind, score, category, message, when] of rows) {
      const dto = await service.record({
        tenantId: org.tenant.id,
        userId: org.user.id,
        kind,
        score,
        category,
        message,
        context: n === 10 ? { page: '=cmd|calc', build: 42 } : { n },
        at: when,
      });
      seeded.set(n, {
        ...dto,
        tenantSlug: org.tenant.slug,
        createdAt: dto.createdAt.toISOString(),
      });
    }
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  /** Seeded numbers, newest first (equal times: higher id first). */
  const newestFirst = (numbers: number[]): Item[] =>
    numbers
      .map((n) => seeded.get(n)!)
      .sort((x, y) =>
        x.createdAt === y.createdAt
          ? y.id.localeCompare(x.id)
          : y.createdAt.localeCompare(x.createdAt),
      );
  const list = (query: Record<string, string | number>, actor: Actor = admin) =>
    api().get('/v1/admin/feedback').query(query).set(actor.headers);

  describe('access', () => {
    const routes = [
      '/v1/admin/feedback',
      '/v1/admin/feedback/summary',
      '/v1/admin/feedback/export.csv',
    ];

    it.each(routes)('%s: 401 without credentials', async (path) => {
      expectProblem(await api().get(path).expect(401), 401, 'unauthenticated');
    });

    it.each(routes)('%s: 403 for a tenant owner who is not staff', async (path) => {
      expectProblem(await api().get(path).set(a.headers).expect(403), 403, 'forbidden');
    });

    it.each(routes)('%s: platform support may read', async (path) => {
      await api().get(path).set(support.headers).expect(200);
    });

    it('an API key may not read it either', async () => {
      const key = await api()
        .post('/v1/tenant/api-keys')
        .set(a.headers)
        .send({ name: 'CI' })
        .expect(201);
      const res = await api()
        .get('/v1/admin/feedback')
        .set('X-Api-Key', key.body.key as string)
        .expect(403);
      expectProblem(res, 403, 'forbidden');
    });
  });

  it('documents the routes in OpenAPI: CSV as text/csv, the others as JSON, problems as problem+json', async () => {
    const doc = (await api().get('/docs-json').expect(200)).body as {
      paths: Record<
        string,
        Record<
          string,
          { operationId: string; responses: Record<string, { content?: Record<string, unknown> }> }
        >
      >;
    };
    const csv = doc.paths['/v1/admin/feedback/export.csv'].get;
    expect(csv.operationId).toBe('adminExportFeedbackCsv');
    expect(Object.keys(csv.responses['200'].content ?? {})).toEqual(['text/csv']);
    expect(Object.keys(csv.responses['400'].content ?? {})).toEqual(['application/problem+json']);
    expect(doc.paths['/v1/admin/feedback'].get.operationId).toBe('adminListFeedback');
    const listParams = (
      doc.paths['/v1/admin/feedback'].get as unknown as { parameters: { name: string }[] }
    ).parameters.map((p) => p.name);
    expect(listParams.sort()).toEqual(
      [
        'category',
        'cursor',
        'from',
        'kind',
        'limit',
        'maxScore',
        'minScore',
        'q',
        'tenantId',
        'to',
      ].sort(),
    );
    expect(doc.paths['/v1/admin/feedback/summary'].get.responses['200'].content).toHaveProperty(
      'application/json',
    );
    const create = doc.paths['/v1/feedback'].post;
    expect(create.operationId).toBe('createFeedback');
    expect(Object.keys(create.responses)).toEqual(
      expect.arrayContaining(['201', '400', '401', '403']),
    );
  });

  describe('GET /v1/admin/feedback', () => {
    it('lists every organisation’s feedback newest first, with the slug', async () => {
      const res = await list({}).expect(200);
      expect(res.body).toEqual({
        items: newestFirst([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]),
        nextCursor: null,
      });
    });

    it.each<[string, Record<string, string | number>, number[]]>([
      ['tenantId', { tenantId: 'B' }, [7, 8, 9, 10, 11]],
      ['kind', { kind: 'rating' }, [1, 2, 3, 7, 11]],
      ['category', { category: 'billing' }, [3, 9]],
      ['minScore', { minScore: 9 }, [4, 5, 10]],
      ['kind and maxScore', { kind: 'nps', maxScore: 6 }, [6, 9]],
      ['a score range', { kind: 'rating', minScore: 2, maxScore: 4 }, [2, 7, 11]],
      ['from (inclusive)', { from: '2026-01-08T10:00:00.000Z' }, [9, 10, 11]],
      ['to (exclusive)', { to: '2026-01-02T12:00:00.000Z' }, [1, 2]],
      ['from and to', { from: '2026-01-03T00:00:00Z', to: '2026-01-07T00:00:00Z' }, [3, 4, 5, 6]],
      ['q, case-insensitive', { q: 'CRASHES' }, [1]],
      ['q across a line break', { q: 'with comma' }, [8]],
      ['q with a literal %', { q: '% s' }, [9]],
      ['q with a literal _', { q: '_' }, [11]],
      ['q that matches nothing', { q: 'nothing like this' }, []],
      ['everything at once', { tenantId: 'A', kind: 'nps', category: 'other', minScore: 10 }, [4]],
    ])('filters by %s', async (_name, query, numbers) => {
      const resolved = { ...query };
      if (resolved.tenantId === 'A') resolved.tenantId = a.tenant.id;
      if (resolved.tenantId === 'B') resolved.tenantId = b.tenant.id;
      const res = await list(resolved).expect(200);
      expect(res.body.items).toEqual(newestFirst(numbers));
    });

    it('walks every page with the cursor, in order, without repeats', async () => {
      const pages: Item[][] = [];
      let cursor: string | null = null;
      do {
        const query: Record<string, string | number> = { limit: 3 };
        if (cursor) query.cursor = cursor;
        const res = await list(query).expect(200);
        pages.push(res.body.items as Item[]);
        cursor = res.body.nextCursor as string | null;
      } while (cursor && pages.length < 10);
      expect(pages.map((p) => p.length)).toEqual([3, 3, 3, 2]);
      expect(pages.flat()).toEqual(newestFirst([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]));
    });

    it('reads a page in one statement, cursor included', async () => {
      const first = await list({ limit: 2 }).expect(200);
      const reads = await feedbackReads(() =>
        list({ limit: 2, cursor: first.body.nextCursor as string }).expect(200),
      );
      expect(reads).toHaveLength(1);
    });

    it('pages within a filter too', async () => {
      const first = await list({ tenantId: b.tenant.id, limit: 2 }).expect(200);
      const second = await list({
        tenantId: b.tenant.id,
        limit: 2,
        cursor: first.body.nextCursor,
      }).expect(200);
      const third = await list({
        tenantId: b.tenant.id,
        limit: 2,
        cursor: second.body.nextCursor,
      }).expect(200);
      expect(third.body.nextCursor).toBeNull();
      expect([...first.body.items, ...second.body.items, ...third.body.items]).toEqual(
        newestFirst([7, 8, 9, 10, 11]),
      );
    });

    it.each<[string, Record<string, string | number>, string]>([
      ['an unknown kind', { kind: 'stars' }, 'kind'],
      ['an unknown category', { category: 'ux' }, 'category'],
      ['a score above 10', { minScore: 11 }, 'minScore'],
      ['a score that is not a number', { maxScore: 'high' }, 'maxScore'],
      ['a tenant id that is not a uuid', { tenantId: 'acme' }, 'tenantId'],
      ['a date that is not one', { from: 'yesterday' }, 'from'],
      ['to not after from', { from: '2026-01-05T00:00:00Z', to: '2026-01-05T00:00:00Z' }, 'to'],
      ['minScore above maxScore', { minScore: 8, maxScore: 3 }, 'maxScore'],
      ['a limit above 100', { limit: 101 }, 'limit'],
      ['a limit of 0', { limit: 0 }, 'limit'],
      ['a cursor that is not a uuid', { cursor: 'next' }, 'cursor'],
      ['an empty q', { q: '  ' }, 'q'],
      ['an unknown parameter', { sort: 'score' }, 'sort'],
    ])('refuses %s with 400', async (_name, query, field) => {
      const res = await list(query).expect(400);
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual([field]);
    });

    it('refuses a cursor that is not one of its rows', async () => {
      const res = await list({ cursor: '0193a000-0000-7000-8000-00000000beef' }).expect(400);
      expectProblem(res, 400, FeedbackErrorCode.CursorInvalid);
    });
  });

  it.each(['/v1/admin/feedback', '/v1/admin/feedback/summary', '/v1/admin/feedback/export.csv'])(
    '%s never answers generated queries with a 5xx',
    async (path) => {
      const key = fc.constantFrom(
        'tenantId',
        'kind',
        'category',
        'minScore',
        'maxScore',
        'from',
        'to',
        'q',
        'limit',
        'cursor',
      );
      const value = fc.oneof(
        fc.string({ unit: 'binary', maxLength: 30 }),
        fc.integer({ min: -5, max: 200 }).map(String),
        fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
        fc.uuid(),
        fc.constantFrom('rating', 'nps', 'bug', '%', '_', '\\'),
      );
      await fc.assert(
        fc.asyncProperty(fc.dictionary(key, value, { maxKeys: 5 }), async (query) => {
          const res = await api().get(path).query(query).set(admin.headers);
          expect(res.status).toBeLessThan(500);
          if (res.status !== 200) {
            expect(res.status).toBe(400);
            expect(res.headers['content-type']).toMatch(PROBLEM_MEDIA_TYPE);
          }
        }),
        { numRuns: 60 },
      );
    },
  );

  describe('GET /v1/admin/feedback/summary', () => {
    const summary = (query: Record<string, string> = {}) =>
      api().get('/v1/admin/feedback/summary').query(query).set(admin.headers).expect(200);

    it('counts, averages and scores all feedback', async () => {
      const res = await summary();
      expect(res.body).toEqual({
        responses: 11,
        byKind: [
          { kind: 'rating', count: 5 },
          { kind: 'nps', count: 6 },
        ],
        byCategory: [
          { category: 'bug', count: 2 },
          { category: 'feature_request', count: 1 },
          { category: 'billing', count: 2 },
          { category: 'support', count: 1 },
          { category: 'usability', count: 2 },
          { category: 'performance', count: 1 },
          { category: 'other', count: 2 },
        ],
        // 5 + 4 + 1 + 2 + 3 = 15 over 5
        rating: {
          responses: 5,
          average: 3,
          distribution: [1, 2, 3, 4, 5].map((score) => ({ score, count: 1 })),
        },
        // promoters 10, 9, 10; passive 7; detractors 3, 0: (3 − 2) / 6 = 16.67%
        nps: { responses: 6, promoters: 3, passives: 1, detractors: 2, score: 16.7 },
      });
    });

    it('for one organisation', async () => {
      const res = await summary({ tenantId: a.tenant.id });
      expect(res.body.responses).toBe(6);
      // (5 + 4 + 1) / 3 = 3.333…
      expect(res.body.rating).toMatchObject({ responses: 3, average: 3.33 });
      // promoters 10, 9; detractor 3: (2 − 1) / 3 = 33.33%
      expect(res.body.nps).toEqual({
        responses: 3,
        promoters: 2,
        passives: 0,
        detractors: 1,
        score: 33.3,
      });
    });

    it('over a period (from inclusive, to exclusive)', async () => {
      const res = await summary({
        from: '2026-01-07T10:00:00.000Z',
        to: '2026-01-09T10:00:00.000Z',
      });
      // rows 8 (nps 7) and 9 (nps 0)
      expect(res.body.responses).toBe(2);
      expect(res.body.rating).toMatchObject({ responses: 0, average: null });
      expect(res.body.nps).toEqual({
        responses: 2,
        promoters: 0,
        passives: 1,
        detractors: 1,
        score: -50,
      });
    });

    it('with nothing in the period: zeros and nulls', async () => {
      const res = await summary({ from: '2030-01-01T00:00:00Z' });
      expect(res.body.responses).toBe(0);
      expect(res.body.rating.average).toBeNull();
      expect(res.body.nps.score).toBeNull();
    });

    it.each<[Record<string, string>, string]>([
      [{ from: 'soon' }, 'from'],
      [{ tenantId: 'x' }, 'tenantId'],
      [{ to: '2026-01-01T00:00:00Z', from: '2026-02-01T00:00:00Z' }, 'to'],
      [{ kind: 'nps' }, 'kind'],
    ])('refuses %j with 400', async (query, field) => {
      const res = await api()
        .get('/v1/admin/feedback/summary')
        .query(query)
        .set(admin.headers)
        .expect(400);
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual([field]);
    });
  });

  describe('GET /v1/admin/feedback/export.csv', () => {
    const neutralised = (cell: string) => (/^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell);
    const csvOf = (item: Item): string[] => [
      item.id,
      item.createdAt,
      item.tenantId,
      item.tenantSlug,
      item.userId,
      item.kind,
      String(item.score),
      item.category,
      neutralised(item.message ?? ''),
      neutralised(JSON.stringify(item.context)),
    ];

    it('exports the feedback as CSV that reads back exactly, formulas neutralised', async () => {
      const res = await api()
        .get('/v1/admin/feedback/export.csv')
        .set(support.headers)
        .buffer(true)
        .parse((response, done) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => done(null, text));
        })
        .expect(200);
      expect(res.headers['content-type']).toMatch(/^text\/csv; charset=utf-8/);
      expect(res.headers['content-disposition']).toMatch(
        /^attachment; filename="feedback-\d{4}-\d{2}-\d{2}\.csv"$/,
      );
      const records = parseCsv(res.body as string);
      expect(records[0]).toEqual([...CSV_COLUMNS]);
      expect(records.slice(1)).toEqual(newestFirst([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).map(csvOf));
      // The tricky ones, spelled out.
      const byId = new Map(records.slice(1).map((r) => [r[0], r]));
      expect(byId.get(seeded.get(2)!.id)![8]).toBe('He said "wow"\nthen left');
      expect(byId.get(seeded.get(3)!.id)![8]).toBe('\'=HYPERLINK("http://evil.example","click")');
      expect(byId.get(seeded.get(4)!.id)![8]).toBe("'+1 would recommend");
      expect(byId.get(seeded.get(5)!.id)![8]).toBe("'@channel please add SSO");
      expect(byId.get(seeded.get(6)!.id)![8]).toBe("'-slow-");
      expect(byId.get(seeded.get(7)!.id)![8]).toBe('');
      expect(byId.get(seeded.get(8)!.id)![8]).toBe('Line1\r\nLine2, with comma');
      expect(byId.get(seeded.get(10)!.id)![9]).toBe('{"page":"=cmd|calc","build":42}');
    });

    const csvText = (query: Record<string, string | number>) =>
      api()
        .get('/v1/admin/feedback/export.csv')
        .query(query)
        .set(admin.headers)
        .buffer(true)
        .parse((response, done) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => done(null, text));
        });

    it('applies the list filters', async () => {
      const res = await csvText({ tenantId: b.tenant.id, kind: 'nps', minScore: 1 }).expect(200);
      expect(parseCsv(res.body as string).slice(1)).toEqual(newestFirst([8, 10]).map(csvOf));
    });

    it('is only a header row when nothing matches', async () => {
      const res = await csvText({ q: 'nothing like this' }).expect(200);
      expect(parseCsv(res.body as string)).toEqual([[...CSV_COLUMNS]]);
    });

    it('refuses bad filters with a problem, not a broken file', async () => {
      const res = await api()
        .get('/v1/admin/feedback/export.csv')
        .query({ minScore: 7, maxScore: 2 })
        .set(admin.headers)
        .expect(400);
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual(['maxScore']);
    });

    it('records each export in the platform audit log, with who and which filters', async () => {
      await csvText({ tenantId: a.tenant.id, category: 'bug' }).expect(200);
      const events = await t
        .em()
        .execute<{ actor_type: string; actor_id: string; tenant_id: string; data: unknown }[]>(
          "select * from platform.platform_audit_event where action = 'feedback.exported' and tenant_id = ?",
          [a.tenant.id],
        );
      expect(events).toEqual([
        expect.objectContaining({
          actor_type: 'platform_staff',
          actor_id: admin.user.id,
          tenant_id: a.tenant.id,
          data: { filters: { tenantId: a.tenant.id, category: 'bug' } },
        }),
      ]);
    });

    it(`streams many rows a keyset page (${EXPORT_PAGE_SIZE}) at a time, every row once, in order`, async () => {
      const bulk = await createOrg(t.app);
      const total = 2 * EXPORT_PAGE_SIZE + 345;
      // Three rows per second: equal times straddle the page boundaries.
      await t.em().execute(
        `insert into platform.feedback (id, tenant_id, user_id, kind, score, category, message, context, created_at)
         select gen_random_uuid(), ?, ?, 'nps', i % 11, 'other', 'row ' || i, '{}'::jsonb,
                timestamptz '2025-06-01T00:00:00Z' + (i / 3) * interval '1 second'
           from generate_series(1, ?) as i`,
        [bulk.tenant.id, bulk.user.id, total],
      );
      let res: Awaited<ReturnType<typeof csvText>> | undefined;
      const reads = await feedbackReads(async () => {
        res = await csvText({ tenantId: bulk.tenant.id }).expect(200);
      });
      // ceil(2,345 / 1,000) keyset pages, each a statement of its own.
      expect(reads).toHaveLength(Math.ceil(total / EXPORT_PAGE_SIZE));
      const rows = parseCsv(res!.body as string).slice(1);
      const expected = await t
        .em()
        .execute<{ id: string }[]>(
          'select id from platform.feedback where tenant_id = ? order by created_at desc, id desc',
          [bulk.tenant.id],
        );
      expect(rows).toHaveLength(total);
      expect(rows.map((r) => r[0])).toEqual(expected.map((r) => r.id));
    });
  });
});
