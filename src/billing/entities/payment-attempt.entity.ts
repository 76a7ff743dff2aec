import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { Invoice } from './invoice.entity';
import { moneyType } from './money';

export enum AttemptStatus {
  /** Written before the gateway is called; the outcome is not known yet. */
  Pending = 'pending',
  Succeeded = 'succeeded',
  Failed = 'failed',
  /** The customer must authenticate (SCA) before the money moves. */
  RequiresAction = 'requires_action',
  /** The request may or may not have reached the gateway; to be reconciled. */
  Unknown = 'unknown',
}

export enum AttemptTrigger {
  Subscribe = 'subscribe',
  Change = 'change',
  Renewal = 'renewal',
  PayNow = 'pay_now',
  /** A scheduled recovery retry. */
  Retry = 'retry',
  /** A new or updated default card. */
  PaymentMethodUpdated = 'payment_method_updated',
  /** Staff asked for an attempt now. */
  AdminRetry = 'admin_retry',
}

/** Every charge attempt, kept for support, reconciliation and recovery figures. */
@Entity({ schema: 'platform', tableName: 'payment_attempt' })
@Index({ name: 'payment_attempt_invoice_id_idx', properties: ['invoice'] })
@Index({ name: 'payment_attempt_status_created_at_idx', properties: ['status', 'createdAt'] })
// The admin payment-failure list (failed, requires_action, unknown), newest first, whole or by tenant.
@Index({
  name: 'payment_attempt_failure_idx',
  expression:
    "create index payment_attempt_failure_idx on platform.payment_attempt (id) where status in ('failed', 'requires_action', 'unknown')",
})
@Index({
  name: 'payment_attempt_tenant_failure_idx',
  expression:
    "create index payment_attempt_tenant_failure_idx on platform.payment_attempt (tenant_id, id) where status in ('failed', 'requires_action', 'unknown')",
})
export class PaymentAttempt {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  tenantId!: string;

  @ManyToOne(() => Invoice, { deleteRule: 'restrict' })
  invoice!: Invoice;

  /** 1 for the first attempt on the invoice. */
  @Property({ type: 'integer' })
  attemptNumber!: number;

  @Enum({ items: () => AttemptTrigger, type: 'text' })
  trigger!: AttemptTrigger;

  @Property({ type: moneyType() })
  amount!: number;

  @Property({ type: 'string', columnType: 'char(3)' })
  currency!: string;

  /** Sent with the charge, derived from what it does: `invoice:<id>:attempt:<n>`. */
  @Property({ type: 'text' })
  @Unique({ name: 'payment_attempt_idempotency_key_key' })
  idempotencyKey!: string;

  /** Our payment method id. */
  @Property({ type: 'uuid', nullable: true })
  paymentMethodId?: string | null;

  @Enum({ items: () => AttemptStatus, type: 'text' })
  status!: AttemptStatus;

  /** Payment error category (`card_declined`, `insufficient_funds`, …). */
  @Property({ type: 'text', nullable: true })
  category?: string | null;

  @Property({ type: 'text', nullable: true })
  declineCode?: string | null;

  @Property({ type: 'boolean', nullable: true })
  retryable?: boolean | null;

  @Property({ type: 'text', nullable: true })
  message?: string | null;

  /** `pi_…` at the gateway. */
  @Property({ type: 'text', nullable: true })
  @Index({ name: 'payment_attempt_gateway_payment_id_idx' })
  gatewayPaymentId?: string | null;

  /** `req_…`: what Stripe support asks for. */
  @Property({ type: 'text', nullable: true })
  gatewayRequestId?: string | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime', nullable: true })
  completedAt?: Date | null;
}
