import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 bits of randomness, URL-safe: refresh tokens, email and invitation tokens, API key secrets. */
export const randomToken = (): string => randomBytes(32).toString('base64url');

/** Lookup hash of a high-entropy token (no salt or slow hash needed at 256 bits). */
export const tokenHash = (token: string): string =>
  createHash('sha256').update(token).digest('hex');

export function sameHash(a: string, b: string): boolean {
  const left = Buffer.from(a, 'hex');
  const right = Buffer.from(b, 'hex');
  return left.length === right.length && timingSafeEqual(left, right);
}
