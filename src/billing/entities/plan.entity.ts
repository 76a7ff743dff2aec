import {
  Entity,
  Enum,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  Unique,
} from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { RecoveryPolicy } from './recovery-policy.entity';

export enum SupportTier {
  Community = 'community',
  Standard = 'standard',
  Priority = 'priority',
  Dedicated = 'dedicated',
}

export enum PlanStatus {
  Active = 'active',
  /** Hidden from the pricing page and closed to new subscriptions; existing ones keep it. */
  Archived = 'archived',
}

/** The value of one feature on one plan: a flag, a limit (null: unlimited) or a text. */
export type FeatureValue = boolean | number | string | null;

/** A tier of the catalog (Free, Starter, Pro, Enterprise…). */
@Entity({ schema: 'platform', tableName: 'plan' })
export class Plan {
  [OptionalProps]?: 'status' | 'recommended' | 'trialDays' | 'features' | 'recoveryPolicy';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  /** Stable identifier used by clients and seeds (`pro`). */
  @Property({ type: 'text' })
  @Unique({ name: 'plan_code_key' })
  code!: string;

  @Property({ type: 'text' })
  name!: string;

  @Property({ type: 'text' })
  description!: string;

  /** Position on the pricing page, cheapest first. */
  @Property({ type: 'integer' })
  sortOrder!: number;

  @Enum({ items: () => SupportTier, type: 'text' })
  supportTier!: SupportTier;

  /** Most seats a subscription may hold; null: unlimited. On the free plan, the seats it gives. */
  @Property({ type: 'integer', nullable: true })
  seatLimit!: number | null;

  @Property({ type: 'integer' })
  trialDays: number = 0;

  @Property({ type: 'boolean' })
  recommended: boolean = false;

  /** Feature key → value, for every row of the comparison matrix. */
  @Property({ type: 'json' })
  features: Record<string, FeatureValue> = {};

  /** The payment-recovery policy of this plan's subscriptions; null: the platform default. */
  @ManyToOne(() => RecoveryPolicy, { nullable: true, deleteRule: 'restrict' })
  recoveryPolicy?: RecoveryPolicy | null;

  @Enum({ items: () => PlanStatus, type: 'text' })
  status: PlanStatus = PlanStatus.Active;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
