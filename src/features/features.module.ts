import { Global, Module } from '@nestjs/common';
import { FeatureFlagSource } from '../access/entitlements';
import { TenancyModule } from '../tenancy/tenancy.module';
import { BetaCohortAdminController } from './beta-cohort-admin.controller';
import { FeatureFlagAdminController } from './feature-flag-admin.controller';
import { FeatureFlagController } from './feature-flag.controller';
import { FeatureFlagResolver } from './feature-flag-resolver';
import { FeatureFlagService } from './feature-flag.service';
import { RequireFeatureGuard } from './require-feature.decorator';

/**
 * Feature flags, per-tenant overrides and beta cohorts (ADR 0023). Global,
 * like billing's entitlements: the policies guard of every module reads the
 * flags through `FeatureFlagSource`, and `@RequireFeature()` may sit on any
 * module's routes.
 */
@Global()
@Module({
  imports: [TenancyModule],
  controllers: [FeatureFlagController, FeatureFlagAdminController, BetaCohortAdminController],
  providers: [
    FeatureFlagResolver,
    FeatureFlagService,
    RequireFeatureGuard,
    { provide: FeatureFlagSource, useExisting: FeatureFlagResolver },
  ],
  exports: [FeatureFlagSource, FeatureFlagResolver, FeatureFlagService, RequireFeatureGuard],
})
export class FeaturesModule {}
