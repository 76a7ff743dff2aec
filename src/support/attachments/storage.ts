import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { Keyring } from '../../common/crypto/keyring';

/**
 * Where attachment bytes live. Keys are ours (`<tenantId>/<uuid>`), never a
 * client's file name. A later implementation can wrap another one (encryption
 * at rest, object storage) without the service noticing.
 */
export abstract class AttachmentStorage {
  abstract put(key: string, bytes: Buffer): Promise<void>;
  /** The bytes stored under `key`; rejects when there are none. */
  abstract get(key: string): Promise<Buffer>;
  /** Removes the bytes; a missing key is not an error. */
  abstract delete(key: string): Promise<void>;
}

const KEY = /^[0-9a-f-]{36}\/[0-9a-f-]{36}$/;

/**
 * Files on the local disk under a directory the HTTP server never serves,
 * one folder per tenant, created owner-only; writes are atomic (a temporary
 * file renamed into place), so a reader never sees half a file.
 */
export class LocalDiskStorage extends AttachmentStorage {
  private readonly root: string;

  constructor(root: string) {
    super();
    this.root = resolve(root);
  }

  async put(key: string, bytes: Buffer): Promise<void> {
    const path = this.pathOf(key);
    await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temp, bytes, { mode: 0o600, flag: 'wx' });
      await rename(temp, path);
    } catch (error) {
      await rm(temp, { force: true });
      throw error;
    }
  }

  get(key: string): Promise<Buffer> {
    return readFile(this.pathOf(key));
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /** The file of a key; refuses anything that is not one of our keys (no path tricks). */
  pathOf(key: string): string {
    if (!KEY.test(key)) throw new Error(`Not an attachment key: ${JSON.stringify(key)}`);
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep)) throw new Error('Attachment key escapes the root');
    return path;
  }
}

/**
 * Encryption at rest around another storage: what it holds is ciphertext
 * (see `Keyring.encryptBytes`), `get` returns the plaintext. Files written
 * before encryption read as they are until `keys:rotate` encrypts them.
 */
export class EncryptedStorage extends AttachmentStorage {
  constructor(
    private readonly inner: AttachmentStorage,
    private readonly keyring: Keyring,
  ) {
    super();
  }

  put(key: string, bytes: Buffer): Promise<void> {
    return this.inner.put(key, this.keyring.encryptBytes(bytes));
  }

  async get(key: string): Promise<Buffer> {
    return this.keyring.decryptBytes(await this.inner.get(key));
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  /**
   * Re-encrypts one file under the active key; false when it already is (so a
   * rerun of `keys:rotate` skips it). The new file replaces the old atomically.
   */
  async rotate(key: string): Promise<boolean> {
    const stored = await this.inner.get(key);
    if (this.keyring.keyIdOfBytes(stored) === this.keyring.activeKeyId) return false;
    await this.inner.put(key, this.keyring.encryptBytes(this.keyring.decryptBytes(stored)));
    return true;
  }
}
