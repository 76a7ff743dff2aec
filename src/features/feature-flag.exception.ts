import { DomainException } from '../common/errors/domain.exception';

export enum FeatureFlagErrorCode {
  /** The route needs a flag that is off for the organisation. */
  FeatureDisabled = 'feature_disabled',
  KeyInvalid = 'feature_flag_key_invalid',
  FlagNotFound = 'feature_flag_not_found',
  FlagKeyTaken = 'feature_flag_key_taken',
  FlagArchived = 'feature_flag_archived',
  OverrideNotFound = 'feature_flag_override_not_found',
  CohortRuleNotFound = 'feature_flag_cohort_rule_not_found',
  UnknownPlan = 'feature_flag_unknown_plan',
  CohortNotFound = 'beta_cohort_not_found',
  CohortKeyTaken = 'beta_cohort_key_taken',
  CohortMemberNotFound = 'beta_cohort_member_not_found',
}

export class FeatureFlagException extends DomainException<FeatureFlagErrorCode> {
  constructor(
    code: FeatureFlagErrorCode,
    detail: string,
    extensions?: Record<string, unknown>,
    cause?: unknown,
  ) {
    super(code, detail, extensions, cause);
  }

  get status(): number {
    switch (this.code) {
      case FeatureFlagErrorCode.KeyInvalid:
        return 400;
      case FeatureFlagErrorCode.FeatureDisabled:
        return 403;
      case FeatureFlagErrorCode.FlagNotFound:
      case FeatureFlagErrorCode.OverrideNotFound:
      case FeatureFlagErrorCode.CohortRuleNotFound:
      case FeatureFlagErrorCode.CohortNotFound:
      case FeatureFlagErrorCode.CohortMemberNotFound:
        return 404;
      case FeatureFlagErrorCode.FlagKeyTaken:
      case FeatureFlagErrorCode.FlagArchived:
      case FeatureFlagErrorCode.CohortKeyTaken:
        return 409;
      case FeatureFlagErrorCode.UnknownPlan:
        return 422;
    }
  }
}
