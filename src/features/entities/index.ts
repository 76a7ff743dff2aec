import { BetaCohortMember } from './beta-cohort-member.entity';
import { BetaCohort } from './beta-cohort.entity';
import { FeatureFlagCohort } from './feature-flag-cohort.entity';
import { FeatureFlagOverride } from './feature-flag-override.entity';
import { FeatureFlag } from './feature-flag.entity';

export { BetaCohort, BetaCohortMember, FeatureFlag, FeatureFlagCohort, FeatureFlagOverride };

/** The module's entities, for the ORM's list (src/database/orm.config.ts). */
export const FEATURE_ENTITIES = [
  FeatureFlag,
  FeatureFlagOverride,
  BetaCohort,
  BetaCohortMember,
  FeatureFlagCohort,
];
