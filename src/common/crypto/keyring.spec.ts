import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import fc from 'fast-check';
import { parseEncryptionKeys } from '../../config/app-config';
import { EncryptionErrorCode, EncryptionException } from './encryption.exception';
import { Keyring } from './keyring';

const keyA = { id: 'a', key: randomBytes(32) };
const keyB = { id: 'b', key: randomBytes(32) };

function caught(fn: () => unknown): EncryptionException {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(EncryptionException);
    return error as EncryptionException;
  }
  throw new Error('expected an EncryptionException');
}

/** Flips one bit of the base64url body of a text value. */
function tamperText(value: string, at: number): string {
  const [version, keyId, body] = value.split('.');
  const raw = Buffer.from(body, 'base64url');
  raw[at % raw.length] ^= 0x01;
  return `${version}.${keyId}.${raw.toString('base64url')}`;
}

describe('Keyring', () => {
  const ring = new Keyring([keyA]);

  it('round-trips a string in the gw1.<keyId>.<base64url> format', () => {
    const value = ring.encrypt('Ada Lovelace');
    expect(value).toMatch(/^gw1\.a\.[A-Za-z0-9_-]+$/);
    expect(value).not.toContain('Ada');
    expect(ring.decrypt(value)).toBe('Ada Lovelace');
  });

  it('uses a fresh IV for every value, so equal plaintexts never give equal ciphertexts', () => {
    const values = new Set(Array.from({ length: 50 }, () => ring.encrypt('same')));
    expect(values.size).toBe(50);
  });

  it('reports the key id of a value and whether it is encrypted', () => {
    const value = ring.encrypt('x');
    expect(ring.keyIdOf(value)).toBe('a');
    expect(ring.isEncrypted(value)).toBe(true);
    expect(ring.keyIdOf('plain name')).toBeUndefined();
    expect(ring.isEncrypted('plain name')).toBe(false);
  });

  it('reads legacy plaintext (no ciphertext format) unchanged', () => {
    expect(ring.decrypt('Grace Hopper')).toBe('Grace Hopper');
    expect(ring.decrypt('')).toBe('');
    expect(ring.decryptBytes(Buffer.from('%PDF-1.7'))).toEqual(Buffer.from('%PDF-1.7'));
  });

  it('encrypts with the first key and decrypts with every key (rotation order)', () => {
    const old = new Keyring([keyA]);
    const rotated = new Keyring([keyB, keyA]);
    expect(rotated.activeKeyId).toBe('b');
    expect(rotated.keyIds).toEqual(['b', 'a']);
    const written = old.encrypt('before rotation');
    expect(rotated.decrypt(written)).toBe('before rotation');
    const rewritten = rotated.encrypt(rotated.decrypt(written));
    expect(rotated.keyIdOf(rewritten)).toBe('b');
    expect(rotated.decrypt(rewritten)).toBe('before rotation');
  });

  it('refuses a value under a key it does not hold, naming the key id only in the error', () => {
    const value = new Keyring([keyB]).encrypt('secret');
    const error = caught(() => ring.decrypt(value));
    expect(error.code).toBe(EncryptionErrorCode.UnknownKey);
    expect(error.keyId).toBe('b');
    expect(error.status).toBe(500);
    expect(error.detail).not.toContain('secret');
  });

  it('refuses a value encrypted by another key that has the same id (wrong key)', () => {
    const impostor = new Keyring([{ id: 'a', key: randomBytes(32) }]);
    const error = caught(() => ring.decrypt(impostor.encrypt('secret')));
    expect(error.code).toBe(EncryptionErrorCode.Unreadable);
    expect(error.keyId).toBe('a');
  });

  it('refuses a value whose key id was swapped for another key of the ring', () => {
    const both = new Keyring([keyA, { id: 'c', key: keyA.key }]);
    const value = both.encrypt('secret').replace(/^gw1\.a\./, 'gw1.c.');
    expect(caught(() => both.decrypt(value)).code).toBe(EncryptionErrorCode.Unreadable);
  });

  it('refuses malformed and truncated values in the ciphertext format', () => {
    expect(caught(() => ring.decrypt('gw1.a.')).code).toBe(EncryptionErrorCode.Unreadable);
    expect(caught(() => ring.decrypt('gw1.a.AAAA')).code).toBe(EncryptionErrorCode.Unreadable);
    expect(caught(() => ring.decrypt('gw1.a.b.c')).code).toBe(EncryptionErrorCode.Unreadable);
    const value = ring.encrypt('hello');
    expect(caught(() => ring.decrypt(value.slice(0, -4))).code).toBe(
      EncryptionErrorCode.Unreadable,
    );
  });

  it('round-trips bytes in the binary format and detects a flipped bit anywhere', () => {
    const bytes = randomBytes(300);
    const stored = ring.encryptBytes(bytes);
    expect(ring.keyIdOfBytes(stored)).toBe('a');
    expect(stored.includes(bytes.subarray(0, 16))).toBe(false);
    expect(ring.decryptBytes(stored)).toEqual(bytes);
    for (let at = 8; at < stored.length; at += 37) {
      const altered = Buffer.from(stored);
      altered[at] ^= 0x80;
      expect(() => ring.decryptBytes(altered)).toThrow(EncryptionException);
    }
    expect(ring.keyIdOfBytes(bytes)).toBeUndefined();
  });

  it('builds from DATA_ENCRYPTION_KEYS, the first key active', () => {
    const raw = `k2:${keyB.key.toString('base64')},k1:${keyA.key.toString('base64')}`;
    const fromConfig = Keyring.fromConfig(parseEncryptionKeys(raw));
    expect(fromConfig.activeKeyId).toBe('k2');
    expect(fromConfig.keyIds).toEqual(['k2', 'k1']);
    expect(fromConfig.decrypt(fromConfig.encrypt('x'))).toBe('x');
  });

  it('rejects an empty ring, a short key and a duplicate id', () => {
    expect(() => new Keyring([])).toThrow(/at least one key/);
    expect(() => new Keyring([{ id: 'a', key: randomBytes(16) }])).toThrow(/32 bytes/);
    expect(() => new Keyring([keyA, keyA])).toThrow(/twice/);
    expect(() => new Keyring([{ id: 'a.b', key: randomBytes(32) }])).toThrow(/Invalid key id/);
  });

  it('never shows key material when inspected or serialised', () => {
    const material = keyA.key.toString('base64');
    expect(JSON.stringify(ring)).not.toContain(material);
    expect(inspect(ring, { depth: 5 })).not.toContain(material);
  });

  describe('properties', () => {
    const rotated = new Keyring([keyB, keyA]);

    it('decrypt(encrypt(s)) === s for every string, under every ring order', () => {
      fc.assert(
        fc.property(fc.string({ unit: 'grapheme' }), (s) => {
          expect(ring.decrypt(ring.encrypt(s))).toBe(s);
          expect(rotated.decrypt(ring.encrypt(s))).toBe(s);
          expect(rotated.keyIdOf(rotated.encrypt(s))).toBe('b');
        }),
      );
    });

    it('decryptBytes(encryptBytes(b)) equals b for every byte string', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
          const buffer = Buffer.from(bytes);
          expect(rotated.decryptBytes(rotated.encryptBytes(buffer))).toEqual(buffer);
        }),
      );
    });

    it('any single flipped bit of a ciphertext is refused, never decrypted to something else', () => {
      fc.assert(
        fc.property(fc.string(), fc.nat(), fc.nat({ max: 7 }), (s, at, bit) => {
          const value = ring.encrypt(s);
          const [version, keyId, body] = value.split('.');
          const raw = Buffer.from(body, 'base64url');
          raw[at % raw.length] ^= 1 << bit;
          const altered = `${version}.${keyId}.${raw.toString('base64url')}`;
          expect(() => ring.decrypt(altered)).toThrow(EncryptionException);
        }),
      );
    });

    it('tampering is detected at every byte position of short values', () => {
      const value = ring.encrypt('tamper me');
      const length = Buffer.from(value.split('.')[2], 'base64url').length;
      for (let at = 0; at < length; at++) {
        expect(() => ring.decrypt(tamperText(value, at))).toThrow(EncryptionException);
      }
    });
  });
});
