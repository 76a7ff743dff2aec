import { hash, verify, Algorithm } from '@node-rs/argon2';
import { dictionary } from '@zxcvbn-ts/language-common';
import { IdentityErrorCode, IdentityException } from './identity.exception';

/** Trimmed, Unicode-normalised and lower-cased: one person, one address. */
export function normalizeEmail(email: string): string {
  return email.trim().normalize('NFKC').toLowerCase();
}

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 128;

let common: Set<string> | undefined;
/** The ~49,000 most common passwords shipped with zxcvbn-ts, loaded on first use. */
function commonPasswords(): Set<string> {
  common ??= new Set(dictionary['passwords-common'].map((p) => p.toLowerCase()));
  return common;
}

/**
 * NIST SP 800-63B in spirit: length is what counts (12 to 128 characters, any
 * characters, no composition rules), and known or guessable passwords are
 * refused. Returns why a password is refused, or undefined.
 */
export function passwordProblem(
  password: string,
  context: { email?: string; names?: string[] } = {},
): string | undefined {
  const length = [...password.normalize('NFC')].length;
  if (length < PASSWORD_MIN) return `must be at least ${PASSWORD_MIN} characters long`;
  if (length > PASSWORD_MAX) return `must be at most ${PASSWORD_MAX} characters long`;
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower)) return 'is one of the most common passwords';
  if (/^(.)\1+$/.test(password)) return 'repeats a single character';
  const guessable = [context.email, context.email?.split('@')[0], ...(context.names ?? [])]
    .filter((s): s is string => !!s && s.length >= 4)
    .map((s) => s.toLowerCase());
  if (guessable.some((s) => lower.includes(s)))
    return 'must not contain your email address or name';
  return undefined;
}

// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
const ARGON2 = {
  algorithm: Algorithm.Argon2id,
  memoryCost: 19_456,
  timeCost: 2,
  parallelism: 1,
} as const;

export const hashPassword = (password: string): Promise<string> => hash(password, ARGON2);

let dummy: Promise<string> | undefined;
/**
 * Verifies a password against a hash. Without a hash (no such user) it still
 * does the work of one, so response time does not reveal which emails exist.
 */
export async function verifyPassword(
  passwordHash: string | undefined,
  password: string,
): Promise<boolean> {
  if (!passwordHash) {
    dummy ??= hashPassword('groundwork-timing-equaliser');
    await verify(await dummy, password).catch(() => false);
    return false;
  }
  return verify(passwordHash, password).catch(() => false);
}

/** Throws 422 `weak_password` (with the field in `errors[]`) when the policy refuses it. */
export function assertPasswordAcceptable(
  password: string,
  context: { email?: string; names?: string[] },
): void {
  const problem = passwordProblem(password, context);
  if (problem) {
    throw new IdentityException(IdentityErrorCode.WeakPassword, `The password ${problem}.`, {
      errors: [{ field: 'password', message: `password ${problem}` }],
    });
  }
}
