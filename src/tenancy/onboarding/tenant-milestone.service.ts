import { Injectable, Logger } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { TtlCache } from '../../common/ttl-cache';
import { TenantStatus } from '../entities/tenant.entity';
import { MembershipService } from '../members/membership.service';
import { TenantDirectory } from '../tenant-directory.service';
import { TenantMilestoneKind } from './tenant-milestone.entity';

/**
 * A milestone is reached once and never unreached, so a process that has seen
 * one keeps the fact for long; the bound only caps memory. After a restart
 * (or on another replica) the first sighting costs one no-op insert.
 */
const REMEMBER_MS = 24 * 60 * 60 * 1000;
const MAX_REMEMBERED = 50_000;

/**
 * Records the first time a tenant reaches a milestone that no other row
 * shows (a knowledge-base visit), for the onboarding checklist. Called on
 * hot read paths: after the first time, a call is a map lookup.
 */
@Injectable()
export class TenantMilestoneService {
  private readonly logger = new Logger(TenantMilestoneService.name);
  private readonly recorded = new TtlCache<string, true>(REMEMBER_MS, MAX_REMEMBERED);

  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly memberships: MembershipService,
    private readonly directory: TenantDirectory,
  ) {}

  /**
   * A signed-in user read the knowledge base while acting for `tenantId`;
   * counted only if they are a member of that (live) organisation. Never
   * throws: a lost milestone must not fail the read that reached it.
   */
  async memberVisitedKb(tenantId: string, userId: string): Promise<void> {
    const milestone = TenantMilestoneKind.KbVisit;
    const key = `${tenantId}:${milestone}`;
    if (this.recorded.get(key, this.clock.now().getTime())) return;
    try {
      const tenant = await this.directory.find(tenantId);
      if (!tenant || tenant.status === TenantStatus.Deleted) return;
      if (!(await this.memberships.roleOf(tenant.id, userId))) return;
      // Remembered before the insert, so concurrent first reads do not all write.
      this.recorded.set(key, true, this.clock.now().getTime());
      await this.em.fork().execute(
        `insert into platform.tenant_milestone (tenant_id, milestone, first_at)
           values (?, ?, ?) on conflict (tenant_id, milestone) do nothing`,
        [tenant.id, milestone, this.clock.now()],
      );
    } catch (error) {
      this.recorded.delete(key);
      this.logger.warn({ err: error, tenantId, milestone }, 'Could not record a tenant milestone.');
    }
  }
}
