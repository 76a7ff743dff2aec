import { Entity, OptionalProps, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { moneyType } from './money';
import { EncryptedString } from '../../common/crypto/encrypted-string.type';

/** A tenant as the gateway's customer: one per tenant, created on first need. */
@Entity({ schema: 'platform', tableName: 'billing_customer' })
export class BillingCustomer {
  [OptionalProps]?: 'balance';

  /** The tenant's id: one customer per organisation. */
  @PrimaryKey({ type: 'uuid' })
  tenantId!: string;

  /** `cus_…` at the gateway. */
  @Property({ type: 'text' })
  @Unique({ name: 'billing_customer_gateway_id_key' })
  gatewayId!: string;

  @Property({ type: 'text' })
  email!: string;

  /** Personal data: stored encrypted (never filter or sort by it in SQL). */
  @Property({ type: EncryptedString })
  name!: string;

  /** Our id of the payment method charged off-session. */
  @Property({ type: 'uuid', nullable: true })
  defaultPaymentMethodId?: string | null;

  /** Credit owed to the customer in minor units (downgrade prorations), applied to the next invoices. */
  @Property({ type: moneyType() })
  balance: number = 0;

  /**
   * Outside production: the customer's billing time when a test clock drives
   * it (like Stripe's test clocks). Null: the real clock.
   */
  @Property({ type: 'datetime', nullable: true })
  testClockAt?: Date | null;

  /** When the organisation's one free trial began; a second is refused. */
  @Property({ type: 'datetime', nullable: true })
  trialUsedAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}
