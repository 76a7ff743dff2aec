import { applyDecorators, SetMetadata } from '@nestjs/common';
import { ApiBearerAuth, ApiSecurity } from '@nestjs/swagger';
import { ApiProblems } from '../common/http/api-problem';
import type { Action, AppAbility, Subject } from './ability.factory';

export type PolicyHandler = (ability: AppAbility) => boolean;

export const CHECK_POLICIES = 'groundwork:check-policies';
export const IS_PUBLIC = 'groundwork:public';

/** The route needs an authenticated caller whose ability passes every handler. */
export function CheckPolicies(...handlers: PolicyHandler[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    SetMetadata(CHECK_POLICIES, handlers),
    ApiBearerAuth(),
    ApiSecurity('api-key'),
    ApiProblems(401, 403),
  );
}

/** Shorthand for the common policy: `@Can('read', 'Member')`. */
export const Can = (action: Action, subject: Subject) =>
  CheckPolicies((ability) => ability.can(action, subject));

/** The route is open to anonymous callers (credentials, if sent, are still checked). */
export const Public = (): MethodDecorator & ClassDecorator => SetMetadata(IS_PUBLIC, true);

export const OWN_CREDENTIALS = 'groundwork:own-credentials';

/**
 * A public route that checks its own credential in `Authorization` (the
 * metrics scraper's token): no user authentication runs, so that header is
 * never read as a user's access token, and the request has no principal.
 */
export const PublicWithOwnCredentials = (): MethodDecorator & ClassDecorator =>
  applyDecorators(Public(), SetMetadata(OWN_CREDENTIALS, true));

export const OPEN_WHEN_SUSPENDED = 'groundwork:open-when-suspended';

/**
 * The route stays writable for an organisation that payment recovery has
 * suspended (the billing portal, so it can pay; signing in and out).
 */
export const OpenWhenSuspended = (): MethodDecorator & ClassDecorator =>
  SetMetadata(OPEN_WHEN_SUSPENDED, true);
