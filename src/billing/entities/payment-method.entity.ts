import { Entity, Index, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';

/** A card saved at the gateway for a tenant. Only display details are kept here. */
@Entity({ schema: 'platform', tableName: 'payment_method' })
@Index({ name: 'payment_method_tenant_id_idx', properties: ['tenantId'] })
export class PaymentMethod {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  tenantId!: string;

  /** `pm_…` at the gateway. */
  @Property({ type: 'text' })
  @Unique({ name: 'payment_method_gateway_id_key' })
  gatewayId!: string;

  @Property({ type: 'text' })
  brand!: string;

  @Property({ type: 'text' })
  last4!: string;

  @Property({ type: 'smallint' })
  expMonth!: number;

  @Property({ type: 'smallint' })
  expYear!: number;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  /** When the card-expiring mail went out (once per card). */
  @Property({ type: 'datetime', nullable: true })
  expiryNoticeSentAt?: Date | null;

  /** Removed by the customer or detached at the gateway. */
  @Property({ type: 'datetime', nullable: true })
  detachedAt?: Date | null;
}
