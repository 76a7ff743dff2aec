import { Body, Controller, Get, Patch } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can } from '../access/policies';
import { ApiProblems } from '../common/http/api-problem';
import { TenantDto, UpdateTenantDto } from './dtos/tenant.dto';
import { TenantScoped } from './tenant-scoped.decorator';
import { TenantService } from './tenant.service';

@ApiTags('tenancy')
@TenantScoped()
@Controller('tenant')
export class TenantController {
  constructor(private readonly tenants: TenantService) {}

  @Get()
  @Can('read', 'Tenant')
  @ApiOperation({ operationId: 'getTenant', summary: 'The current organisation' })
  @ApiOkResponse({ type: TenantDto })
  get(): Promise<TenantDto> {
    return this.tenants.getCurrent();
  }

  @Patch()
  @Can('update', 'Tenant')
  @ApiOperation({
    operationId: 'updateTenant',
    summary: 'Change the current organisation (audited)',
  })
  @ApiOkResponse({ type: TenantDto })
  @ApiProblems(415, 413)
  update(@Body() body: UpdateTenantDto): Promise<TenantDto> {
    return this.tenants.updateCurrent(body);
  }
}
