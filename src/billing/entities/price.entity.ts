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
import { BillingInterval, moneyType } from './money';
import { Plan } from './plan.entity';

export enum PriceStatus {
  Active = 'active',
  /** Closed to new subscriptions; subscriptions on it keep renewing at it. */
  Archived = 'archived',
}

/**
 * What a plan costs per seat, per interval, in one currency. Immutable once
 * created: a new amount is a new price, and the old one is archived.
 */
@Entity({ schema: 'platform', tableName: 'price' })
@Unique({
  name: 'price_active_key',
  expression:
    "create unique index price_active_key on platform.price (plan_id, currency, interval) where status = 'active'",
})
export class Price {
  [OptionalProps]?: 'status';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @ManyToOne(() => Plan, { deleteRule: 'restrict' })
  plan!: Plan;

  @Property({ type: 'string', columnType: 'char(3)' })
  currency!: string;

  @Enum({ items: () => BillingInterval, type: 'text' })
  interval!: BillingInterval;

  /** Per seat per interval, in minor units. */
  @Property({ type: moneyType() })
  unitAmount!: number;

  @Enum({ items: () => PriceStatus, type: 'text' })
  status: PriceStatus = PriceStatus.Active;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  archivedAt?: Date | null;
}
