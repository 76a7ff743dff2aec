import {
  Cascade,
  Collection,
  Entity,
  Enum,
  Index,
  ManyToOne,
  OneToMany,
  OptionalProps,
  PrimaryKey,
  Property,
  Unique,
} from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { BillingInterval, moneyType } from './money';
import { Price } from './price.entity';
import { Subscription } from './subscription.entity';

export enum InvoiceStatus {
  Draft = 'draft',
  /** Finalised and waiting for payment. */
  Open = 'open',
  Paid = 'paid',
  /** Cancelled before payment; kept for the record. */
  Void = 'void',
  /** Recovery gave up; kept for the record. */
  Uncollectible = 'uncollectible',
}

export enum InvoiceReason {
  SubscriptionCreate = 'subscription_create',
  SubscriptionCycle = 'subscription_cycle',
  SubscriptionUpdate = 'subscription_update',
}

export enum InvoiceLineKind {
  /** The plan for a period (unit amount × seats). */
  Plan = 'plan',
  /** Unused time of the previous plan or seats, given back. */
  ProrationCredit = 'proration_credit',
  /** Remaining time of the new plan or seats, charged. */
  ProrationDebit = 'proration_debit',
}

@Entity({ schema: 'platform', tableName: 'invoice' })
@Index({ name: 'invoice_tenant_id_created_at_idx', properties: ['tenantId', 'createdAt'] })
// The portal's invoice list: the tenant's, newest first (id desc, its cursor).
@Index({ name: 'invoice_tenant_id_id_idx', properties: ['tenantId', 'id'] })
@Index({ name: 'invoice_status_idx', properties: ['status'] })
@Index({
  name: 'invoice_next_attempt_at_idx',
  expression:
    "create index invoice_next_attempt_at_idx on platform.invoice (next_attempt_at) where status = 'open' and next_attempt_at is not null",
})
export class Invoice {
  [OptionalProps]?: 'creditApplied' | 'amountPaid' | 'amountRefunded' | 'attemptCount' | 'lines';

  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => Subscription, { nullable: true, deleteRule: 'restrict' })
  subscription?: Subscription | null;

  /** Gapless and sequential across the platform (`GW-000042`), given at finalisation. */
  @Property({ type: 'text', nullable: true })
  @Unique({ name: 'invoice_number_key' })
  number?: string | null;

  @Enum({ items: () => InvoiceStatus, type: 'text' })
  status!: InvoiceStatus;

  @Enum({ items: () => InvoiceReason, type: 'text' })
  reason!: InvoiceReason;

  @Property({ type: 'string', columnType: 'char(3)' })
  currency!: string;

  /** Sum of the lines (a negative sum becomes customer credit). */
  @Property({ type: moneyType() })
  subtotal!: number;

  @Property({ type: moneyType() })
  total!: number;

  /** Customer credit used to pay part of the total. */
  @Property({ type: moneyType() })
  creditApplied: number = 0;

  @Property({ type: moneyType() })
  amountDue!: number;

  @Property({ type: moneyType() })
  amountPaid: number = 0;

  @Property({ type: moneyType() })
  amountRefunded: number = 0;

  @Property({ type: 'datetime' })
  periodStart!: Date;

  @Property({ type: 'datetime' })
  periodEnd!: Date;

  /**
   * What this invoice bills, e.g. `cycle:<subscription>:<period start>`: unique,
   * so a repeated or concurrent billing run cannot bill a period twice.
   */
  @Property({ type: 'text', nullable: true })
  @Unique({ name: 'invoice_billing_key_key' })
  billingKey?: string | null;

  /** Charge attempts made so far (the next one's number is this + 1). */
  @Property({ type: 'integer' })
  attemptCount: number = 0;

  /** When the next automatic attempt is due (payment recovery); null: none planned. */
  @Property({ type: 'datetime', nullable: true })
  nextAttemptAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  paidAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  voidedAt?: Date | null;

  @Property({ type: 'datetime', nullable: true })
  disputedAt?: Date | null;

  @OneToMany(() => InvoiceLine, (line) => line.invoice, {
    cascade: [Cascade.PERSIST],
    orderBy: { createdAt: 'asc', id: 'asc' },
  })
  lines = new Collection<InvoiceLine>(this);

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}

/**
 * One line of an invoice; a line with no invoice yet is pending and is swept
 * into the tenant's next invoice (how a downgrade's credit reaches it).
 */
@Entity({ schema: 'platform', tableName: 'invoice_line' })
@Index({ name: 'invoice_line_invoice_id_idx', properties: ['invoice'] })
@Index({
  name: 'invoice_line_pending_idx',
  expression:
    'create index invoice_line_pending_idx on platform.invoice_line (tenant_id) where invoice_id is null',
})
export class InvoiceLine {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => Invoice, { nullable: true, deleteRule: 'cascade' })
  invoice?: Invoice | null;

  @Enum({ items: () => InvoiceLineKind, type: 'text' })
  kind!: InvoiceLineKind;

  @Property({ type: 'text' })
  description!: string;

  @Property({ type: 'integer' })
  quantity!: number;

  /** Full-period price per seat of the price the line is about. */
  @Property({ type: moneyType() })
  unitAmount!: number;

  /** Signed: credits are negative. */
  @Property({ type: moneyType() })
  amount!: number;

  @ManyToOne(() => Price, { nullable: true, deleteRule: 'restrict' })
  price?: Price | null;

  @Enum({ items: () => BillingInterval, type: 'text', nullable: true })
  interval?: BillingInterval | null;

  @Property({ type: 'datetime' })
  periodStart!: Date;

  @Property({ type: 'datetime' })
  periodEnd!: Date;

  @Property({ type: 'datetime' })
  createdAt!: Date;
}
