import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import {
  AdminKbArticleDto,
  KbArticleDto,
  KbRevisionListDto,
} from '../../src/knowledge-base/dtos/kb-article.dto';
import { KbCategoryDto, KbCategoryListDto } from '../../src/knowledge-base/dtos/kb-category.dto';
import { KbSearchResultDto } from '../../src/knowledge-base/dtos/kb-search.dto';
import { KbDeflection } from '../../src/knowledge-base/entities/kb-deflection.entity';
import { PlatformAuditEvent } from '../../src/tenancy/audit/platform-audit-event.entity';
import { Actor, createOrg, createUser, Org } from '../support/factories';
import { erroredFields, expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const UNKNOWN_ID = '0193a3c5-8f2e-7b6a-9c1d-2e3f4a5b6c7d';

/** A made-up word no other test uses: letters only, so stemming and trigrams treat it as a word. */
const word = (): string =>
  `zq${[...randomBytes(6)].map((b) => String.fromCharCode(97 + (b % 26))).join('')}`;

describe('knowledge base', () => {
  let t: TestApp;
  let admin: Actor;
  let support: Actor;
  let member: Org;
  let category: KbCategoryDto;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    support = await createUser(t.app, { platformRole: PlatformRole.Support });
    member = await createOrg(t.app);
    category = await createCategory();
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  async function createCategory(overrides: Record<string, unknown> = {}): Promise<KbCategoryDto> {
    const res = await api()
      .post('/v1/admin/kb/categories')
      .set(admin.headers)
      .send({ slug: `cat-${word()}`, name: 'Getting started', sortOrder: 5, ...overrides })
      .expect(201);
    return res.body as KbCategoryDto;
  }

  async function createArticle(
    overrides: Record<string, unknown> = {},
    options: { publish?: boolean; as?: Actor } = {},
  ): Promise<AdminKbArticleDto> {
    const res = await api()
      .post('/v1/admin/kb/articles')
      .set((options.as ?? admin).headers)
      .send({
        categoryId: category.id,
        title: `Article ${word()}`,
        locale: 'en',
        body: 'Some helpful text.',
        ...overrides,
      })
      .expect(201);
    const article = res.body as AdminKbArticleDto;
    if (options.publish === false) return article;
    return (
      await api().post(`/v1/admin/kb/articles/${article.id}/publish`).set(admin.headers).expect(200)
    ).body as AdminKbArticleDto;
  }

  const search = async (q: string, headers: Record<string, string> = {}, extra = '') =>
    (
      await api()
        .get(`/v1/kb/search?q=${encodeURIComponent(q)}${extra}`)
        .set(headers)
        .expect(200)
    ).body as KbSearchResultDto;

  describe('who may call the admin routes', () => {
    const routes: [string, string, boolean][] = [
      ['get', '/v1/admin/kb/categories', true],
      ['post', '/v1/admin/kb/categories', false],
      ['patch', `/v1/admin/kb/categories/${UNKNOWN_ID}`, false],
      ['delete', `/v1/admin/kb/categories/${UNKNOWN_ID}`, false],
      ['get', '/v1/admin/kb/articles', true],
      ['get', `/v1/admin/kb/articles/${UNKNOWN_ID}`, true],
      ['post', '/v1/admin/kb/articles', true],
      ['patch', `/v1/admin/kb/articles/${UNKNOWN_ID}`, true],
      ['post', `/v1/admin/kb/articles/${UNKNOWN_ID}/publish`, true],
      ['post', `/v1/admin/kb/articles/${UNKNOWN_ID}/archive`, true],
      ['get', `/v1/admin/kb/articles/${UNKNOWN_ID}/revisions`, true],
      ['post', `/v1/admin/kb/articles/${UNKNOWN_ID}/revisions/1/restore`, true],
    ];

    it.each(routes)('%s %s: 401 anonymous, 403 tenant owner', async (method, path) => {
      const call = (m: string) =>
        (api() as unknown as Record<string, (p: string) => request.Test>)[m](path);
      expectProblem(await call(method).send({}), 401, 'unauthenticated');
      expectProblem(await call(method).set(member.headers).send({}), 403, 'forbidden');
    });

    it.each(routes)('%s %s: platform support allowed: %s', async (method, path, allowed) => {
      const res = await (api() as unknown as Record<string, (p: string) => request.Test>)
        [method](path)
        .set(support.headers)
        .send({});
      if (allowed) expect(res.status).not.toBe(403);
      else expectProblem(res, 403, 'forbidden');
    });
  });

  describe('categories', () => {
    it('creates, refuses a duplicate slug, updates, deletes when empty, and audits', async () => {
      const slug = `cat-${word()}`;
      const created = await createCategory({ slug, name: 'Billing', description: 'Money' });
      expect(created).toMatchObject({
        slug,
        name: 'Billing',
        description: 'Money',
        articleCount: 0,
      });
      expectProblem(
        await api()
          .post('/v1/admin/kb/categories')
          .set(admin.headers)
          .send({ slug, name: 'Again' }),
        409,
        'kb_category_slug_taken',
      );
      const updated = await api()
        .patch(`/v1/admin/kb/categories/${created.id}`)
        .set(admin.headers)
        .send({ name: 'Billing and plans', sortOrder: 1 })
        .expect(200);
      expect(updated.body).toMatchObject({ name: 'Billing and plans', sortOrder: 1, slug });

      await api().delete(`/v1/admin/kb/categories/${created.id}`).set(admin.headers).expect(204);
      expectProblem(
        await api().delete(`/v1/admin/kb/categories/${created.id}`).set(admin.headers),
        404,
        'kb_category_not_found',
      );
      const actions = (
        await t.em().find(PlatformAuditEvent, { data: { categoryId: created.id } })
      ).map((e) => e.action);
      expect(actions.sort()).toEqual([
        'kb.category.created',
        'kb.category.deleted',
        'kb.category.updated',
      ]);
    });

    it('refuses to delete a category that holds articles, archived ones too (409)', async () => {
      const other = await createCategory();
      const article = await createArticle({ categoryId: other.id });
      await api()
        .post(`/v1/admin/kb/articles/${article.id}/archive`)
        .set(admin.headers)
        .expect(200);
      const res = await api().delete(`/v1/admin/kb/categories/${other.id}`).set(admin.headers);
      expect(expectProblem(res, 409, 'kb_category_not_empty').articles).toBe(1);
    });

    it('validates input (400 problem+json)', async () => {
      const res = await api()
        .post('/v1/admin/kb/categories')
        .set(admin.headers)
        .send({ slug: 'Not A Slug', name: '', sortOrder: -1, extra: true });
      expect(erroredFields(expectProblem(res, 400, 'validation_failed')).sort()).toEqual([
        'extra',
        'name',
        'slug',
        'sortOrder',
      ]);
      expectProblem(
        await api().patch('/v1/admin/kb/categories/not-a-uuid').set(admin.headers).send({}),
        400,
        'bad_request',
      );
    });

    it('public counts include only published articles the caller may read', async () => {
      const counted = await createCategory();
      const base = { categoryId: counted.id };
      await createArticle({ ...base, visibility: 'public' });
      await createArticle({ ...base, visibility: 'signed_in' });
      await createArticle({ ...base, visibility: 'internal' });
      await createArticle({ ...base, visibility: 'public' }, { publish: false });
      const archived = await createArticle(base);
      await api().post(`/v1/admin/kb/articles/${archived.id}/archive`).set(admin.headers);
      await createArticle({ ...base, locale: 'fr' });

      const count = async (headers: Record<string, string>, query = '') => {
        const res = await api().get(`/v1/kb/categories${query}`).set(headers).expect(200);
        return (res.body as KbCategoryListDto).items.find((c) => c.id === counted.id)?.articleCount;
      };
      expect(await count({})).toBe(2);
      // A category holding only what the caller may not read is not listed at all.
      const hidden = await createCategory({ name: 'Internal runbooks' });
      await createArticle({ categoryId: hidden.id, visibility: 'internal' });
      await createArticle({ categoryId: hidden.id }, { publish: false });
      const listed = async (headers: Record<string, string>) =>
        (
          (await api().get('/v1/kb/categories').set(headers).expect(200)).body as KbCategoryListDto
        ).items.map((c) => c.id);
      expect(await listed({})).not.toContain(hidden.id);
      expect(await listed(member.headers)).not.toContain(hidden.id);
      expect(await listed(support.headers)).toContain(hidden.id);
      expect(await count({}, '?locale=de')).toBeUndefined();
      expect(await count({}, '?locale=en')).toBe(1);
      expect(await count(member.headers, '?locale=en')).toBe(2);
      expect(await count(support.headers, '?locale=en')).toBe(3);
      const all = await api().get('/v1/admin/kb/categories').set(support.headers).expect(200);
      expect(
        (all.body as KbCategoryListDto).items.find((c) => c.id === counted.id)?.articleCount,
      ).toBe(6);
      expectProblem(await api().get('/v1/kb/categories?locale=EN!'), 400, 'validation_failed');
    });
  });

  describe('authoring', () => {
    it('support writes a draft, edits it into revisions, restores one, publishes and archives', async () => {
      const draft = await createArticle(
        { title: 'Café setup', body: 'First body', tags: ['Setup', 'setup', 'cafe'] },
        { publish: false, as: support },
      );
      expect(draft).toMatchObject({
        status: 'draft',
        revision: 1,
        slug: 'cafe-setup',
        tags: ['setup', 'cafe'],
        authorId: support.user.id,
        publishedAt: null,
      });
      const path = `/v1/admin/kb/articles/${draft.id}`;
      const edited = (
        await api()
          .patch(path)
          .set(support.headers)
          .send({ title: 'Café setup, revised', body: 'Second **body**' })
          .expect(200)
      ).body as AdminKbArticleDto;
      expect(edited).toMatchObject({
        revision: 2,
        title: 'Café setup, revised',
        slug: 'cafe-setup',
      });
      expect(edited.bodyHtml).toBe('<p>Second <strong>body</strong></p>\n');

      // A change that touches no content adds no revision.
      const moved = await api().patch(path).set(admin.headers).send({ visibility: 'signed_in' });
      expect(moved.body).toMatchObject({ revision: 2, visibility: 'signed_in' });

      const restored = (
        await api().post(`${path}/revisions/1/restore`).set(admin.headers).expect(200)
      ).body as AdminKbArticleDto;
      expect(restored).toMatchObject({
        revision: 3,
        title: 'Café setup',
        bodyMarkdown: 'First body',
      });

      const revisions = (await api().get(`${path}/revisions`).set(support.headers).expect(200))
        .body as KbRevisionListDto;
      expect(revisions.items.map((r) => [r.number, r.title, r.restoredFrom])).toEqual([
        [3, 'Café setup', 1],
        [2, 'Café setup, revised', null],
        [1, 'Café setup', null],
      ]);
      expect(revisions.items.map((r) => r.editorId)).toEqual([
        admin.user.id,
        support.user.id,
        support.user.id,
      ]);
      expectProblem(
        await api().post(`${path}/revisions/9/restore`).set(admin.headers),
        404,
        'kb_revision_not_found',
      );

      const published = await api().post(`${path}/publish`).set(support.headers).expect(200);
      expect(published.body).toMatchObject({ status: 'published' });
      expect(typeof published.body.publishedAt).toBe('string');
      const archived = await api().post(`${path}/archive`).set(support.headers).expect(200);
      expect(archived.body).toMatchObject({ status: 'archived' });

      const actions = (
        await t
          .em()
          .find(PlatformAuditEvent, { data: { articleId: draft.id } }, { orderBy: { id: 'asc' } })
      ).map((e) => [e.action, e.actorId]);
      expect(actions).toEqual([
        ['kb.article.created', support.user.id],
        ['kb.article.updated', support.user.id],
        ['kb.article.updated', admin.user.id],
        ['kb.article.restored', admin.user.id],
        ['kb.article.published', support.user.id],
        ['kb.article.archived', support.user.id],
      ]);
    });

    it('keeps slugs unique per locale (409) and refuses unknown categories (404)', async () => {
      const slug = `slug-${word()}`;
      await createArticle({ slug }, { publish: false });
      await createArticle({ slug, locale: 'fr' }, { publish: false });
      expectProblem(
        await api()
          .post('/v1/admin/kb/articles')
          .set(admin.headers)
          .send({ categoryId: category.id, title: 'x', slug, locale: 'en', body: 'x' }),
        409,
        'kb_article_slug_taken',
      );
      expectProblem(
        await api()
          .post('/v1/admin/kb/articles')
          .set(admin.headers)
          .send({ categoryId: UNKNOWN_ID, title: 'x', locale: 'en', body: 'x' }),
        404,
        'kb_category_not_found',
      );
      expectProblem(
        await api()
          .post('/v1/admin/kb/articles')
          .set(admin.headers)
          .send({ categoryId: category.id, title: '日本語', locale: 'ja', body: 'x' }),
        422,
        'kb_article_slug_invalid',
      );
    });

    it('validates article input (400)', async () => {
      const res = await api()
        .post('/v1/admin/kb/articles')
        .set(admin.headers)
        .send({
          categoryId: 'nope',
          title: '',
          locale: 'english',
          body: 42,
          tags: ['<b>'],
          visibility: 'secret',
        });
      expect(erroredFields(expectProblem(res, 400, 'validation_failed')).sort()).toEqual([
        'body',
        'categoryId',
        'locale',
        'tags',
        'title',
        'visibility',
      ]);
      expectProblem(
        await api()
          .patch(`/v1/admin/kb/articles/${UNKNOWN_ID}`)
          .set(admin.headers)
          .send({ title: 'x' }),
        404,
        'kb_article_not_found',
      );
      expectProblem(
        await api().get(`/v1/admin/kb/articles?status=gone`).set(admin.headers),
        400,
        'validation_failed',
      );
    });

    it('lists articles with filters, newest first, a page at a time', async () => {
      const listed = await createCategory();
      const a = await createArticle({ categoryId: listed.id }, { publish: false });
      const b = await createArticle({ categoryId: listed.id });
      const c = await createArticle({ categoryId: listed.id }, { publish: false });
      const first = await api()
        .get(`/v1/admin/kb/articles?categoryId=${listed.id}&limit=2`)
        .set(support.headers)
        .expect(200);
      expect(first.body.items.map((i: { id: string }) => i.id)).toEqual([c.id, b.id]);
      const second = await api()
        .get(
          `/v1/admin/kb/articles?categoryId=${listed.id}&limit=2&cursor=${first.body.nextCursor}`,
        )
        .set(support.headers)
        .expect(200);
      expect(second.body).toEqual({
        items: [expect.objectContaining({ id: a.id })],
        nextCursor: null,
      });
      const drafts = await api()
        .get(`/v1/admin/kb/articles?categoryId=${listed.id}&status=draft&locale=en`)
        .set(admin.headers)
        .expect(200);
      expect(drafts.body.items.map((i: { id: string }) => i.id)).toEqual([c.id, a.id]);
      const got = await api().get(`/v1/admin/kb/articles/${c.id}`).set(support.headers).expect(200);
      expect(got.body).toMatchObject({
        id: c.id,
        status: 'draft',
        bodyMarkdown: 'Some helpful text.',
      });
    });
  });

  describe('reading', () => {
    it('renders Markdown safely', async () => {
      const article = await createArticle({
        body: 'Hi <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://example.com)',
      });
      const res = await api().get(`/v1/kb/articles/${article.slug}`).expect(200);
      const html = (res.body as KbArticleDto).bodyHtml;
      expect(html).toContain('&lt;script&gt;');
      expect(html).not.toContain('<script');
      expect(html).not.toContain('javascript:alert(1)"');
      expect(html).toContain(
        '<a href="https://example.com" rel="noopener noreferrer nofollow">ok</a>',
      );
    });

    it('counts views of a readable article', async () => {
      const article = await createArticle();
      const first = await api().get(`/v1/kb/articles/${article.slug}?locale=en`).expect(200);
      expect(first.body).toMatchObject({ id: article.id, viewCount: 1, title: article.title });
      expect(first.body).not.toHaveProperty('bodyMarkdown');
      const second = await api().get(`/v1/kb/articles/${article.slug}`).expect(200);
      expect(second.body.viewCount).toBe(2);
      const stored = await api().get(`/v1/admin/kb/articles/${article.id}`).set(admin.headers);
      expect(stored.body.viewCount).toBe(2);
    });

    it('answers 404 for drafts, archived, other locales and articles the caller may not read', async () => {
      const draft = await createArticle({}, { publish: false });
      const archived = await createArticle();
      await api().post(`/v1/admin/kb/articles/${archived.id}/archive`).set(admin.headers);
      const signedIn = await createArticle({ visibility: 'signed_in' });
      const internal = await createArticle({ visibility: 'internal' });
      const get = (slug: string, headers: Record<string, string> = {}, locale = 'en') =>
        api().get(`/v1/kb/articles/${slug}?locale=${locale}`).set(headers);

      for (const headers of [{}, member.headers, support.headers]) {
        expectProblem(await get(draft.slug, headers), 404, 'kb_article_not_found');
        expectProblem(await get(archived.slug, headers), 404, 'kb_article_not_found');
      }
      expectProblem(await get(signedIn.slug), 404, 'kb_article_not_found');
      await get(signedIn.slug, member.headers).expect(200);
      expectProblem(await get(internal.slug), 404, 'kb_article_not_found');
      expectProblem(await get(internal.slug, member.headers), 404, 'kb_article_not_found');
      await get(internal.slug, support.headers).expect(200);
      expectProblem(await get(signedIn.slug, member.headers, 'fr'), 404, 'kb_article_not_found');
      expectProblem(await get('no-such-article'), 404, 'kb_article_not_found');
      // Nothing was counted for the refused reads.
      const stored = await api().get(`/v1/admin/kb/articles/${internal.id}`).set(admin.headers);
      expect(stored.body.viewCount).toBe(1);
    });

    it('checks credentials that are sent, even on public routes', async () => {
      expectProblem(
        await api().get('/v1/kb/categories').set('Authorization', 'Bearer not-a-token'),
        401,
        'invalid_token',
      );
    });
  });

  describe('votes and deflections', () => {
    it('counts helpful and not helpful votes', async () => {
      const article = await createArticle();
      const vote = (helpful: unknown, headers: Record<string, string> = {}) =>
        api().post(`/v1/kb/articles/${article.id}/votes`).set(headers).send({ helpful });
      expect((await vote(true)).body).toEqual({ helpfulCount: 1, notHelpfulCount: 0 });
      expect((await vote(false, member.headers)).body).toEqual({
        helpfulCount: 1,
        notHelpfulCount: 1,
      });
      expect((await vote(true)).status).toBe(200);
      expectProblem(await vote('yes'), 400, 'validation_failed');
      expectProblem(await vote(undefined), 400, 'validation_failed');
    });

    it('refuses votes on articles the caller may not read (404)', async () => {
      const draft = await createArticle({}, { publish: false });
      const internal = await createArticle({ visibility: 'internal' });
      for (const id of [draft.id, internal.id, UNKNOWN_ID]) {
        expectProblem(
          await api().post(`/v1/kb/articles/${id}/votes`).send({ helpful: true }),
          404,
          'kb_article_not_found',
        );
      }
      expectProblem(
        await api().post('/v1/kb/articles/nope/votes').send({ helpful: true }),
        400,
        'bad_request',
      );
      const stored = await api().get(`/v1/admin/kb/articles/${internal.id}`).set(admin.headers);
      expect(stored.body.helpfulCount).toBe(0);
    });

    it('records deflections with the signed-in user and tenant, and counts them', async () => {
      const article = await createArticle();
      const path = `/v1/kb/articles/${article.id}/deflections`;
      const anonymous = await api().post(path).send({ query: '  cannot log in ' }).expect(201);
      expect(anonymous.body.deflectionCount).toBe(1);
      const signedIn = await api()
        .post(path)
        .set(member.headers)
        .send({ query: 'password reset' })
        .expect(201);
      expect(signedIn.body.deflectionCount).toBe(2);

      const rows = await t
        .em()
        .find(KbDeflection, { article: article.id }, { orderBy: { id: 'asc' } });
      expect(rows.map((r) => [r.query, r.userId, r.tenantId])).toEqual([
        ['cannot log in', null, null],
        ['password reset', member.user.id, member.tenant.id],
      ]);
      const stored = await api().get(`/v1/admin/kb/articles/${article.id}`).set(admin.headers);
      expect(stored.body.deflectionCount).toBe(2);

      expectProblem(await api().post(path).send({ query: '' }), 400, 'validation_failed');
      const draft = await createArticle({}, { publish: false });
      expectProblem(
        await api().post(`/v1/kb/articles/${draft.id}/deflections`).send({ query: 'x' }),
        404,
        'kb_article_not_found',
      );
    });
  });

  describe('search', () => {
    it('ranks a title match above a body match, tags in between', async () => {
      const term = word();
      const inBody = await createArticle({
        title: `Body ${word()}`,
        body: `Mentions ${term} here.`,
      });
      const inTitle = await createArticle({ title: `All about ${term}`, body: 'Nothing else.' });
      const inTags = await createArticle({ title: `Tagged ${word()}`, tags: [term], body: 'x' });
      const result = await search(term);
      expect(result.match).toBe('fulltext');
      expect(result.items.map((i) => i.id)).toEqual([inTitle.id, inTags.id, inBody.id]);
      expect(result.items[0].score).toBeGreaterThan(result.items[2].score);
      expect(result.items[2].snippet).toContain(`Mentions <mark>${term}</mark> here`);
    });

    it('finds accented words without accents, and the other way round', async () => {
      const tail = word();
      const article = await createArticle({
        title: `Mettre à jour votre Résumé ${tail}`,
        locale: 'fr',
        body: 'Le curriculum vitæ.',
      });
      const plain = await search(`resume ${tail}`, {}, '&locale=fr');
      expect(plain.items.map((i) => i.id)).toEqual([article.id]);
      const english = await createArticle({ title: `Update your resume ${tail}` });
      const accented = await search(`résumé ${tail}`);
      expect(accented.items.map((i) => i.id)).toEqual([english.id]);
    });

    it('stems words (English): "invoices" finds "invoice"', async () => {
      const tail = word();
      const article = await createArticle({ title: `Download an invoice ${tail}` });
      expect((await search(`invoices ${tail}`)).items.map((i) => i.id)).toEqual([article.id]);
    });

    it('falls back to similar titles when the words match nothing (typos)', async () => {
      const tail = word();
      const article = await createArticle({ title: `Configuring webhooks ${tail}` });
      // "webhooks" misspelt, and the unique word with one letter dropped.
      const typo = `webhoks ${tail.slice(0, 4)}${tail.slice(5)}`;
      const result = await search(typo);
      expect(result.match).toBe('similar_titles');
      expect(result.items[0]).toMatchObject({ id: article.id, snippet: '' });
      expect(result.items[0].score).toBeGreaterThan(0.4);
    });

    it('escapes article text in snippets; only the highlight is markup', async () => {
      const term = word();
      await createArticle({ body: `<img src=x onerror=alert(1)> ${term} & "more"` });
      const [hit] = (await search(term)).items;
      expect(hit.snippet).toContain(`<mark>${term}</mark> &amp; &quot;more`);
      expect(hit.snippet).toContain('&gt;');
      // Take the highlight marks away: no markup is left.
      expect(hit.snippet.replace(/<\/?mark>/g, '')).not.toMatch(/[<>"]/);
    });

    it('never shows drafts, archived or unreadable articles (search and deflect)', async () => {
      const term = word();
      const make = (visibility: string, publish = true) =>
        createArticle({ title: `${term} ${visibility} ${word()}`, visibility }, { publish });
      const pub = await make('public');
      const signedIn = await make('signed_in');
      const internal = await make('internal');
      const draft = await make('public', false);
      const archived = await make('public');
      await api().post(`/v1/admin/kb/articles/${archived.id}/archive`).set(admin.headers);

      const ids = async (headers: Record<string, string>) =>
        (await search(term, headers)).items.map((i) => i.id).sort();
      const deflected = async (headers: Record<string, string>) =>
        (
          (await api().get(`/v1/kb/deflect?subject=${term}`).set(headers).expect(200))
            .body as KbSearchResultDto
        ).items
          .map((i) => i.id)
          .sort();
      expect(await ids({})).toEqual([pub.id]);
      expect(await deflected({})).toEqual([pub.id]);
      expect(await ids(member.headers)).toEqual([pub.id, signedIn.id].sort());
      expect(await deflected(member.headers)).toEqual([pub.id, signedIn.id].sort());
      expect(await ids(support.headers)).toEqual([pub.id, signedIn.id, internal.id].sort());
      expect((await ids(admin.headers)).includes(draft.id)).toBe(false);

      // The typo path filters the same way.
      const typo = `${term.slice(0, 3)}${term.slice(4)}`;
      const similar = await search(typo);
      expect(similar.match).toBe('similar_titles');
      expect(similar.items.map((i) => i.id)).toEqual([pub.id]);
    });

    it('deflect returns at most five articles, best first', async () => {
      const term = word();
      const best = await createArticle({ title: `Cannot ${term}` });
      for (let i = 0; i < 6; i++) await createArticle({ body: `about ${term}` });
      const res = await api()
        .get(`/v1/kb/deflect?subject=${encodeURIComponent(`I cannot ${term} at all`)}`)
        .expect(200);
      expect(res.body.items).toHaveLength(5);
      expect(res.body.items[0].id).toBe(best.id);
    });

    it('pages results within the cap', async () => {
      const term = word();
      for (let i = 0; i < 3; i++) await createArticle({ body: `about ${term}` });
      const page1 = await search(term, {}, '&limit=2');
      const page2 = await search(term, {}, '&limit=2&offset=2');
      expect(page1.items).toHaveLength(2);
      expect(page2.items).toHaveLength(1);
      expect(new Set([...page1.items, ...page2.items].map((i) => i.id)).size).toBe(3);
    });

    it('validates the query (400)', async () => {
      for (const query of [
        '',
        '?q=',
        '?q=x&limit=51',
        '?q=x&offset=201',
        '?q=x&locale=x!',
        `?q=${'a'.repeat(201)}`,
      ]) {
        expectProblem(await api().get(`/v1/kb/search${query}`), 400, 'validation_failed');
      }
      expectProblem(await api().get('/v1/kb/deflect'), 400, 'validation_failed');
    });

    it('answers an all-stop-word or punctuation query without error', async () => {
      const res = await search('the of "" -');
      expect(Array.isArray(res.items)).toBe(true);
    });
  });

  it('documents every route in OpenAPI: operationId, summary, tag, response type, problems', async () => {
    const doc = (await api().get('/docs-json').expect(200)).body as {
      paths: Record<string, Record<string, Record<string, unknown>>>;
    };
    const ops = Object.entries(doc.paths)
      .filter(([path]) => path.startsWith('/v1/kb') || path.startsWith('/v1/admin/kb'))
      .flatMap(([, methods]) => Object.values(methods));
    expect(ops.map((op) => op.operationId).sort()).toEqual([
      'adminArchiveKbArticle',
      'adminCreateKbArticle',
      'adminCreateKbCategory',
      'adminDeleteKbCategory',
      'adminGetKbArticle',
      'adminListKbArticleRevisions',
      'adminListKbArticles',
      'adminListKbCategories',
      'adminPublishKbArticle',
      'adminRestoreKbArticleRevision',
      'adminUpdateKbArticle',
      'adminUpdateKbCategory',
      'createKbDeflection',
      'deflectKbTicket',
      'getKbArticle',
      'listKbCategories',
      'searchKbArticles',
      'voteKbArticle',
    ]);
    for (const op of ops) {
      expect(op.tags).toEqual(['knowledge-base']);
      expect(typeof op.summary).toBe('string');
      const responses = op.responses as Record<string, { content?: Record<string, unknown> }>;
      const success = Object.keys(responses).filter((status) => /^2/.test(status));
      expect(success).toHaveLength(1);
      const problems = Object.keys(responses).filter(
        (status) => /^4/.test(status) && responses[status].content?.['application/problem+json'],
      );
      expect(problems.length).toBeGreaterThan(0);
    }
  });
});
