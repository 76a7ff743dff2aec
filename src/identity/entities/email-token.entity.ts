import { Entity, Enum, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

export enum EmailTokenPurpose {
  VerifyEmail = 'verify_email',
  ResetPassword = 'reset_password',
}

/** A single-use, expiring token sent by email; only its SHA-256 is stored. */
@Entity({ schema: 'platform', tableName: 'email_token' })
@Index({ name: 'email_token_user_idx', properties: ['userId'] })
export class EmailToken {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  userId!: string;

  @Enum({ items: () => EmailTokenPurpose, type: 'text' })
  purpose!: EmailTokenPurpose;

  @Property({ type: 'text', hidden: true })
  @Unique({ name: 'email_token_hash_key' })
  tokenHash!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  usedAt?: Date | null;
}
