/**
 * `ts_headline` marks matches with these control characters, which cannot
 * occur in an article (the trigger indexes text, and we strip them from the
 * headline input), so the snippet can be escaped first and the marks turned
 * into `<mark>` afterwards: nothing from the article is ever HTML.
 */
export const HIGHLIGHT_START = '\u0002';
export const HIGHLIGHT_STOP = '\u0003';

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

const MARKS = new RegExp(`([${HIGHLIGHT_START}${HIGHLIGHT_STOP}])`);

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** The `ts_headline` output as HTML: escaped text, matches in `<mark>`. */
export function snippetHtml(headline: string): string {
  let open = false;
  let html = '';
  for (const part of headline.split(MARKS)) {
    if (part === HIGHLIGHT_START) {
      if (!open) html += '<mark>';
      open = true;
    } else if (part === HIGHLIGHT_STOP) {
      if (open) html += '</mark>';
      open = false;
    } else {
      html += escapeHtml(part);
    }
  }
  return open ? `${html}</mark>` : html;
}
