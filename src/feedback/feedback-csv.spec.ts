import fc from 'fast-check';
import { parseCsv } from '../../test/feedback/csv-parse';
import { csvCell, csvRow } from './feedback-csv';

describe('feedback CSV', () => {
  it('leaves plain cells alone and writes empty cells for null and undefined', () => {
    expect(csvRow(['abc', 5, true, null, undefined, ''])).toBe('abc,5,true,,,\r\n');
  });

  it('quotes cells with commas, quotes and line breaks, doubling the quotes (RFC 4180)', () => {
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell('say "hi"')).toBe('"say ""hi"""');
    expect(csvCell('line 1\nline 2')).toBe('"line 1\nline 2"');
    expect(csvCell('line 1\r\nline 2')).toBe('"line 1\r\nline 2"');
    expect(csvCell('"')).toBe('""""');
  });

  it.each([
    ['=1+1', "'=1+1"],
    ['+33 1 23', "'+33 1 23"],
    ['-2', "'-2"],
    ['@SUM(A1:A2)', "'@SUM(A1:A2)"],
    ['\tx', "'\tx"],
    ['=HYPERLINK("http://x","y")', `"'=HYPERLINK(""http://x"",""y"")"`],
    ['\r=1', `"'\r=1"`],
  ])('neutralises a cell a spreadsheet would run as a formula: %j', (input, cell) => {
    expect(csvCell(input)).toBe(cell);
  });

  it('does not touch formula characters after the first one, nor numbers', () => {
    expect(csvCell('a=1')).toBe('a=1');
    expect(csvCell(' =1')).toBe(' =1');
    expect(csvCell(10)).toBe('10');
  });

  it('reads back exactly what was written, for any text (formula prefix aside)', () => {
    const text = fc.string({
      unit: fc.constantFrom('a', ',', '"', '\r', '\n', ' ', 'é', '=', "'"),
    });
    fc.assert(
      fc.property(
        fc.array(fc.array(text, { minLength: 1, maxLength: 5 }), { maxLength: 5 }),
        (rows) => {
          const parsed = parseCsv(rows.map((r) => csvRow(r)).join(''));
          const expected = rows.map((r) =>
            r.map((cell) => (/^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell)),
          );
          expect(parsed).toEqual(expected);
        },
      ),
    );
  });
});
