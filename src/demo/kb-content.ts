import { readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PROJECT_ROOT } from '../common/paths';

/** Where the demo's help-centre articles live: `<category-slug>/<article-slug>.md`. */
export const KB_CONTENT_DIR = join(PROJECT_ROOT, 'demo', 'knowledge-base');

export interface KbContentArticle {
  slug: string;
  title: string;
  tags: string[];
  locale: string;
  body: string;
  /** `category/slug.md`, for error messages. */
  file: string;
}

export interface KbContentCategory {
  slug: string;
  name: string;
  articles: KbContentArticle[];
}

const REQUIRED = ['title', 'category', 'category_name', 'locale'] as const;

/**
 * Splits a Markdown file into its front matter (`key: value` lines between two
 * `---` lines; no nesting, no quoting) and its body. Throws, naming the file,
 * when the front matter is missing or incomplete.
 */
export function parseArticle(
  text: string,
  file: string,
): { meta: Record<string, string>; body: string } {
  const match = /^---\r?\n([\s\S]*?)\r?\n---\r?\n?([\s\S]*)$/.exec(text);
  if (!match) throw new Error(`${file}: no front matter (a block between two "---" lines)`);
  const meta: Record<string, string> = {};
  for (const line of match[1].split(/\r?\n/)) {
    if (!line.trim()) continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`${file}: front matter line "${line}" is not "key: value"`);
    meta[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  for (const key of REQUIRED) {
    if (!meta[key]) throw new Error(`${file}: front matter has no "${key}"`);
  }
  return { meta, body: match[2].trim() };
}

/**
 * Every article under `dir`, grouped by category, both in name order (so the
 * knowledge base is built the same way every time).
 */
export function loadKbContent(dir = KB_CONTENT_DIR): KbContentCategory[] {
  const categories = new Map<string, KbContentCategory>();
  const folders = readdirSync(dir)
    .filter((name) => statSync(join(dir, name)).isDirectory())
    .sort();
  for (const folder of folders) {
    const files = readdirSync(join(dir, folder))
      .filter((name) => name.endsWith('.md'))
      .sort();
    for (const name of files) {
      const file = `${folder}/${name}`;
      const { meta, body } = parseArticle(readFileSync(join(dir, folder, name), 'utf8'), file);
      if (meta.category !== folder) {
        throw new Error(`${file}: category "${meta.category}" differs from its folder "${folder}"`);
      }
      let category = categories.get(folder);
      if (!category) {
        category = { slug: folder, name: meta.category_name, articles: [] };
        categories.set(folder, category);
      }
      category.articles.push({
        slug: basename(name, '.md'),
        title: meta.title,
        locale: meta.locale,
        tags: (meta.tags ?? '')
          .split(',')
          .map((tag) => tag.trim())
          .filter(Boolean),
        body,
        file,
      });
    }
  }
  return [...categories.values()];
}
