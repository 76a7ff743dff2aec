import {
  attachmentDisposition,
  looksLikeText,
  sanitiseFileName,
  sniffBinaryType,
  verifiedAttachmentType,
} from './attachment-type';

const bytes = (...parts: (number[] | string)[]): Buffer =>
  Buffer.concat(
    parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))),
  );

const PNG = bytes([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a], 'rest of image');
const JPEG = bytes([0xff, 0xd8, 0xff, 0xe0], 'JFIF');
const GIF = bytes('GIF89a', [1, 0, 1, 0]);
const WEBP = bytes('RIFF', [0x24, 0, 0, 0], 'WEBPVP8 ');
const PDF = bytes('%PDF-1.7\n%âãÏÓ\n');
const ZIP = bytes([0x50, 0x4b, 0x03, 0x04], [20, 0, 0, 0]);
const EXE = bytes('MZ', [0x90, 0, 3, 0, 0, 0, 4, 0]);

describe('sniffBinaryType', () => {
  it.each([
    ['image/png', PNG],
    ['image/jpeg', JPEG],
    ['image/gif', GIF],
    ['image/gif', bytes('GIF87a')],
    ['image/webp', WEBP],
    ['application/pdf', PDF],
    ['application/zip', ZIP],
    ['application/zip', bytes([0x50, 0x4b, 0x05, 0x06], Array<number>(18).fill(0))],
  ])('recognises %s', (type, content) => {
    expect(sniffBinaryType(content)).toBe(type);
  });

  it.each([
    ['an executable', EXE],
    ['text', bytes('hello')],
    ['nothing', Buffer.alloc(0)],
    ['a truncated PNG signature', PNG.subarray(0, 4)],
    ['RIFF that is not WebP', bytes('RIFF', [0, 0, 0, 0], 'WAVE')],
  ])('finds nothing in %s', (_name, content) => {
    expect(sniffBinaryType(content)).toBeNull();
  });
});

describe('looksLikeText', () => {
  it('takes UTF-8 with tabs and line breaks', () => {
    expect(looksLikeText(Buffer.from('name,city\r\nZoë,Zürich\t✓\n'))).toBe(true);
  });
  it('refuses invalid UTF-8 and control characters', () => {
    expect(looksLikeText(bytes([0xc3, 0x28]))).toBe(false);
    expect(looksLikeText(bytes('abc', [0], 'def'))).toBe(false);
    expect(looksLikeText(bytes('abc', [0x1b], '[31m'))).toBe(false);
  });
});

describe('verifiedAttachmentType', () => {
  it('accepts a declared type the bytes agree with (parameters and case ignored)', () => {
    expect(verifiedAttachmentType('image/png', PNG)).toBe('image/png');
    expect(verifiedAttachmentType('Application/PDF', PDF)).toBe('application/pdf');
    expect(verifiedAttachmentType('text/csv; charset=utf-8', Buffer.from('a,b\n1,2\n'))).toBe(
      'text/csv',
    );
    expect(verifiedAttachmentType('text/plain', Buffer.from('hello'))).toBe('text/plain');
    expect(verifiedAttachmentType('application/x-zip-compressed', ZIP)).toBe('application/zip');
  });

  it('refuses bytes of another type than declared', () => {
    expect(verifiedAttachmentType('image/png', PDF)).toBeNull();
    expect(verifiedAttachmentType('image/jpeg', PNG)).toBeNull();
    // A binary file declared as text is not text.
    expect(verifiedAttachmentType('text/plain', PDF)).toBeNull();
    expect(verifiedAttachmentType('text/plain', EXE)).toBeNull();
  });

  it('refuses types that are not allowed, whatever the bytes', () => {
    expect(verifiedAttachmentType('application/octet-stream', EXE)).toBeNull();
    expect(verifiedAttachmentType('application/x-msdownload', EXE)).toBeNull();
    expect(verifiedAttachmentType('image/svg+xml', Buffer.from('<svg/>'))).toBeNull();
    expect(verifiedAttachmentType('text/html', Buffer.from('<p>hi</p>'))).toBeNull();
    expect(verifiedAttachmentType(undefined, PNG)).toBeNull();
  });
});

describe('sanitiseFileName', () => {
  it.each([
    ['report.pdf', 'report.pdf'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\secret.txt', 'secret.txt'],
    ['.htaccess', 'htaccess'],
    ['bad"name<>|?*:.png', 'bad_name______.png'],
    ['line\r\nbreak.txt', 'line__break.txt'],
    ['evil\u202egnp.exe', 'evilgnp.exe'],
    ['  spaced   out .csv  ', 'spaced out .csv'],
    ['Zoë – résumé.pdf', 'Zoë – résumé.pdf'],
    ['', 'attachment'],
    ['...', 'attachment'],
    ['/', 'attachment'],
  ])('%j → %j', (raw, expected) => {
    expect(sanitiseFileName(raw)).toBe(expected);
  });

  it('keeps the end (the extension) of an overlong name', () => {
    const name = sanitiseFileName(`${'a'.repeat(500)}.png`);
    expect(Array.from(name)).toHaveLength(200);
    expect(name.endsWith('.png')).toBe(true);
  });
});

describe('attachmentDisposition', () => {
  it('gives an ASCII fallback and the UTF-8 name', () => {
    expect(attachmentDisposition('Zoë "x".pdf')).toBe(
      `attachment; filename="Zo_ _x_.pdf"; filename*=UTF-8''Zo%C3%AB%20_x_.pdf`,
    );
  });
});
