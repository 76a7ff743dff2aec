import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve, sep } from 'node:path';
import MarkdownIt from 'markdown-it';
type Token = MarkdownIt.Token;

/*
 * Every relative link in the README and under docs/ must lead somewhere: a
 * renamed runbook or ADR otherwise leaves an operator on a 404 in the middle
 * of an incident. Links are read with a real Markdown parser, so links inside
 * code blocks are ignored and reference-style links are checked like inline
 * ones. An anchor (`file.md#section`, `#section`) must name a heading of the
 * target, slugged the way GitHub renders it.
 */

const ROOT = resolve(__dirname, '../..');
const parser = new MarkdownIt({ html: false });

interface Link {
  file: string;
  line: number;
  href: string;
}

function markdownFiles(root: string): string[] {
  const docs = join(root, 'docs');
  const nested = existsSync(docs)
    ? readdirSync(docs, { recursive: true, encoding: 'utf8' })
        .filter((name) => name.endsWith('.md'))
        .map((name) => join(docs, name))
    : [];
  return [join(root, 'README.md'), ...nested].filter((file) => existsSync(file)).sort();
}

function linksOf(file: string): Link[] {
  const links: Link[] = [];
  const walk = (tokens: Token[], line: number): void => {
    for (const token of tokens) {
      if (token.map) line = token.map[0] + 1;
      const target =
        token.type === 'link_open'
          ? token.attrGet('href')
          : token.type === 'image'
            ? token.attrGet('src')
            : null;
      if (target) links.push({ file, line, href: String(target) });
      // Inline children carry no line map: count the line breaks between them.
      if (token.type === 'softbreak' || token.type === 'hardbreak') line++;
      if (token.children) walk(token.children, line);
    }
  };
  walk(parser.parse(readFileSync(file, 'utf8'), {}), 1);
  return links;
}

/** GitHub's heading ids: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function headingIds(file: string): Set<string> {
  const ids = new Set<string>();
  const seen = new Map<string, number>();
  const tokens = parser.parse(readFileSync(file, 'utf8'), {});
  tokens.forEach((token, index) => {
    if (token.type !== 'heading_open') return;
    const text = (tokens[index + 1].children ?? [])
      .filter((child) => child.type === 'text' || child.type === 'code_inline')
      .map((child) => child.content)
      .join('');
    const base = text
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    ids.add(count === 0 ? base : `${base}-${count}`);
  });
  return ids;
}

/** Links of `files` whose target file or heading does not exist, as `file:line → href`. */
function brokenLinks(root: string, files: string[]): { checked: number; broken: string[] } {
  const broken: string[] = [];
  let checked = 0;
  for (const file of files) {
    for (const link of linksOf(file)) {
      // Other sites and mail are not ours to check offline.
      if (/^[a-z][a-z0-9+.-]*:/i.test(link.href) || link.href.startsWith('//')) continue;
      const [rawPath, rawAnchor] = link.href.split('#', 2);
      const path = decodeURIComponent(rawPath);
      const target = path === '' ? file : resolve(dirname(file), path);
      // A link leaving the repository cannot be checked from a clone of it.
      if (relative(root, target).startsWith(`..${sep}`)) continue;
      checked++;
      const where = `${relative(root, link.file)}:${link.line} → ${link.href}`;
      if (!existsSync(target)) {
        broken.push(`${where} (no such file)`);
        continue;
      }
      if (rawAnchor === undefined || rawAnchor === '') continue;
      const anchor = decodeURIComponent(rawAnchor).toLowerCase();
      if (statSync(target).isFile() && target.endsWith('.md') && !headingIds(target).has(anchor)) {
        broken.push(`${where} (no heading #${anchor})`);
      }
    }
  }
  return { checked, broken };
}

describe('Markdown links', () => {
  let fixture: string;

  beforeAll(() => {
    fixture = mkdtempSync(join(tmpdir(), 'gw-docs-links-'));
    mkdirSync(join(fixture, 'docs/runbooks'), { recursive: true });
    writeFileSync(
      join(fixture, 'README.md'),
      [
        '# Guide',
        '',
        '[ok](docs/runbooks/a.md) [ok anchor](docs/runbooks/a.md#how-to-confirm)',
        '[ok folder](docs/runbooks/) [ok self](#guide) [web](https://example.com) [mail](mailto:a@b.c)',
        '[gone](docs/runbooks/missing.md) [bad anchor](docs/runbooks/a.md#nowhere)',
        '[ref gone][r] ![img gone](docs/pic.png)',
        '',
        '```md',
        '[inside a code block](not-checked.md)',
        '```',
        '',
        '[r]: docs/ref-missing.md',
      ].join('\n'),
    );
    writeFileSync(
      join(fixture, 'docs/runbooks/a.md'),
      '# A\n\n## How to confirm\n\n[up](../../README.md#guide) [outside](../../../elsewhere.md)\n',
    );
  });

  afterAll(() => rmSync(fixture, { recursive: true, force: true }));

  it('reports missing files, missing headings, reference links and images, and nothing else', () => {
    const { broken } = brokenLinks(fixture, markdownFiles(fixture));
    expect(broken).toEqual([
      'README.md:5 → docs/runbooks/missing.md (no such file)',
      'README.md:5 → docs/runbooks/a.md#nowhere (no heading #nowhere)',
      'README.md:6 → docs/ref-missing.md (no such file)',
      'README.md:6 → docs/pic.png (no such file)',
    ]);
  });

  it('every relative link in README.md and docs/**/*.md resolves', () => {
    const files = markdownFiles(ROOT);
    expect(files).toContain(join(ROOT, 'README.md'));
    const { checked, broken } = brokenLinks(ROOT, files);
    // The scan saw the documentation's links at all (a parser change could silently find none).
    expect(checked).toBeGreaterThan(50);
    expect(broken).toEqual([]);
  });
});
