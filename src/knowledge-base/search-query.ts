/**
 * The words of a text as a web-search query matching any of them:
 * `Cannot "reset" -password` → `Cannot or reset or password`. Quotes and
 * minus signs in the text lose their meaning; an `or` in the text is dropped
 * (it would join nothing). Empty when the text has no words.
 */
export function anyWordQuery(text: string): string {
  const words = text.match(/[\p{L}\p{N}]+/gu) ?? [];
  return words.filter((w) => w.toLowerCase() !== 'or').join(' or ');
}
