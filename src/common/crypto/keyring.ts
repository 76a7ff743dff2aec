import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { EncryptionKey } from '../../config/app-config';
import { EncryptionException } from './encryption.exception';

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;

/** Text values: `gw1.<keyId>.<base64url(iv | ciphertext | tag)>`. */
const TEXT_VERSION = 'gw1';
const TEXT_VALUE = /^gw1\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]+)$/;

/**
 * Binary values (files): `MAGIC | keyIdLength (1 byte) | keyId | iv | ciphertext | tag`.
 * The magic starts with a NUL byte so no text file and no common file format
 * begins with it; a file without it is legacy plaintext.
 */
const BINARY_MAGIC = Buffer.from('\0gwenc1', 'latin1');

/**
 * AES-256-GCM with a fresh random 12-byte IV per value. The first key encrypts;
 * every key decrypts, so a new key can be put first and the old ones kept until
 * `keys:rotate` has re-encrypted everything. Each value carries its key id, which
 * is also authenticated (additional data), so it cannot be swapped unnoticed.
 *
 * A keyring belongs to one app (one configuration): it is reached through that
 * app's ORM or DI container, never through a process-wide global.
 */
export class Keyring {
  readonly #keys: ReadonlyMap<string, Buffer>;
  readonly activeKeyId: string;

  constructor(keys: readonly { id: string; key: Buffer }[]) {
    if (keys.length === 0) throw new Error('A keyring needs at least one key');
    const map = new Map<string, Buffer>();
    for (const { id, key } of keys) {
      if (!KEY_ID.test(id)) throw new Error(`Invalid key id ${JSON.stringify(id)}`);
      if (key.length !== 32) throw new Error(`Key "${id}" must be 32 bytes (AES-256)`);
      if (map.has(id)) throw new Error(`Key id "${id}" appears twice`);
      map.set(id, Buffer.from(key));
    }
    this.#keys = map;
    this.activeKeyId = keys[0].id;
  }

  /** The ring of `config.secrets.dataEncryptionKeys` (validated by `parseEncryptionKeys`). */
  static fromConfig(keys: readonly EncryptionKey[]): Keyring {
    return new Keyring(
      keys.map(({ id, key }) => ({ id, key: Buffer.from(key.reveal(), 'base64') })),
    );
  }

  /** Every key id, the active one first. */
  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /** Encrypts a string under the active key, as `gw1.<keyId>.<base64url>`. */
  encrypt(plaintext: string): string {
    const { iv, ciphertext, tag } = this.seal(
      Buffer.from(plaintext, 'utf8'),
      this.textAad(this.activeKeyId),
    );
    const body = Buffer.concat([iv, ciphertext, tag]).toString('base64url');
    return `${TEXT_VERSION}.${this.activeKeyId}.${body}`;
  }

  /**
   * The plaintext of a value `encrypt` wrote. A string that is not in the
   * ciphertext format is legacy plaintext (written before the column was
   * encrypted) and comes back unchanged; `keys:rotate` encrypts it.
   */
  decrypt(value: string): string {
    const match = TEXT_VALUE.exec(value);
    if (!match) {
      if (value.startsWith(`${TEXT_VERSION}.`)) {
        throw EncryptionException.unreadable('Malformed ciphertext');
      }
      return value;
    }
    const [, keyId, body] = match;
    const raw = Buffer.from(body, 'base64url');
    return this.open(keyId, raw, this.textAad(keyId)).toString('utf8');
  }

  /** Whether a text value is in the ciphertext format (of any key). */
  isEncrypted(value: string): boolean {
    return TEXT_VALUE.test(value);
  }

  /** The key id a text value names; undefined for legacy plaintext. */
  keyIdOf(value: string): string | undefined {
    return TEXT_VALUE.exec(value)?.[1];
  }

  /** Encrypts bytes (a file) under the active key, in the binary format. */
  encryptBytes(plaintext: Buffer): Buffer {
    const id = Buffer.from(this.activeKeyId, 'latin1');
    const header = Buffer.concat([BINARY_MAGIC, Buffer.from([id.length]), id]);
    const { iv, ciphertext, tag } = this.seal(plaintext, header);
    return Buffer.concat([header, iv, ciphertext, tag]);
  }

  /** The plaintext of `encryptBytes`' output; bytes without the format's magic are legacy plaintext. */
  decryptBytes(stored: Buffer): Buffer {
    const parsed = this.parseBytes(stored);
    if (!parsed) return stored;
    return this.open(
      parsed.keyId,
      stored.subarray(parsed.headerLength),
      stored.subarray(0, parsed.headerLength),
    );
  }

  /** The key id stored bytes name; undefined for legacy plaintext. */
  keyIdOfBytes(stored: Buffer): string | undefined {
    return this.parseBytes(stored)?.keyId;
  }

  private parseBytes(stored: Buffer): { keyId: string; headerLength: number } | undefined {
    if (
      stored.length < BINARY_MAGIC.length ||
      !stored.subarray(0, BINARY_MAGIC.length).equals(BINARY_MAGIC)
    ) {
      return undefined;
    }
    const idLength = stored[BINARY_MAGIC.length] ?? 0;
    const headerLength = BINARY_MAGIC.length + 1 + idLength;
    const keyId = stored.subarray(BINARY_MAGIC.length + 1, headerLength).toString('latin1');
    if (idLength === 0 || stored.length < headerLength || !KEY_ID.test(keyId)) {
      throw EncryptionException.unreadable('Malformed encrypted file header');
    }
    return { keyId, headerLength };
  }

  private textAad(keyId: string): Buffer {
    return Buffer.from(`${TEXT_VERSION}.${keyId}`, 'latin1');
  }

  private seal(plaintext: Buffer, aad: Buffer): { iv: Buffer; ciphertext: Buffer; tag: Buffer } {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, this.#keys.get(this.activeKeyId)!, iv, {
      authTagLength: TAG_BYTES,
    });
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return { iv, ciphertext, tag: cipher.getAuthTag() };
  }

  /** `raw` is `iv | ciphertext | tag`. */
  private open(keyId: string, raw: Buffer, aad: Buffer): Buffer {
    const key = this.#keys.get(keyId);
    if (!key) throw EncryptionException.unknownKey(keyId);
    if (raw.length < IV_BYTES + TAG_BYTES) {
      throw EncryptionException.unreadable('Ciphertext too short', keyId);
    }
    const iv = raw.subarray(0, IV_BYTES);
    const tag = raw.subarray(raw.length - TAG_BYTES);
    const ciphertext = raw.subarray(IV_BYTES, raw.length - TAG_BYTES);
    try {
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(aad);
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]);
    } catch (error) {
      throw EncryptionException.unreadable(
        `Authentication failed (altered value or wrong key): ${(error as Error).message}`,
        keyId,
      );
    }
  }
}
