import {
  Entity,
  Enum,
  Index,
  ManyToOne,
  OptionalProps,
  PrimaryKey,
  Property,
  Unique,
} from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { Plan } from './plan.entity';
import { Price } from './price.entity';

export enum SubscriptionStatus {
  Trialing = 'trialing',
  Active = 'active',
  /** The first payment needs the customer (SCA); nothing is granted until it succeeds. */
  Incomplete = 'incomplete',
  /** The first payment never succeeded; a record, not a subscription. */
  IncompleteExpired = 'incomplete_expired',
  /** A renewal failed; recovery is under way and the plan still applies. */
  PastDue = 'past_due',
  /** Recovery gave up for now: writes are refused until paid. */
  Unpaid = 'unpaid',
  Canceled = 'canceled',
}

/** Statuses of the one subscription a tenant may hold at a time. */
export const LIVE_STATUSES = [
  SubscriptionStatus.Trialing,
  SubscriptionStatus.Active,
  SubscriptionStatus.Incomplete,
  SubscriptionStatus.PastDue,
  SubscriptionStatus.Unpaid,
] as const;

/** Statuses under which the plan's entitlements apply. */
export const ENTITLED_STATUSES: SubscriptionStatus[] = [
  SubscriptionStatus.Trialing,
  SubscriptionStatus.Active,
  SubscriptionStatus.PastDue,
  SubscriptionStatus.Unpaid,
];

@Entity({ schema: 'platform', tableName: 'subscription' })
@Unique({
  name: 'subscription_live_tenant_key',
  expression:
    "create unique index subscription_live_tenant_key on platform.subscription (tenant_id) where status in ('trialing', 'active', 'incomplete', 'past_due', 'unpaid')",
})
@Index({ name: 'subscription_status_period_end_idx', properties: ['status', 'currentPeriodEnd'] })
@Index({ name: 'subscription_tenant_id_idx', properties: ['tenantId'] })
export class Subscription {
  [OptionalProps]?: 'cancelAtPeriodEnd';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => Plan, { deleteRule: 'restrict' })
  plan!: Plan;

  @ManyToOne(() => Price, { deleteRule: 'restrict' })
  price!: Price;

  /** Seats paid for. */
  @Property({ type: 'integer' })
  quantity!: number;

  @Enum({ items: () => SubscriptionStatus, type: 'text' })
  status!: SubscriptionStatus;

  /** Periods are whole intervals counted from here (so a 31st never drifts to the 28th). */
  @Property({ type: 'datetime' })
  billingAnchor!: Date;

  @Property({ type: 'datetime' })
  currentPeriodStart!: Date;

  @Property({ type: 'datetime' })
  currentPeriodEnd!: Date;

  @Property({ type: 'datetime', nullable: true })
  trialEnd?: Date | null;

  @Property({ type: 'boolean' })
  cancelAtPeriodEnd: boolean = false;

  /** Why the customer is leaving (kept for churn analysis). */
  @Property({ type: 'text', nullable: true })
  cancelReason?: string | null;

  @Property({ type: 'text', nullable: true })
  cancelComment?: string | null;

  /** When cancellation was asked for. */
  @Property({ type: 'datetime', nullable: true })
  canceledAt?: Date | null;

  /** When the subscription stopped. */
  @Property({ type: 'datetime', nullable: true })
  endedAt?: Date | null;

  /** A change that starts at the next renewal (a move to a shorter interval). */
  @ManyToOne(() => Price, { nullable: true, deleteRule: 'restrict' })
  pendingPrice?: Price | null;

  @Property({ type: 'integer', nullable: true })
  pendingQuantity?: number | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
