import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import type { RecoveryRules } from '../recovery/recovery-policy';

/**
 * A payment-recovery policy: retry schedule and dunning campaign in one row.
 * One is the platform default; a plan may name another.
 */
@Entity({ schema: 'platform', tableName: 'recovery_policy' })
@Index({
  name: 'recovery_policy_default_key',
  expression:
    'create unique index recovery_policy_default_key on platform.recovery_policy (is_default) where is_default',
})
export class RecoveryPolicy {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  /** Stable identifier (`default`, `enterprise`). */
  @Property({ type: 'text' })
  @Unique({ name: 'recovery_policy_code_key' })
  code!: string;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'json' })
  rules!: RecoveryRules;

  @Property({ type: 'boolean' })
  isDefault: boolean = false;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
