import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { PlatformRole } from '../../access/roles';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';

/**
 * Round-robin routing of new tickets (`SUPPORT_AUTO_ASSIGN=round_robin`): the
 * platform support user whose newest assigned ticket is oldest gets the next
 * one (those with none first, then by id). Picks are serialised by a
 * transaction-scoped advisory lock, so concurrent creations wait for each
 * other's queue row and never hand two tickets to the same agent out of turn.
 */
@Injectable()
export class SupportAutoAssignService {
  constructor(@InjectConfig() private readonly config: AppConfig) {}

  get enabled(): boolean {
    return this.config.support.autoAssign === 'round_robin';
  }

  /** The next agent, in the caller's transaction (which holds the turn until it commits); null when off or nobody is staffed. */
  async next(em: EntityManager): Promise<string | null> {
    if (!this.enabled) return null;
    await em.execute(`select pg_advisory_xact_lock(hashtext('groundwork.support_auto_assign'))`);
    const [row] = await em.execute<{ id: string }[]>(
      `select u.id from platform.user_account u
         left join lateral (
           select max(q.created_at) as last from platform.support_queue q where q.assignee_id = u.id
         ) turn on true
        where u.platform_role = ?
        order by turn.last asc nulls first, u.id asc
        limit 1`,
      [PlatformRole.Support],
    );
    return row?.id ?? null;
  }
}
