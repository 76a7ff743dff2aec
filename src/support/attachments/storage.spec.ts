import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalDiskStorage } from './storage';

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
