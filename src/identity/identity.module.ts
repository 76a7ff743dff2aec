import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { PassportModule } from '@nestjs/passport';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { AccountService } from './account.service';
import { ApiKeyController } from './api-key.controller';
import { ApiKeyService } from './api-key.service';
import { AuthController } from './auth.controller';
import { AuthService } from './auth.service';
import { AuthenticationGuard } from './authentication.guard';
import { LoginThrottle } from './login-throttle.service';
import { MailThrottle } from './mail-throttle.service';
import { ApiKeyStrategy } from './strategies/api-key.strategy';
import { JwtStrategy } from './strategies/jwt.strategy';
import { JWT_AUDIENCE, JWT_ISSUER, jwtKey, TokenService } from './token.service';
import { TwoFactorController } from './two-factor.controller';
import { TwoFactorGuard } from './two-factor.guard';
import { TwoFactorPolicyController } from './two-factor-policy.controller';
import { TwoFactorPolicyService } from './two-factor-policy.service';
import { TwoFactorService } from './two-factor.service';
import { TwoFactorThrottle } from './two-factor-throttle.service';

@Module({
  imports: [
    PassportModule.register({ session: false }),
    JwtModule.registerAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        secret: jwtKey(config.secrets.jwtSecret),
        signOptions: { algorithm: 'HS256', issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
        verifyOptions: { algorithms: ['HS256'], issuer: JWT_ISSUER, audience: JWT_AUDIENCE },
      }),
    }),
    TenancyModule,
    NotificationsModule,
  ],
  controllers: [AuthController, ApiKeyController, TwoFactorController, TwoFactorPolicyController],
  providers: [
    AccountService,
    AuthService,
    TokenService,
    LoginThrottle,
    MailThrottle,
    ApiKeyService,
    JwtStrategy,
    ApiKeyStrategy,
    AuthenticationGuard,
    TwoFactorService,
    TwoFactorThrottle,
    TwoFactorPolicyService,
    TwoFactorGuard,
  ],
  exports: [AuthenticationGuard, TwoFactorGuard, TokenService],
})
export class IdentityModule {}
