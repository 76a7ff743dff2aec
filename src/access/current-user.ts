import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { Principal, UserPrincipal } from '../common/principal';
import { AccessErrorCode, AccessException } from './access.exception';
import { CheckPolicies } from './policies';

/** Any signed-in caller (the route itself decides what they may do). */
export const Authenticated = () => CheckPolicies(() => true);

/** The signed-in user; API keys are refused (403), as these routes act for a person. */
export const CurrentUser = createParamDecorator(
  (_data: unknown, context: ExecutionContext): UserPrincipal => {
    const principal = context
      .switchToHttp()
      .getRequest<FastifyRequest & { user?: Principal }>().user;
    if (principal?.kind !== 'user') {
      throw new AccessException(
        AccessErrorCode.Forbidden,
        'This route is for signed-in users, not API keys.',
      );
    }
    return principal;
  },
);
