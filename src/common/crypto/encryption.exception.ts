import { DomainException } from '../errors/domain.exception';

export enum EncryptionErrorCode {
  /** The value names a key id that DATA_ENCRYPTION_KEYS does not hold. */
  UnknownKey = 'encryption_key_unknown',
  /** The value is malformed or fails authentication (altered, truncated, or the wrong key). */
  Unreadable = 'encrypted_value_unreadable',
  /** An encrypted column was used in a query condition (random IVs make that never match). */
  NotQueryable = 'encrypted_value_not_queryable',
}

/**
 * Stored data that cannot be decrypted is our fault, never the client's: a 500
 * with a stable code and a detail that names neither the key nor the value.
 * The specifics (key id, where) travel in `cause`, which only the log sees.
 */
export class EncryptionException extends DomainException<EncryptionErrorCode> {
  constructor(
    code: EncryptionErrorCode,
    detail: string,
    /** The key id the value named, when it named one (safe to log; never key material). */
    readonly keyId?: string,
    cause?: unknown,
  ) {
    super(code, detail, {}, cause);
  }

  static unknownKey(keyId: string): EncryptionException {
    return new EncryptionException(
      EncryptionErrorCode.UnknownKey,
      'Stored data could not be decrypted: it is encrypted under a key this server does not hold.',
      keyId,
      new Error(`No key "${keyId}" in DATA_ENCRYPTION_KEYS`),
    );
  }

  static unreadable(reason: string, keyId?: string): EncryptionException {
    return new EncryptionException(
      EncryptionErrorCode.Unreadable,
      'Stored data could not be decrypted: it was altered or is corrupt.',
      keyId,
      new Error(keyId ? `${reason} (key "${keyId}")` : reason),
    );
  }

  static notQueryable(where: string): EncryptionException {
    return new EncryptionException(
      EncryptionErrorCode.NotQueryable,
      'An encrypted field cannot be used to filter.',
      undefined,
      new Error(`${where} is encrypted with a random IV; query by another column`),
    );
  }

  get status(): number {
    switch (this.code) {
      case EncryptionErrorCode.UnknownKey:
      case EncryptionErrorCode.Unreadable:
      case EncryptionErrorCode.NotQueryable:
        return 500;
    }
  }
}
