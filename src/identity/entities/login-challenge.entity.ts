import { Entity, Index, Opt, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

/**
 * The second step of a sign-in with two-factor authentication: issued once
 * the password is right, exchanged (once, within minutes, in a few tries)
 * with a code for the tokens. Only its SHA-256 is stored.
 */
@Entity({ schema: 'platform', tableName: 'login_challenge' })
@Index({ name: 'login_challenge_user_idx', properties: ['userId'] })
export class LoginChallenge {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  userId!: string;

  @Property({ type: 'text', hidden: true })
  @Unique({ name: 'login_challenge_hash_key' })
  tokenHash!: string;

  @Property({ type: 'integer', default: 0 })
  attempts: Opt<number> = 0;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  /** Exchanged for tokens, or burnt after too many wrong codes. */
  @Property({ type: 'datetime', nullable: true })
  usedAt?: Date | null;
}
