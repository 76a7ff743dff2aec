import { Body, Controller, Put } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can } from '../access/policies';
import { ApiProblems } from '../common/http/api-problem';
import { TenantDto } from '../tenancy/dtos/tenant.dto';
import { TenantScoped } from '../tenancy/tenant-scoped.decorator';
import { TwoFactorPolicyDto } from './dtos/two-factor.dto';
import { TwoFactorPolicyService } from './two-factor-policy.service';

@ApiTags('tenancy')
@TenantScoped()
@Controller('tenant/two-factor-policy')
export class TwoFactorPolicyController {
  constructor(private readonly policy: TwoFactorPolicyService) {}

  // `manage` on the tenant: owners (and platform admins), not admins.
  @Put()
  @Can('manage', 'Tenant')
  @ApiOperation({
    operationId: 'setTwoFactorPolicy',
    summary: 'Require two-factor authentication of every member, or stop requiring it (audited)',
  })
  @ApiOkResponse({ type: TenantDto })
  @ApiProblems(409)
  set(@Body() body: TwoFactorPolicyDto): Promise<TenantDto> {
    return this.policy.set(body.required);
  }
}
