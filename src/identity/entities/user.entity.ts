import { Entity, Enum, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { PlatformRole } from '../../access/roles';
import { newId } from '../../common/uuid';
import { EncryptedString } from '../../common/crypto/encrypted-string.type';

/** A person who can sign in. Organisations are reached through memberships. */
@Entity({ schema: 'platform', tableName: 'user_account' })
export class User {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  /** Normalised (trimmed, NFKC, lower-case); unique. */
  @Property({ type: 'text' })
  @Unique({ name: 'user_account_email_key' })
  email!: string;

  /** Personal data: stored encrypted (never filter or sort by it in SQL). */
  @Property({ type: EncryptedString })
  name!: string;

  /** argon2id, PHC string format. */
  @Property({ type: 'text', hidden: true, lazy: true })
  passwordHash!: string;

  @Property({ type: 'datetime', nullable: true })
  emailVerifiedAt?: Date | null;

  @Enum({ items: () => PlatformRole, type: 'text', nullable: true })
  platformRole?: PlatformRole | null;

  @Property({ type: 'datetime' })
  createdAt: Date = new Date();

  /** Set by the code that changes the row, from the injectable Clock. */
  @Property({ type: 'datetime' })
  updatedAt: Date = new Date();
}
