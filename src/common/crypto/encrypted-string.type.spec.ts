import { randomBytes } from 'node:crypto';
import type { Platform } from '@mikro-orm/core';
import { EncryptionErrorCode, EncryptionException } from './encryption.exception';
import { EncryptedString, KEYRING_EXTENSION, keyringExtension } from './encrypted-string.type';
import { Keyring } from './keyring';

/** A platform stand-in whose configuration holds the extensions registered on it. */
function platformWith(keyring?: Keyring): Platform {
  const extensions = new Map<string, () => unknown>();
  const config = {
    registerExtension: (name: string, cb: () => unknown) => extensions.set(name, cb),
    getExtension: (name: string) => extensions.get(name)?.(),
  };
  if (keyring) {
    keyringExtension(keyring).register({ config } as never);
  }
  return { getConfig: () => config } as unknown as Platform;
}

describe('EncryptedString', () => {
  const ringA = new Keyring([{ id: 'a', key: randomBytes(32) }]);
  const ringB = new Keyring([{ id: 'b', key: randomBytes(32) }]);
  const platformA = platformWith(ringA);
  const platformB = platformWith(ringB);

  function typeOn(platform: Platform): EncryptedString {
    const type = new EncryptedString();
    type.platform = platform;
    return type;
  }

  it('encrypts on write and decrypts on read with the keyring of the ORM it belongs to', () => {
    const type = typeOn(platformA);
    const stored = type.convertToDatabaseValue('Ada', platformA)!;
    expect(stored).toMatch(/^gw1\.a\./);
    expect(type.convertToJSValue(stored, platformA)).toBe('Ada');
    // Another app (another ORM, another key) in the same process cannot read it.
    expect(() => type.convertToJSValue(stored, platformB)).toThrow(EncryptionException);
    expect(typeOn(platformB).convertToDatabaseValue('Ada', platformB)).toMatch(/^gw1\.b\./);
  });

  it('passes null and undefined through', () => {
    const type = typeOn(platformA);
    expect(type.convertToDatabaseValue(null, platformA)).toBeNull();
    expect(type.convertToDatabaseValue(undefined, platformA)).toBeUndefined();
    expect(type.convertToJSValue(null, platformA)).toBeNull();
  });

  it('reads legacy plaintext unchanged', () => {
    expect(typeOn(platformA).convertToJSValue('Legacy Name', platformA)).toBe('Legacy Name');
  });

  it('refuses to be used in a query condition (a random IV never matches)', () => {
    const type = typeOn(platformA);
    let error: unknown;
    try {
      type.convertToDatabaseValue('Ada', platformA, { fromQuery: true, mode: 'query' });
    } catch (e) {
      error = e;
    }
    expect((error as EncryptionException).code).toBe(EncryptionErrorCode.NotQueryable);
    // Data of a native insert or update is encrypted, not refused.
    expect(
      type.convertToDatabaseValue('Ada', platformA, { fromQuery: true, mode: 'query-data' }),
    ).toMatch(/^gw1\.a\./);
  });

  it('compares stored values by plaintext, so a re-encrypted equal value is no change', () => {
    const type = typeOn(platformA);
    const one = ringA.encrypt('same');
    const two = ringA.encrypt('same');
    expect(one).not.toBe(two);
    expect(type.compareValues(one, two)).toBe(true);
    expect(type.compareValues(one, 'same')).toBe(true);
    expect(type.compareValues(one, ringA.encrypt('other'))).toBe(false);
    expect(type.compareValues(null, one)).toBe(false);
    expect(type.compareValues(null, null)).toBe(true);
    expect(type.compareValues('gw1.a.garbage', one)).toBe(false);
    expect(type.ensureComparable()).toBe(false);
  });

  it('says clearly when the ORM has no keyring', () => {
    const bare = platformWith();
    expect(() => typeOn(bare).convertToDatabaseValue('x', bare)).toThrow(/No keyring/);
    expect(KEYRING_EXTENSION).toBe('@groundwork/keyring');
  });
});
