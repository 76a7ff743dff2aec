import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

/**
 * One refresh token of a login session (a family). Only its SHA-256 is stored.
 * Each use rotates it; presenting a rotated token again means it was stolen,
 * and the whole family is revoked.
 */
@Entity({ schema: 'platform', tableName: 'refresh_token' })
@Index({ name: 'refresh_token_family_idx', properties: ['familyId'] })
export class RefreshToken {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  familyId!: string;

  @Property({ type: 'uuid' })
  @Index({ name: 'refresh_token_user_idx' })
  userId!: string;

  @Property({ type: 'text' })
  @Unique({ name: 'refresh_token_hash_key' })
  tokenHash!: string;

  /** The organisation the session currently acts for. */
  @Property({ type: 'uuid', nullable: true })
  tenantId?: string | null;

  @Property({ type: 'datetime' })
  expiresAt!: Date;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  rotatedAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  revokedAt?: Date | null;

  @Property({ type: 'text', nullable: true })
  revokedReason?: string | null;
}
