/**
 * What an upload may be, judged by its bytes as well as by what the client
 * declared: a declared type is only believed when the content agrees.
 */
export const ALLOWED_ATTACHMENT_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'application/pdf',
  'text/plain',
  'text/csv',
  'application/zip',
] as const;
export type AttachmentType = (typeof ALLOWED_ATTACHMENT_TYPES)[number];

/**
 * Content types the upload route reads as raw bytes: the allowed ones plus the
 * generic ones clients send for unknown files, so those get a precise 415.
 */
export const UPLOAD_CONTENT_TYPES: string[] = [
  ...ALLOWED_ATTACHMENT_TYPES,
  'application/octet-stream',
  'application/x-zip-compressed',
];

const startsWith = (bytes: Buffer, signature: number[] | string, at = 0): boolean => {
  const sig = typeof signature === 'string' ? Buffer.from(signature, 'latin1') : signature;
  if (bytes.length < at + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[at + i] !== sig[i]) return false;
  return true;
};

/** The binary format the bytes begin with, or null when none of ours. */
export function sniffBinaryType(bytes: Buffer): AttachmentType | null {
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(bytes, 'GIF87a') || startsWith(bytes, 'GIF89a')) return 'image/gif';
  if (startsWith(bytes, 'RIFF') && startsWith(bytes, 'WEBP', 8)) return 'image/webp';
  if (startsWith(bytes, '%PDF-')) return 'application/pdf';
  // A local file header, or the end record of an empty archive.
  if (startsWith(bytes, [0x50, 0x4b, 0x03, 0x04]) || startsWith(bytes, [0x50, 0x4b, 0x05, 0x06])) {
    return 'application/zip';
  }
  return null;
}

/** Text has no signature: valid UTF-8 without control characters other than tab, newlines and form feed. */
export function looksLikeText(bytes: Buffer): boolean {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return false;
  }
  // eslint-disable-next-line no-control-regex
  return !/[\u0000-\u0008\u000b\u000e-\u001f\u007f]/.test(text);
}

/** The declared media type without parameters, lower-cased (`Text/CSV; charset=utf-8` → `text/csv`). */
export function mediaTypeOf(declared: string | undefined): string {
  return (declared ?? '').split(';')[0].trim().toLowerCase();
}

/**
 * The type to store the upload as, or null when it is not allowed: the
 * declared type must be one of ours and the bytes must be of that type
 * (`application/x-zip-compressed` is the name some browsers give zip).
 */
export function verifiedAttachmentType(
  declared: string | undefined,
  bytes: Buffer,
): AttachmentType | null {
  let type = mediaTypeOf(declared);
  if (type === 'application/x-zip-compressed') type = 'application/zip';
  if (!(ALLOWED_ATTACHMENT_TYPES as readonly string[]).includes(type)) return null;
  const sniffed = sniffBinaryType(bytes);
  if (type === 'text/plain' || type === 'text/csv') {
    return sniffed === null && looksLikeText(bytes) ? type : null;
  }
  return sniffed === type ? sniffed : null;
}

const MAX_NAME_LENGTH = 200;

/**
 * A file name safe to show and to put in a header: the last path segment only,
 * no control or reserved characters, no leading dots, at most 200 characters.
 */
export function sanitiseFileName(raw: string | undefined): string {
  const base = (raw ?? '').normalize('NFC').split(/[/\\]/).pop() ?? '';
  const cleaned = base
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f"*:<>?|]/g, '_')
    .replace(/[\u200b-\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/^[.\s]+/, '')
    .replace(/[.\s]+$/, '');
  const chars = Array.from(cleaned);
  const name = chars.length > MAX_NAME_LENGTH ? chars.slice(-MAX_NAME_LENGTH).join('') : cleaned;
  return name || 'attachment';
}

/** `Content-Disposition: attachment` with an ASCII fallback and the UTF-8 name (RFC 6266). */
export function attachmentDisposition(fileName: string): string {
  const safe = sanitiseFileName(fileName);
  const ascii = safe.replace(/[^\x20-\x7e]/g, '_').replace(/[\\"%]/g, '_');
  const encoded = encodeURIComponent(safe).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
