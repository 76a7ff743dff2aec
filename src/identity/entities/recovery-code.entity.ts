import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

/** A one-time code that stands in for the authenticator; only its SHA-256 is stored. */
@Entity({ schema: 'platform', tableName: 'two_factor_recovery_code' })
@Index({ name: 'two_factor_recovery_code_user_idx', properties: ['userId'] })
@Unique({ name: 'two_factor_recovery_code_hash_key', properties: ['userId', 'codeHash'] })
export class RecoveryCode {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  userId!: string;

  @Property({ type: 'text', hidden: true })
  codeHash!: string;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  /** Spent: a recovery code works once. */
  @Property({ type: 'datetime', nullable: true })
  usedAt?: Date | null;
}
