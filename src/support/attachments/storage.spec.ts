import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EncryptionException } from '../../common/crypto/encryption.exception';
import { Keyring } from '../../common/crypto/keyring';
import { EncryptedStorage, LocalDiskStorage } from './storage';

describe('LocalDiskStorage', () => {
  let root: string;
  let storage: LocalDiskStorage;
  const tenant = '0193a000-0000-7000-8000-000000000001';
  const key = `${tenant}/0193a000-0000-7000-8000-0000000000aa`;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gw-attachments-'));
    storage = new LocalDiskStorage(join(root, 'attachments'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('writes owner-only files in an owner-only folder per tenant, and reads them back', async () => {
    await storage.put(key, Buffer.from('bytes'));
    expect((await storage.get(key)).toString()).toBe('bytes');
    const dir = join(root, 'attachments', tenant);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(storage.pathOf(key)).mode & 0o777).toBe(0o600);
    // Renamed into place: no temporary file is left.
    expect(readdirSync(dir)).toEqual(['0193a000-0000-7000-8000-0000000000aa']);
  });

  it('deletes, and a missing key is not an error', async () => {
    await storage.put(key, Buffer.from('bytes'));
    await storage.delete(key);
    await storage.delete(key);
    await expect(storage.get(key)).rejects.toThrow();
  });

  it.each(['../x', `${tenant}/../../etc/passwd`, 'report.pdf', `${tenant}/`, ''])(
    'refuses the key %j',
    (bad) => {
      expect(() => storage.pathOf(bad)).toThrow();
    },
  );
});

describe('EncryptedStorage', () => {
  let root: string;
  let disk: LocalDiskStorage;
  const tenant = '0193a000-0000-7000-8000-000000000001';
  const key = `${tenant}/0193a000-0000-7000-8000-0000000000bb`;
  const keyA = { id: 'a', key: randomBytes(32) };
  const keyB = { id: 'b', key: randomBytes(32) };
  const bytes = Buffer.from('%PDF-1.7 the quarterly numbers');

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'gw-attachments-'));
    disk = new LocalDiskStorage(join(root, 'attachments'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('keeps ciphertext on disk and returns the plaintext', async () => {
    const storage = new EncryptedStorage(disk, new Keyring([keyA]));
    await storage.put(key, bytes);
    const raw = readFileSync(disk.pathOf(key));
    expect(raw.includes(Buffer.from('quarterly'))).toBe(false);
    expect(await storage.get(key)).toEqual(bytes);
  });

  it('reads a legacy plaintext file as it is, and rotate() encrypts it', async () => {
    const storage = new EncryptedStorage(disk, new Keyring([keyA]));
    await disk.put(key, bytes);
    expect(await storage.get(key)).toEqual(bytes);
    expect(await storage.rotate(key)).toBe(true);
    expect(new Keyring([keyA]).keyIdOfBytes(readFileSync(disk.pathOf(key)))).toBe('a');
    expect(await storage.get(key)).toEqual(bytes);
  });

  it('rotate() re-encrypts under the new active key once; a rerun changes nothing', async () => {
    await new EncryptedStorage(disk, new Keyring([keyA])).put(key, bytes);
    const rotated = new EncryptedStorage(disk, new Keyring([keyB, keyA]));
    expect(await rotated.rotate(key)).toBe(true);
    const after = readFileSync(disk.pathOf(key));
    expect(new Keyring([keyB]).keyIdOfBytes(after)).toBe('b');
    expect(await rotated.rotate(key)).toBe(false);
    expect(readFileSync(disk.pathOf(key))).toEqual(after);
    expect(await new EncryptedStorage(disk, new Keyring([keyB])).get(key)).toEqual(bytes);
  });

  it('refuses an altered file', async () => {
    const storage = new EncryptedStorage(disk, new Keyring([keyA]));
    await storage.put(key, bytes);
    const raw = readFileSync(disk.pathOf(key));
    raw[raw.length - 20] ^= 1;
    writeFileSync(disk.pathOf(key), raw);
    await expect(storage.get(key)).rejects.toBeInstanceOf(EncryptionException);
  });
});
