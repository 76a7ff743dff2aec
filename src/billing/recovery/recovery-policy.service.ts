import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Plan } from '../entities/plan.entity';
import { RecoveryPolicy } from '../entities/recovery-policy.entity';
import { DEFAULT_RECOVERY_RULES, RecoveryRules } from './recovery-policy';

/** Which recovery policy applies to a plan: its own, else the platform default. */
@Injectable()
export class RecoveryPolicyService {
  async forPlan(
    em: EntityManager,
    planId: string | null,
  ): Promise<{ policy: RecoveryPolicy | null; rules: RecoveryRules }> {
    const plan = planId
      ? await em.findOne(Plan, { id: planId }, { populate: ['recoveryPolicy'] })
      : null;
    const policy = plan?.recoveryPolicy ?? (await em.findOne(RecoveryPolicy, { isDefault: true }));
    // The default row is seeded by a migration; the constant only guards a hand-edited database.
    return { policy, rules: policy?.rules ?? DEFAULT_RECOVERY_RULES };
  }
}
