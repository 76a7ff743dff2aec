import type { IncomingMessage } from 'node:http';
import { DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR, APP_PIPE } from '@nestjs/core';
import { ClsModule, ClsService } from 'nestjs-cls';
import type { DestinationStream } from 'pino';
import { LoggerModule } from 'nestjs-pino';
import { ClockModule } from './common/clock';
import { ProblemFilter } from './common/errors/problem.filter';
import { createValidationPipe } from './common/http/validation';
import { IdempotencyInterceptor } from './common/http/idempotency.interceptor';
import { IdempotencyService } from './common/http/idempotency.service';
import { RequestStore } from './common/request-store';
import { AppConfig } from './config/app-config';
import { APP_CONFIG, ConfigModule } from './config/config.module';
import { DatabaseModule } from './database/database.module';
import { OrmOverrides } from './database/orm.config';
import { HealthModule } from './health/health.module';
import { loggerParams } from './observability/logging';
import { TenancyModule } from './tenancy/tenancy.module';
import { NotificationsModule } from './notifications/notifications.module';
import { AccessModule } from './access/access.module';
import { BillingGateGuard } from './access/billing-gate.guard';
import { PoliciesGuard } from './access/policies.guard';
import { RedisModule } from './common/redis';
import { rateLimitGuard } from './common/http/rate-limit.guard';
import { ApiRateLimiter } from './common/http/rate-limit.service';
import { AuthenticationGuard } from './identity/authentication.guard';
import { IdentityModule } from './identity/identity.module';
import { TwoFactorGuard } from './identity/two-factor.guard';
import { TenantGuard } from './tenancy/tenant.guard';
import { BillingModule } from './billing/billing.module';
import { SupportModule } from './support/support.module';
import { KnowledgeBaseModule } from './knowledge-base/knowledge-base.module';
import { FeedbackModule } from './feedback/feedback.module';
import { FeaturesModule } from './features/features.module';
import { JobsModule } from './common/jobs/job-queue';
import { MetricsModule } from './observability/metrics.module';

export interface AppModuleOptions {
  orm?: OrmOverrides;
  /** Where log lines go (default stdout); tests capture them. */
  logDestination?: DestinationStream;
}

@Module({})
export class AppModule {
  static forRoot(config: AppConfig, options: AppModuleOptions = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // First: every later middleware, guard and handler runs inside this context.
        ClsModule.forRoot({
          global: true,
          middleware: {
            mount: true,
            generateId: true,
            idGenerator: (req: IncomingMessage & { id?: string }) => req.id,
            setup: (cls: ClsService<RequestStore>, req: IncomingMessage) =>
              // Refined from Fastify's request.ip (trusted proxies) by the authentication guard.
              cls.set('ip', req.socket?.remoteAddress),
          },
        }),
        ConfigModule.forRoot(config),
        LoggerModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (c: AppConfig) => loggerParams(c, options.logDestination),
        }),
        ClockModule,
        DatabaseModule.forRoot(options.orm),
        RedisModule,
        JobsModule,
        MetricsModule,
        AccessModule,
        HealthModule,
        TenancyModule,
        NotificationsModule,
        IdentityModule,
        BillingModule,
        SupportModule,
        KnowledgeBaseModule,
        FeedbackModule,
        FeaturesModule,
      ],
      providers: [
        // The request pipeline, in this order: who is calling, for which
        // organisation (and with what role), whether its two-factor requirement
        // is met, and whether the route allows it.
        // Rate limits (ADR 0020), each counted as soon as its key is known.
        rateLimitGuard('ip'),
        { provide: APP_GUARD, useExisting: AuthenticationGuard },
        rateLimitGuard('user'),
        { provide: APP_GUARD, useExisting: TenantGuard },
        rateLimitGuard('tenant'),
        { provide: APP_GUARD, useExisting: TwoFactorGuard },
        { provide: APP_GUARD, useExisting: PoliciesGuard },
        { provide: APP_GUARD, useExisting: BillingGateGuard },
        { provide: APP_FILTER, useClass: ProblemFilter },
        { provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor },
        IdempotencyService,
        ApiRateLimiter,
        { provide: APP_PIPE, useFactory: createValidationPipe },
      ],
    };
  }
}
