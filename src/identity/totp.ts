import { randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { tokenHash } from './secret-token';

/** RFC 6238 as every authenticator app reads it: SHA-1, 6 digits, 30-second steps. */
export const TOTP_PARAMETERS = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
export const TOTP_ISSUER = 'Groundwork';
/** Steps either side of now a code is accepted for (clock drift between phone and server). */
export const TOTP_WINDOW = 1;

export const RECOVERY_CODE_COUNT = 10;
/** Crockford's base32 alphabet, lower case: no i, l, o or u to misread. */
const RECOVERY_ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
/** 16 characters of a 32-letter alphabet: 80 bits, beyond offline guessing of a plain SHA-256. */
const RECOVERY_CODE_LENGTH = 16;

/** A new 160-bit TOTP secret (RFC 4226's recommended size), base32. */
export const newTotpSecret = (): string => new Secret({ size: 20 }).base32;

function totp(secret: string, label = ''): TOTP {
  return new TOTP({
    issuer: TOTP_ISSUER,
    label,
    secret: Secret.fromBase32(secret),
    ...TOTP_PARAMETERS,
  });
}

/** The `otpauth://` URI authenticator apps scan (as a QR code) or import. */
export const totpUri = (secret: string, account: string): string =>
  totp(secret, account).toString();

/** The code an authenticator shows at `timestamp` (tests and demos). */
export const totpCodeAt = (secret: string, timestamp: number): string =>
  totp(secret).generate({ timestamp });

export type TotpCheck =
  | { ok: true; step: number }
  | { ok: false; reason: 'invalid' }
  /** Right code, but its step (or a later one) was already used: a replay. */
  | { ok: false; reason: 'used' };

/**
 * Checks a code at `timestamp` within ±`TOTP_WINDOW` steps. A code is
 * accepted only for a step after `lastUsedStep`, so each code works once and
 * an older code still inside the window is refused after a newer one.
 */
export function checkTotp(
  secret: string,
  code: string,
  timestamp: number,
  lastUsedStep: number | null | undefined,
): TotpCheck {
  const token = code.replace(/\s+/g, '');
  if (!/^\d{6}$/.test(token)) return { ok: false, reason: 'invalid' };
  const otp = totp(secret);
  const delta = otp.validate({ token, timestamp, window: TOTP_WINDOW });
  if (delta === null) return { ok: false, reason: 'invalid' };
  const step = otp.counter({ timestamp }) + delta;
  if (lastUsedStep !== null && lastUsedStep !== undefined && step <= lastUsedStep)
    return { ok: false, reason: 'used' };
  return { ok: true, step };
}

/** One recovery code, shown as `xxxx-xxxx-xxxx-xxxx`. */
export function newRecoveryCode(): string {
  let raw = '';
  for (let i = 0; i < RECOVERY_CODE_LENGTH; i++)
    raw += RECOVERY_ALPHABET[randomInt(RECOVERY_ALPHABET.length)];
  return raw.match(/.{4}/g)!.join('-');
}

/** Case, spaces and hyphens do not matter; look-alikes read as Crockford says (o→0, i/l→1). */
export function normalizeRecoveryCode(code: string): string {
  return code
    .toLowerCase()
    .replace(/[\s-]+/g, '')
    .replace(/o/g, '0')
    .replace(/[il]/g, '1');
}

/** What is stored: the SHA-256 of the normalised code (80 bits need no slow hash). */
export const recoveryCodeHash = (code: string): string => tokenHash(normalizeRecoveryCode(code));
