import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import { ClsService } from 'nestjs-cls';
import { IS_PUBLIC, OWN_CREDENTIALS } from '../access/policies';
import { Principal } from '../common/principal';
import { RequestStore } from '../common/request-store';
import { IdentityErrorCode, IdentityException } from './identity.exception';

/**
 * First guard of every request: authenticates the bearer token or API key
 * (passport) and puts the principal in the request context. Public routes
 * accept anonymous callers, but credentials that are sent must be valid.
 */
@Injectable()
export class AuthenticationGuard extends AuthGuard(['jwt', 'api-key']) {
  constructor(
    private readonly reflector: Reflector,
    private readonly cls: ClsService<RequestStore>,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: Principal }>();
    // The client address as Fastify sees it (X-Forwarded-For from trusted proxies only).
    this.cls.set('ip', request.ip);
    const targets = [context.getHandler(), context.getClass()];
    // Its Authorization header carries another credential, which the route checks itself.
    if (this.reflector.getAllAndOverride<boolean>(OWN_CREDENTIALS, targets)) return true;
    const hasCredentials =
      !!request.headers.authorization || request.headers['x-api-key'] !== undefined;
    if (!hasCredentials) {
      if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
      const error = new IdentityException(
        IdentityErrorCode.Unauthenticated,
        'Sign in first: send `Authorization: Bearer <access token>` or `X-Api-Key`.',
      );
      error.headers['www-authenticate'] = 'Bearer realm="groundwork"';
      throw error;
    }
    await super.canActivate(context);
    this.cls.set('principal', request.user);
    return true;
  }

  override handleRequest<T = Principal>(error: unknown, principal: T | false, info: unknown): T {
    if (principal && !error) return principal;
    const infos = (Array.isArray(info) ? info : [info]) as ({ name?: string } | undefined)[];
    const expired = infos.some((i) => i?.name === 'TokenExpiredError');
    const failure = expired
      ? new IdentityException(
          IdentityErrorCode.TokenExpired,
          'The access token has expired; refresh it.',
        )
      : new IdentityException(
          IdentityErrorCode.InvalidToken,
          'The access token or API key is not valid.',
        );
    failure.headers['www-authenticate'] = 'Bearer realm="groundwork", error="invalid_token"';
    throw failure;
  }
}
