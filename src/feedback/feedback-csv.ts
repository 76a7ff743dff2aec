/*
 * CSV as RFC 4180 writes it (comma-separated, CRLF line ends, fields quoted
 * when they hold a comma, a quote or a line break, quotes doubled), with the
 * OWASP defence against formula injection: a cell a spreadsheet would run as
 * a formula is prefixed with a single quote.
 */

export type CsvValue = string | number | boolean | null | undefined;

/** Characters that make Excel, LibreOffice or Sheets read a cell as a formula. */
const FORMULA_START = /^[=+\-@\t\r]/;
const NEEDS_QUOTES = /[",\r\n]/;

/** One cell: neutralised if it would start a formula, then quoted if it must be. */
export function csvCell(value: CsvValue): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  // Numbers are our own (scores, never negative): only text can carry a formula.
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return NEEDS_QUOTES.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One record, terminated by CRLF. */
export function csvRow(values: readonly CsvValue[]): string {
  return `${values.map(csvCell).join(',')}\r\n`;
}
