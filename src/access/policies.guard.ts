import { CanActivate, ExecutionContext, Injectable, Optional } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ClsService } from 'nestjs-cls';
import { RequestStore } from '../common/request-store';
import { AbilityFactory } from './ability.factory';
import { AccessErrorCode, AccessException } from './access.exception';
import { EntitlementSource, FeatureFlagSource } from './entitlements';
import { CHECK_POLICIES, IS_PUBLIC, PolicyHandler } from './policies';

/**
 * Runs after authentication and tenant resolution: builds the request's
 * ability and checks the route's policies. A route with neither a policy nor
 * `@Public()` is refused (and a test fails on it).
 */
@Injectable()
export class PoliciesGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly abilities: AbilityFactory,
    private readonly cls: ClsService<RequestStore>,
    private readonly entitlements: EntitlementSource,
    // Optional: an application context without the features module has no flags to apply.
    @Optional() private readonly featureFlags?: FeatureFlagSource,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const handlers = this.reflector.getAllAndOverride<PolicyHandler[] | undefined>(
      CHECK_POLICIES,
      targets,
    );
    if (!handlers) {
      throw new AccessException(AccessErrorCode.Forbidden, 'This route declares no access policy.');
    }
    const tenant = this.cls.get('tenant');
    const entitlements = tenant ? await this.entitlements.forTenant(tenant.id) : undefined;
    // Both cached per tenant: no query on a warm request.
    const featureFlags =
      tenant && entitlements && this.featureFlags
        ? await this.featureFlags.forTenant(tenant.id, entitlements.planCode)
        : undefined;
    const ability = this.abilities.createFor({
      principal: this.cls.get('principal'),
      tenantAccess: this.cls.get('tenantAccess'),
      entitlements,
      featureFlags,
    });
    this.cls.set('ability', ability);
    if (!handlers.every((handler) => handler(ability))) {
      throw new AccessException(AccessErrorCode.Forbidden, 'Your role does not allow this.');
    }
    return true;
  }
}
