import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import MarkdownIt from 'markdown-it';
type Token = MarkdownIt.Token;

/*
 * The demo world's help centre: demo/knowledge-base/<category>/<slug>.md, each
 * with a small front matter the demo loader parses. The articles describe
 * Groundwork itself, so they must stay true to it: every route they name
 * (`POST /v1/tenant/invitations`, `/v1/kb/search?q=…`) must be an operation of
 * the committed OpenAPI document, and the front matter must be what the loader
 * accepts. Markdown is read with a real parser (markdown-it, html on so raw
 * HTML is seen and refused rather than swallowed).
 */

const ROOT = resolve(__dirname, '../..');
const KB = join(ROOT, 'demo/knowledge-base');
const FIELDS = ['title', 'category', 'category_name', 'tags', 'locale'] as const;
type Field = (typeof FIELDS)[number];
const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
const SLUG = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const parser = new MarkdownIt({ html: true });

interface Article {
  file: string;
  category: string;
  slug: string;
  meta: Partial<Record<Field, string>>;
  extraKeys: string[];
  body: string;
}

/** Splits `---\nkey: value\n…\n---\nbody`; null when the file has no front matter. */
function parseArticle(file: string, category: string, slug: string): Article | null {
  const text = readFileSync(file, 'utf8');
  const match = /^---\n([\s\S]*?)\n---\n([\s\S]*)$/.exec(text);
  if (!match) return null;
  const meta: Partial<Record<Field, string>> = {};
  const extraKeys: string[] = [];
  for (const line of match[1].split('\n')) {
    const pair = /^([a-z_]+):\s*(.*)$/.exec(line);
    if (!pair) {
      extraKeys.push(line);
      continue;
    }
    const key = pair[1];
    if ((FIELDS as readonly string[]).includes(key)) meta[key as Field] = pair[2].trim();
    else extraKeys.push(key);
  }
  return { file, category, slug, meta, extraKeys, body: match[2] };
}

function loadArticles(): { articles: Article[]; unparsable: string[] } {
  const articles: Article[] = [];
  const unparsable: string[] = [];
  for (const category of readdirSync(KB).sort()) {
    const dir = join(KB, category);
    if (!statSync(dir).isDirectory()) continue;
    for (const name of readdirSync(dir).sort()) {
      const file = join(dir, name);
      if (!name.endsWith('.md')) {
        unparsable.push(file);
        continue;
      }
      const article = parseArticle(file, category, name.slice(0, -'.md'.length));
      if (article) articles.push(article);
      else unparsable.push(file);
    }
  }
  return { articles, unparsable };
}

function flatten(tokens: Token[]): Token[] {
  return tokens.flatMap((token) => [token, ...flatten(token.children ?? [])]);
}

