import { Global, Module } from '@nestjs/common';
import { AbilityFactory } from './ability.factory';
import { BillingGateGuard } from './billing-gate.guard';
import { PoliciesGuard } from './policies.guard';

@Global()
@Module({
  providers: [AbilityFactory, PoliciesGuard, BillingGateGuard],
  exports: [AbilityFactory, PoliciesGuard, BillingGateGuard],
})
export class AccessModule {}
