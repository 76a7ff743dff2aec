import { Check, Entity, Enum, Index, ManyToOne, PrimaryKey, Property } from '@mikro-orm/core';
import { Tenant } from '../tenancy/entities/tenant.entity';
import { FeedbackCategory, FeedbackKind } from './feedback-rules';

/**
 * One piece of product feedback: a member's rating (1–5) or NPS answer
 * (0–10), with an optional message. In the platform schema, not the tenant's:
 * its reader is the operator, across every tenant (ADR 0024).
 */
@Entity({ schema: 'platform', tableName: 'feedback' })
// The admin list's sort (newest first) and each of its equality filters, sorted the same way.
@Index({ name: 'feedback_created_idx', properties: ['createdAt', 'id'] })
@Index({ name: 'feedback_tenant_created_idx', properties: ['tenant', 'createdAt', 'id'] })
@Index({ name: 'feedback_kind_created_idx', properties: ['kind', 'createdAt', 'id'] })
@Index({ name: 'feedback_category_created_idx', properties: ['category', 'createdAt', 'id'] })
// ?q= (a substring of the message).
@Index({
  name: 'feedback_message_trgm_idx',
  expression:
    'create index "feedback_message_trgm_idx" on "platform"."feedback" using gin ("message" public.gin_trgm_ops)',
})
// Written as PostgreSQL prints it back, so the schema diff sees no change.
@Check({
  name: 'feedback_score_range_check',
  expression:
    "((kind = 'rating' and score >= 1 and score <= 5) or (kind = 'nps' and score >= 0 and score <= 10))",
})
export class Feedback {
  @PrimaryKey({ type: 'uuid' })
  id!: string;

  /** The organisation the member gave it in; its rows go when the tenant row goes. */
  @ManyToOne(() => Tenant, { deleteRule: 'cascade', mapToPk: true })
  tenant!: string;

  /** The member who gave it (always a person: API keys cannot). */
  @Property({ type: 'uuid' })
  userId!: string;

  @Enum({ items: () => FeedbackKind, type: 'text' })
  kind!: FeedbackKind;

  @Property({ type: 'smallint' })
  score!: number;

  @Enum({ items: () => FeedbackCategory, type: 'text' })
  category!: FeedbackCategory;

  @Property({ type: 'text', nullable: true })
  message?: string | null;

  /** Where it was given: page, app version, user agent and other flat keys (bounded). */
  @Property({ type: 'json' })
  context: Record<string, string | number | boolean | null> = {};

  @Property({ type: 'datetime' })
  createdAt!: Date;
}
