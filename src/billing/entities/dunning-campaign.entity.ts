import { Entity, Enum, Index, ManyToOne, PrimaryKey, Property, Unique } from '@mikro-orm/core';
import { newId } from '../../common/uuid';
import { Invoice } from './invoice.entity';
import { moneyType } from './money';
import { RecoveryPolicy } from './recovery-policy.entity';
import { Subscription } from './subscription.entity';
import type { FailureClass, RecoveryRules } from '../recovery/recovery-policy';
import { DunningAction } from '../recovery/recovery-policy';

export enum CampaignStatus {
  Active = 'active',
  /** Staff paused it: no step and no automatic retry until resumed. */
  Paused = 'paused',
  /** The invoice was paid. */
  Recovered = 'recovered',
  /** The cancel step ran: subscription canceled, invoice uncollectible. */
  Canceled = 'canceled',
  /** Staff wrote the invoice off (uncollectible) without canceling. */
  WrittenOff = 'written_off',
  /** The invoice was voided (the subscription ended another way). */
  Closed = 'closed',
}

export const RUNNING_CAMPAIGN = [CampaignStatus.Active, CampaignStatus.Paused] as const;

/**
 * The recovery of one failed invoice. Created at the first failure the
 * customer can act on; its steps run as durable jobs, each exactly once (the
 * campaign row is locked and `next_step` moves in the step's transaction).
 */
@Entity({ schema: 'platform', tableName: 'dunning_campaign' })
@Index({ name: 'dunning_campaign_status_next_step_at_idx', properties: ['status', 'nextStepAt'] })
@Index({ name: 'dunning_campaign_tenant_id_idx', properties: ['tenantId'] })
@Index({ name: 'dunning_campaign_started_at_idx', properties: ['startedAt'] })
// The admin dunning queue's sort key: the next step due first, none last, then id (its cursor).
@Index({
  name: 'dunning_campaign_queue_idx',
  expression:
    "create index dunning_campaign_queue_idx on platform.dunning_campaign ((coalesce(next_step_at, 'infinity'::timestamptz)), id)",
})
export class DunningCampaign {
  @PrimaryKey({ type: 'uuid' })
  id: string = newId();

  @Property({ type: 'uuid' })
  tenantId!: string;

  /** One campaign per invoice, ever. */
  @ManyToOne(() => Invoice, { deleteRule: 'restrict' })
  @Unique({ name: 'dunning_campaign_invoice_id_key' })
  invoice!: Invoice;

  @ManyToOne(() => Subscription, { deleteRule: 'restrict' })
  subscription!: Subscription;

  /** The policy it started under; `rules` is a copy, so editing a policy never reshuffles a running campaign. */
  @ManyToOne(() => RecoveryPolicy, { nullable: true, deleteRule: 'set null' })
  policy?: RecoveryPolicy | null;

  @Property({ type: 'json' })
  rules!: RecoveryRules;

  @Enum({ items: () => CampaignStatus, type: 'text' })
  status!: CampaignStatus;

  /** Billing time of the first failure. */
  @Property({ type: 'datetime' })
  startedAt!: Date;

  /** Days of the policy count from here: the first failure, moved on by time spent paused. */
  @Property({ type: 'datetime' })
  scheduleOrigin!: Date;

  /** Index in `rules.steps` of the next step to run. */
  @Property({ type: 'integer' })
  nextStep: number = 0;

  /** When that step falls due; null when none is left or the campaign is not active. */
  @Property({ type: 'datetime', nullable: true })
  nextStepAt?: Date | null;

  /** The last step that ran (for the queue and recovery figures). */
  @Enum({ items: () => DunningAction, type: 'text', nullable: true })
  lastAction?: DunningAction | null;

  @Property({ type: 'text' })
  firstCategory!: string;

  @Property({ type: 'text' })
  lastFailureClass!: FailureClass;

  @Property({ type: 'text', nullable: true })
  lastCategory?: string | null;

  @Property({ type: 'text', nullable: true })
  lastDeclineCode?: string | null;

  /** Amount due when the campaign started (minor units) and its currency. */
  @Property({ type: moneyType() })
  amountDue!: number;

  @Property({ type: 'string', columnType: 'char(3)' })
  currency!: string;

  @Property({ type: 'datetime', nullable: true })
  pausedAt?: Date | null;

  /** Billing time the campaign ended (recovered, canceled, written off, closed). */
  @Property({ type: 'datetime', nullable: true })
  endedAt?: Date | null;

  @Property({ type: 'datetime' })
  createdAt!: Date;

  @Property({ type: 'datetime' })
  updatedAt!: Date;
}

/** One executed step: the witness that it ran, and when. */
@Entity({ schema: 'platform', tableName: 'dunning_step_run' })
export class DunningStepRun {
  @ManyToOne(() => DunningCampaign, { primary: true, deleteRule: 'cascade' })
  campaign!: DunningCampaign;

  @PrimaryKey({ type: 'integer' })
  step!: number;

  @Enum({ items: () => DunningAction, type: 'text' })
  action!: DunningAction;

  /** When the step fell due (billing time). */
  @Property({ type: 'datetime' })
  dueAt!: Date;

  @Property({ type: 'datetime' })
  ranAt!: Date;
}
