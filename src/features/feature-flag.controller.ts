import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can } from '../access/policies';
import { TenantScoped } from '../tenancy/tenant-scoped.decorator';
import { TenantFeatureListDto } from './dtos/feature-flag.dto';
import { FeatureFlagService } from './feature-flag.service';

@ApiTags('tenancy')
@TenantScoped()
@Controller('tenant/features')
export class FeatureFlagController {
  constructor(private readonly flags: FeatureFlagService) {}

  @Get()
  @Can('read', 'Tenant')
  @ApiOperation({
    operationId: 'listTenantFeatures',
    summary: "The current organisation's feature flags (any member)",
    description:
      'Every live flag, on or off, and what decided it: the organisation’s own override, ' +
      'then its beta cohorts (off wins among them), then its current plan, then the flag’s default.',
  })
  @ApiOkResponse({ type: TenantFeatureListDto })
  list(): Promise<TenantFeatureListDto> {
    return this.flags.forCurrentTenant();
  }
}
