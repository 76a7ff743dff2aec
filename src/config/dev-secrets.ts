import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { ConfigError } from './config.error';
import { join } from 'node:path';

/** The secrets a development or test run generates when the environment leaves them unset. */
export const GENERATED_SECRETS = {
  JWT_SECRET: () => randomBytes(48).toString('base64url'),
  DATA_ENCRYPTION_KEYS: () => `k1:${randomBytes(32).toString('base64')}`,
  STRIPE_WEBHOOK_SECRET: () => `whsec_${randomBytes(24).toString('base64url')}`,
} as const;

export type GeneratedSecretName = keyof typeof GENERATED_SECRETS;

/**
 * Outside production a newcomer should not have to invent secrets, yet a restart
 * must not log everybody out or make encrypted data unreadable. So missing
 * secrets are generated once and kept in `<dataDir>/secrets.json` (mode 0600).
 */
export function loadOrCreateDevSecrets(
  dataDir: string,
  missing: GeneratedSecretName[],
): Partial<Record<GeneratedSecretName, string>> {
  if (missing.length === 0) return {};
  const file = join(dataDir, 'secrets.json');
  let stored: Partial<Record<GeneratedSecretName, string>> = {};
  try {
    stored = JSON.parse(readFileSync(file, 'utf8')) as typeof stored;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new ConfigError([
        `${file}: cannot read the generated development secrets (${(error as Error).message}); fix or delete the file`,
      ]);
    }
  }
  let changed = false;
  for (const name of missing) {
    if (!stored[name]) {
      stored[name] = GENERATED_SECRETS[name]();
      changed = true;
    }
  }
  if (changed) {
    mkdirSync(dataDir, { recursive: true });
    // Write then rename: a crash never leaves a half-written file behind.
    writeFileSync(`${file}.tmp`, `${JSON.stringify(stored, null, 2)}\n`, { mode: 0o600 });
    renameSync(`${file}.tmp`, file);
  }
  return stored;
}
