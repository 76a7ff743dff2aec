import { Entity, Enum, ManyToOne, Property } from '@mikro-orm/core';
import { Tenant } from '../entities/tenant.entity';

/** Things a tenant did that no other row records; each is written once, the first time. */
export enum TenantMilestoneKind {
  /** A signed-in member read the knowledge base while acting for the tenant. */
  KbVisit = 'kb_visit',
}

/**
 * The first time a tenant reached a milestone (one row per tenant and
 * milestone, never updated). Feeds the onboarding checklist
 * (`platform.tenant_onboarding`).
 */
@Entity({ schema: 'platform', tableName: 'tenant_milestone' })
export class TenantMilestone {
  @ManyToOne(() => Tenant, { primary: true, deleteRule: 'cascade', updateRule: 'cascade' })
  tenant!: Tenant;

  @Enum({ items: () => TenantMilestoneKind, type: 'text', primary: true })
  milestone!: TenantMilestoneKind;

  @Property({ type: 'datetime' })
  firstAt!: Date;
}