function words(markdown: string): number {
  return markdown.split(/\s+/).filter((word) => /[A-Za-z0-9]/.test(word)).length;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `/v1/billing/invoices/{id}/pay`, `…/<id>/pay`, `…/:id/pay` and an example with a
 * concrete uuid (`…/0193b2c4-…/pay`) → one shape, parameters as `{}`.
 */
function normalisePath(path: string): string {
  return path
    .replace(/[?#].*$/, '')
    .replace(/[.,;:)]+$/, '')
    .replace(/\/$/, '')
    .split('/')
    .map((segment) =>
      /^(\{[^}]*\}|<[^>]*>|:[A-Za-z_]\w*)$/.test(segment) || UUID.test(segment) ? '{}' : segment,
    )
    .join('/');
}

interface RouteMention {
  method: string | null;
  path: string;
  text: string;
}

/** Routes named in inline code and code blocks: `METHOD /v1/…`, or a bare `/v1/…` path. */
function routeMentions(body: string): RouteMention[] {
  const mentions: RouteMention[] = [];
  const codeTexts = flatten(parser.parse(body, {}))
    .filter((token) => token.type === 'code_inline' || token.type === 'fence')
    .map((token) => token.content);
  const withMethod = new RegExp(
    `\\b(${METHODS.join('|')})\\s+(/(?:v1|webhooks)/[^\\s\`"'*]*)`,
    'g',
  );
  const bare = /(?:^|[\s"'(])(\/(?:v1|webhooks)\/[^\s`"'*]*)/g;
  for (const text of codeTexts) {
    const seen = new Set<number>();
    for (const match of text.matchAll(withMethod)) {
      mentions.push({ method: match[1], path: normalisePath(match[2]), text: match[0] });
      seen.add(match.index + match[0].length - match[2].length);
    }
    for (const match of text.matchAll(bare)) {
      const start = match.index + match[0].length - match[1].length;
      if (seen.has(start)) continue;
      mentions.push({ method: null, path: normalisePath(match[1]), text: match[1] });
    }
  }
  return mentions;
}

/** The routes a body names that the OpenAPI document lacks (path, or method on that path). */
function inventedRoutes(body: string, operations: Map<string, Set<string>>): string[] {
  return routeMentions(body)
    .filter((mention) => {
      const methods = operations.get(mention.path);
      return !methods || (mention.method !== null && !methods.has(mention.method));
    })
    .map((mention) => mention.text);
}

function openApiOperations(): Map<string, Set<string>> {
  const spec = JSON.parse(readFileSync(join(ROOT, 'openapi.json'), 'utf8')) as {
    paths: Record<string, Record<string, unknown>>;
  };
  const operations = new Map<string, Set<string>>();
  for (const [path, item] of Object.entries(spec.paths)) {
    const methods = Object.keys(item)
      .map((method) => method.toUpperCase())
      .filter((method) => (METHODS as readonly string[]).includes(method));
    const key = normalisePath(path);
    operations.set(key, new Set([...(operations.get(key) ?? []), ...methods]));
  }
  return operations;
}

describe('demo knowledge base content (demo/knowledge-base)', () => {
  const { articles, unparsable } = existsSync(KB)
    ? loadArticles()
    : { articles: [], unparsable: [] };
  const label = (article: Article) => `${article.category}/${article.slug}.md`;

  it('holds at least 40 articles over 6 to 8 categories, every file an article', () => {
    expect(unparsable).toEqual([]);
    expect(articles.length).toBeGreaterThanOrEqual(40);
    const categories = new Set(articles.map((article) => article.category));
    expect(categories.size).toBeGreaterThanOrEqual(6);
    expect(categories.size).toBeLessThanOrEqual(8);
  });

  it('gives every article exactly the five front-matter fields, each valid', () => {
    const problems: string[] = [];
    for (const article of articles) {
      const { meta } = article;
      const missing = FIELDS.filter((field) => !meta[field]);
      if (missing.length) problems.push(`${label(article)}: missing ${missing.join(', ')}`);
      if (article.extraKeys.length)
        problems.push(`${label(article)}: unexpected ${article.extraKeys.join(', ')}`);
      if (meta.title && (meta.title.length > 120 || /^["']|["']$|: /.test(meta.title)))
        problems.push(`${label(article)}: title too long, quoted or with ": " (${meta.title})`);
      if (meta.category !== article.category)
        problems.push(`${label(article)}: category ${meta.category} is not its folder`);
      if (!SLUG.test(article.category) || !SLUG.test(article.slug))
        problems.push(`${label(article)}: folder and file names must be lowercase-hyphenated`);
      if (meta.locale !== 'en') problems.push(`${label(article)}: locale ${meta.locale}`);
      const tags = (meta.tags ?? '').split(',').map((tag) => tag.trim());
      if (
        tags.length < 2 ||
        tags.length > 5 ||
        tags.some((tag) => !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(tag))
      )
        problems.push(`${label(article)}: tags must be 2 to 5 lowercase words (${meta.tags})`);
      if (new Set(tags).size !== tags.length) problems.push(`${label(article)}: repeated tag`);
    }
    expect(problems).toEqual([]);
  });

  it('uses unique titles and slugs, and one category_name per category', () => {
    const duplicates = (values: string[]) =>
      values.filter((value, index) => values.indexOf(value) !== index);
    expect(duplicates(articles.map((article) => article.meta.title ?? ''))).toEqual([]);
    expect(duplicates(articles.map((article) => article.slug))).toEqual([]);
    const names = new Map<string, Set<string>>();
    for (const article of articles)
      names.set(
        article.category,
        (names.get(article.category) ?? new Set()).add(article.meta.category_name ?? ''),
      );
    const inconsistent = [...names].filter(([, set]) => set.size !== 1);
    expect(inconsistent.map(([category, set]) => `${category}: ${[...set].join(' | ')}`)).toEqual(
      [],
    );
  });

  it('writes real bodies: at least 120 words, no placeholder text, plain CommonMark', () => {
    const problems: string[] = [];
    for (const article of articles) {
      const count = words(article.body);
      if (count < 120) problems.push(`${label(article)}: ${count} words`);
      if (/lorem|ipsum|\bTODO\b|\bTBD\b/i.test(article.body))
        problems.push(`${label(article)}: placeholder text`);
      const tokens = flatten(parser.parse(article.body, {}));
      for (const token of tokens) {
        if (token.type === 'html_block' || token.type === 'html_inline')
          problems.push(`${label(article)}: raw HTML ${token.content.trim()}`);
        if (token.type === 'image') problems.push(`${label(article)}: image`);
        if (token.type === 'link_open')
          problems.push(`${label(article)}: link ${token.attrGet('href')}`);
        if (token.type === 'heading_open' && token.tag === 'h1')
          problems.push(`${label(article)}: level-1 heading (the title is the front matter's)`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('points "Related articles" at titles that exist, never at itself', () => {
    const titles = articles
      .map((article) => article.meta.title ?? '')
      .filter(Boolean)
      .sort((a, b) => b.length - a.length);
    const problems: string[] = [];
    for (const article of articles) {
      const line = /^Related articles: (.+)$/m.exec(article.body)?.[1];
      if (!line) {
        problems.push(`${label(article)}: no "Related articles:" line`);
        continue;
      }
      // Titles may hold commas ("Upgrading, downgrading, and proration"): take out the
      // known titles, longest first; only separators may be left.
      let rest = line;
      for (const title of titles) rest = rest.split(title).join('\u0000');
      const unknown = rest
        .split('\u0000')
        .map((part) => part.replace(/^[\s,.]+|[\s,.]+$/g, ''))
        .filter(Boolean);
      if (unknown.length) problems.push(`${label(article)}: unknown ${unknown.join(' | ')}`);
      if (article.meta.title && line.includes(article.meta.title))
        problems.push(`${label(article)}: relates to itself`);
    }
    expect(problems).toEqual([]);
  });

  it('names only routes that exist in openapi.json, with their method', () => {
    const operations = openApiOperations();
    expect(operations.size).toBeGreaterThan(50);
    const invented = articles.flatMap((article) =>
      inventedRoutes(article.body, operations).map((text) => `${label(article)}: ${text}`),
    );
    const mentioned = articles.reduce(
      (sum, article) => sum + routeMentions(article.body).length,
      0,
    );
    expect(invented).toEqual([]);
    // The articles are meant to be practical: most of them name the routes they describe.
    expect(mentioned).toBeGreaterThan(articles.length);
  });

  it('recognises routes in every form the articles use (the checker itself)', () => {
    const mentions = routeMentions(
      [
        'Call `POST /v1/tenant/invitations/{id}/resend` or `GET /v1/kb/search?q=csv`.',
        '',
        '```http',
        'DELETE /v1/tenant/members/<userId>',
        '```',
        '',
        'The path `/v1/billing/invoices/:id/pay`, but not /v1/outside/code.',
        '`POST /v1/billing/invoices/0193b2c4-5e1f-7a00-9c3d-2f4e6a8b0c1d/pay`',
      ].join('\n'),
    );
    expect(mentions).toEqual([
      {
        method: 'POST',
        path: '/v1/tenant/invitations/{}/resend',
        text: 'POST /v1/tenant/invitations/{id}/resend',
      },
      { method: 'GET', path: '/v1/kb/search', text: 'GET /v1/kb/search?q=csv' },
      {
        method: 'DELETE',
        path: '/v1/tenant/members/{}',
        text: 'DELETE /v1/tenant/members/<userId>',
      },
      { method: null, path: '/v1/billing/invoices/{}/pay', text: '/v1/billing/invoices/:id/pay' },
      {
        method: 'POST',
        path: '/v1/billing/invoices/{}/pay',
        text: 'POST /v1/billing/invoices/0193b2c4-5e1f-7a00-9c3d-2f4e6a8b0c1d/pay',
      },
    ]);
    const operations = openApiOperations();
    expect(
      inventedRoutes(
        'Use `GET /v1/tenant/members`, `PUT /v1/tenant/members/{userId}`, `/v1/made-up/route` and `POST /v1/auth/2fa/*`.',
        operations,
      ),
      // `POST /v1/auth/2fa/*` reads as `POST /v1/auth/2fa`, which does not exist (GET does).
    ).toEqual(['PUT /v1/tenant/members/{userId}', '/v1/made-up/route', 'POST /v1/auth/2fa/']);
  });
});
