import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { ClsService } from 'nestjs-cls';
import { RequestStore } from '../common/request-store';
import { AbilityFactory } from './ability.factory';
import { AccessErrorCode, AccessException } from './access.exception';
import { EntitlementSource } from './entitlements';
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
    const ability = this.abilities.createFor({
      principal: this.cls.get('principal'),
      tenantAccess: this.cls.get('tenantAccess'),
      entitlements: tenant ? await this.entitlements.forTenant(tenant.id) : undefined,
    });
    this.cls.set('ability', ability);
    if (!handlers.every((handler) => handler(ability))) {
      throw new AccessException(AccessErrorCode.Forbidden, 'Your role does not allow this.');
    }
    return true;
  }
}
