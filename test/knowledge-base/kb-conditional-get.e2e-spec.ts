import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { PlatformRole } from '../../src/access/roles';
import { AdminKbArticleDto, KbArticleDto } from '../../src/knowledge-base/dtos/kb-article.dto';
import { KbCategoryDto } from '../../src/knowledge-base/dtos/kb-category.dto';
import { Actor, createUser } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

/** A made-up word no other test uses, so searches find only this file's articles. */
const word = (): string =>
  `zq${[...randomBytes(6)].map((b) => String.fromCharCode(97 + (b % 26))).join('')}`;

/** ETag and If-None-Match on the public knowledge-base reads (RFC 9110 §13). */
describe('knowledge base conditional GET', () => {
  let t: TestApp;
  let admin: Actor;
  let category: KbCategoryDto;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    category = (
      await request(t.server)
        .post('/v1/admin/kb/categories')
        .set(admin.headers)
        .send({ slug: `cat-${word()}`, name: 'Conditional reads', sortOrder: 1 })
        .expect(201)
    ).body as KbCategoryDto;
  });
  afterAll(() => t.close());

  async function publishArticle(title: string): Promise<AdminKbArticleDto> {
    const draft = (
      await request(t.server)
        .post('/v1/admin/kb/articles')
        .set(admin.headers)
        .send({ categoryId: category.id, title, locale: 'en', body: 'First words.' })
        .expect(201)
    ).body as AdminKbArticleDto;
    return (
      await request(t.server)
        .post(`/v1/admin/kb/articles/${draft.id}/publish`)
        .set(admin.headers)
        .expect(200)
    ).body as AdminKbArticleDto;
  }

  it('tags an article weakly, answers 304 while it is unchanged (views still counted), and retags an edit', async () => {
    const article = await publishArticle(`Article ${word()}`);
    const path = `/v1/kb/articles/${article.slug}?locale=en`;

    const first = await request(t.server).get(path).expect(200);
    const etag = first.headers.etag;
    expect(etag).toMatch(/^W\/"[A-Za-z0-9_-]{43}"$/);
    expect(first.headers['cache-control']).toBe('private, no-cache');

    const notModified = await request(t.server).get(path).set('If-None-Match', etag).expect(304);
    expect(notModified.text).toBe('');
    expect(notModified.headers.etag).toBe(etag);
    expect(notModified.headers['cache-control']).toBe('private, no-cache');
    // The view count moved (two reads so far) without changing the tag.
    const third = await request(t.server).get(path).expect(200);
    expect((third.body as KbArticleDto).viewCount).toBe(3);
    expect(third.headers.etag).toBe(etag);

    await request(t.server)
      .patch(`/v1/admin/kb/articles/${article.id}`)
      .set(admin.headers)
      .send({ body: 'Better words.' })
      .expect(200);
    const edited = await request(t.server).get(path).set('If-None-Match', etag).expect(200);
    expect((edited.body as KbArticleDto).bodyHtml).toContain('Better words.');
    expect(edited.headers.etag).not.toBe(etag);
  });

  it('tags search results strongly and retags them when a new article matches', async () => {
    const topic = word();
    await publishArticle(`About ${topic}`);
    const path = `/v1/kb/search?q=${topic}`;

    const first = await request(t.server).get(path).expect(200);
    const etag = first.headers.etag;
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{43}"$/);
    await request(t.server).get(path).set('If-None-Match', etag).expect(304);
    // Any listed tag matches, weak or strong (weak comparison).
    await request(t.server).get(path).set('If-None-Match', `"other", W/${etag}`).expect(304);

    await publishArticle(`More about ${topic}`);
    const changed = await request(t.server).get(path).set('If-None-Match', etag).expect(200);
    expect(changed.headers.etag).not.toBe(etag);
    expect((changed.body as { items: unknown[] }).items).toHaveLength(2);
  });

  it('tags the category list and answers 304 to its tag', async () => {
    const first = await request(t.server).get('/v1/kb/categories').expect(200);
    const etag = first.headers.etag;
    await request(t.server).get('/v1/kb/categories').set('If-None-Match', etag).expect(304);
    await request(t.server).get('/v1/kb/categories').set('If-None-Match', '"stale"').expect(200);
  });
});
