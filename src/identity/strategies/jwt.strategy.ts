import { Injectable } from '@nestjs/common';
import { PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { PlatformRole } from '../../access/roles';
import { UserPrincipal } from '../../common/principal';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { AccessClaims, JWT_AUDIENCE, JWT_ISSUER } from '../token.service';

/** `Authorization: Bearer <access token>`; HS256 only, issuer and audience checked. */
@Injectable()
export class JwtStrategy extends PassportStrategy(Strategy, 'jwt') {
  constructor(@InjectConfig() config: AppConfig) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      secretOrKey: config.secrets.jwtSecret.reveal(),
      algorithms: ['HS256'],
      issuer: JWT_ISSUER,
      audience: JWT_AUDIENCE,
      ignoreExpiration: false,
    });
  }

  validate(claims: AccessClaims): UserPrincipal {
    return {
      kind: 'user',
      userId: claims.sub,
      sessionId: claims.sid,
      tokenTenantId: claims.tid ?? null,
      platformRole: (claims.prole as PlatformRole | undefined) ?? null,
    };
  }
}
