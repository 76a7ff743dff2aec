import {
  applyDecorators,
  CanActivate,
  ExecutionContext,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ClsService } from 'nestjs-cls';
import { ApiProblems } from '../common/http/api-problem';
import { RequestStore } from '../common/request-store';
import { TenancyErrorCode, TenancyException } from '../tenancy/tenancy.exception';
import { FeatureFlagErrorCode, FeatureFlagException } from './feature-flag.exception';
import { FeatureFlagResolver } from './feature-flag-resolver';

export const REQUIRED_FEATURES = 'groundwork:required-features';

/**
 * Runs after the pipeline's guards (the tenant is resolved, the policy
 * passed): refuses with 403 `feature_disabled`, naming the flag, when one of
 * the route's flags is off for the request's organisation. Unknown and
 * archived flags are off.
 */
@Injectable()
export class RequireFeatureGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly cls: ClsService<RequestStore>,
    private readonly flags: FeatureFlagResolver,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const keys = this.reflector.getAllAndMerge<string[]>(REQUIRED_FEATURES, [
      context.getClass(),
      context.getHandler(),
    ]);
    if (keys.length === 0) return true;
    const tenant = this.cls.get('tenant');
    // A flag is a tenant's: a route that needs one must be tenant-scoped. Fails closed.
    if (!tenant) {
      throw new TenancyException(
        TenancyErrorCode.TenantRequired,
        'This route needs an organisation: send X-Tenant-Id or use a token or key of one.',
      );
    }
    const resolved = await this.flags.resolve(tenant.id);
    const on = new Set(resolved.filter((flag) => flag.enabled).map((flag) => flag.key));
    const off = keys.find((key) => !on.has(key));
    if (off !== undefined) {
      throw new FeatureFlagException(
        FeatureFlagErrorCode.FeatureDisabled,
        `The feature "${off}" is not enabled for this organisation.`,
        { feature: off },
      );
    }
    return true;
  }
}

/**
 * The route is available only while the feature flag `key` is on for the
 * request's organisation (put it on a `@TenantScoped()` route, beside its
 * policy). Several keys: all must be on; keys on the controller and on the
 * route add up.
 */
export function RequireFeature(...keys: [string, ...string[]]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(REQUIRED_FEATURES, keys),
    UseGuards(RequireFeatureGuard),
    ApiProblems(403),
  );
}
