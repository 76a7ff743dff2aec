/**
 * Reads RFC 4180 CSV back (quoted fields, doubled quotes, CRLF records,
 * line breaks inside quotes), strictly: anything malformed throws, so a test
 * that parses an export checks its syntax too.
 */
export function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let i = 0;
  let atFieldStart = true;
  while (i < text.length) {
    const c = text[i];
    if (atFieldStart && c === '"') {
      // A quoted field: up to the closing quote, "" standing for one quote.
      i++;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        field += text[i++];
      }
      atFieldStart = false;
      if (i < text.length && text[i] !== ',' && !text.startsWith('\r\n', i)) {
        throw new Error(`text after a closing quote at ${i}`);
      }
      continue;
    }
    if (c === ',') {
      record.push(field);
      field = '';
      atFieldStart = true;
      i++;
    } else if (text.startsWith('\r\n', i)) {
      record.push(field);
      records.push(record);
      record = [];
      field = '';
      atFieldStart = true;
      i += 2;
    } else if (c === '"' || c === '\r' || c === '\n') {
      throw new Error(`unquoted ${JSON.stringify(c)} at ${i}`);
    } else {
      field += c;
      atFieldStart = false;
      i++;
    }
  }
  if (!atFieldStart || field !== '' || record.length) {
    throw new Error('the last record does not end with CRLF');
  }
  return records;
}
