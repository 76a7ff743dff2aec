import MarkdownIt from 'markdown-it';

/** Link and image targets an article may use: the web, mail, and paths on this site. */
const ALLOWED_SCHEME = /^(https?|mailto):/i;
/** Anything with a scheme (`javascript:`, `data:`, `vbscript:`, `file:` …). */
const HAS_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * True for http(s) and mailto URLs and for relative references. Control
 * characters and whitespace are dropped before the test because browsers
 * ignore them inside a scheme (`java\tscript:` runs).
 */
export function isSafeLinkTarget(url: string): boolean {
  // eslint-disable-next-line no-control-regex
  const compact = url.replace(/[\u0000-\u0020\u007f-\u009f]/g, '');
  if (ALLOWED_SCHEME.test(compact)) return true;
  // `//host` is protocol-relative: fine, it inherits http(s).
  return !HAS_SCHEME.test(compact);
}

/**
 * CommonMark without raw HTML: `<script>` and friends come out as text. markdown-it
 * escapes every text and attribute it writes, and our validator replaces its
 * default (which still allows some `data:` images) with a strict allow-list.
 */
const renderer = new MarkdownIt({ html: false, linkify: true, typographer: false });
renderer.validateLink = isSafeLinkTarget;

// Links leave the help centre without handing it the opener or the referrer.
const defaultLinkOpen =
  renderer.renderer.rules.link_open ??
  ((tokens, idx, options, _env, self) => self.renderToken(tokens, idx, options));
renderer.renderer.rules.link_open = (tokens, idx, options, env, self) => {
  const href = String(tokens[idx].attrGet('href') ?? '');
  if (/^(https?:)?\/\//i.test(href)) {
    tokens[idx].attrSet('rel', 'noopener noreferrer nofollow');
  }
  return defaultLinkOpen(tokens, idx, options, env, self);
};

/** The HTML shown for an article body; safe to insert into a page as is. */
export function renderMarkdown(markdown: string): string {
  return renderer.render(markdown);
}
