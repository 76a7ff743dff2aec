import { Entity, PrimaryKey, Property } from '@mikro-orm/core';
import { EncryptedString } from '../../common/crypto/encrypted-string.type';

/**
 * A user's TOTP authenticator: pending from setup until a first code
 * confirms it (`enabledAt`), then required at every sign-in. One per user.
 */
@Entity({ schema: 'platform', tableName: 'user_two_factor' })
export class TwoFactor {
  @PrimaryKey({ type: 'uuid' })
  userId!: string;

  /** The base32 TOTP secret, encrypted at rest (never in a query condition). */
  @Property({ type: EncryptedString, hidden: true, lazy: true })
  secret!: string;

  @Property({ type: 'datetime', nullable: true })
  enabledAt?: Date | null;

  /** The time step of the last accepted code: codes of this step or earlier are refused (replay). */
  @Property({ type: 'integer', nullable: true })
  lastUsedStep?: number | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
