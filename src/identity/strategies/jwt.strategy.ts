import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { PlatformRole } from '../../access/roles';
import { UserPrincipal } from '../../common/principal';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { AccessClaims, JWT_AUDIENCE, JWT_ISSUER, jwtKey, TokenService } from '../token.service';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** `Authorization: Bearer <access token>`; HS256 only, issuer and audience checked. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(
    @InjectConfig() config: AppConfig,
    private readonly tokens: TokenService,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      // passport-jwt hands the key to jsonwebtoken untouched, which takes a
      // KeyObject (see jwtKey); its typings only know strings and buffers.
      secretOrKey: jwtKey(config.secrets.jwtSecret) as unknown as Buffer,
      algorithms: ['HS256'],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      ignoreExpiration: false,
    });
  }

  async validate(claims: AccessClaims): Promise<UserPrincipal | false> {
    // A signed, unexpired token of a session that has ended (logout, reset, reuse) is refused.
    if (
      typeof claims.sid !== 'string' ||
      !UUID.test(claims.sid) ||
      !(await this.tokens.sessionOpen(claims.sid))
    ) {
      return false;
    }
    return {
      kind: 'user',
      userId: claims.sub,
      sessionId: claims.sid,
      tokenTenantId: claims.tid ?? null,
      platformRole: (claims.prole as PlatformRole | undefined) ?? null,
    };
  }
}
