import type { EntityProperty, MikroORM, Platform, TransformContext } from '@mikro-orm/core';
import { Type } from '@mikro-orm/core';
import { EncryptionException } from './encryption.exception';
import { Keyring } from './keyring';

/** The name the app's keyring is registered under in its ORM configuration. */
export const KEYRING_EXTENSION = '@groundwork/keyring';

/**
 * An ORM extension that hands this ORM instance its keyring. Several apps with
 * different keys can run in one process (the e2e suites do), so the keyring
 * lives in each ORM's configuration, never in a global.
 */
export function keyringExtension(keyring: Keyring): { register: (orm: MikroORM) => void } {
  return {
    register: (orm) => orm.config.registerExtension(KEYRING_EXTENSION, () => keyring),
  };
}

/** The keyring of the ORM `platform` belongs to. */
export function keyringOf(platform: Platform): Keyring {
  const keyring = platform.getConfig().getExtension<Keyring>(KEYRING_EXTENSION);
  if (!keyring) {
    throw new Error(
      `No keyring in this ORM's configuration: add keyringExtension() to its extensions (buildOrmOptions does).`,
    );
  }
  return keyring;
}

/**
 * A string column stored encrypted (AES-256-GCM, see `Keyring`), as `text`:
 * `@Property({ type: EncryptedString, nullable: true })`.
 *
 * - Legacy plaintext (a row written before the column was encrypted) reads as
 *   is; `npm run keys:rotate` encrypts it.
 * - Each write has a fresh IV, so equal values never compare equal as
 *   ciphertext: the unit of work compares plaintexts instead (no spurious
 *   UPDATE on every flush), and using the column in a query condition throws
 *   (it could never match) instead of silently finding nothing.
 */
export class EncryptedString extends Type<string | null | undefined, string | null | undefined> {
  override convertToDatabaseValue(
    value: string | null | undefined,
    platform: Platform,
    context?: TransformContext,
  ): string | null | undefined {
    if (value === null || value === undefined) return value;
    if (context?.mode === 'query') throw EncryptionException.notQueryable(this.where());
    return keyringOf(platform).encrypt(value);
  }

  override convertToJSValue(
    value: string | null | undefined,
    platform: Platform,
  ): string | null | undefined {
    if (value === null || value === undefined) return value;
    return keyringOf(platform).decrypt(value);
  }

  override compareAsType(): string {
    return 'string';
  }

  /** Two stored values are equal when their plaintexts are, whatever their IVs or keys. */
  override compareValues(a: string | null | undefined, b: string | null | undefined): boolean {
    if (a === b) return true;
    if (a === null || a === undefined || b === null || b === undefined || !this.platform) {
      return false;
    }
    try {
      const keyring = keyringOf(this.platform);
      return keyring.decrypt(a) === keyring.decrypt(b);
    } catch {
      // An unreadable original is rewritten by the new value rather than kept.
      return false;
    }
  }

  /** Hydrated values stay as read: re-encrypting them would only produce a new IV. */
  override ensureComparable(): boolean {
    return false;
  }

  override getColumnType(prop: EntityProperty, platform: Platform): string {
    return platform.getTextTypeDeclarationSQL(prop);
  }

  private where(): string {
    return this.meta && this.prop ? `${this.meta.className}.${this.prop.name}` : 'The column';
  }
}
