import { Body, Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import {
  AdminTenantDto,
  AdminTenantPageDto,
  ListTenantsQuery,
  SuspendTenantDto,
} from './admin-tenant.dto';
import { AdminTenantService } from './admin-tenant.service';

@ApiTags('admin')
@Controller('admin/tenants')
export class AdminTenantController {
  constructor(private readonly tenants: AdminTenantService) {}

  @Get()
  @Can('read', 'PlatformTenant')
  @ApiOperation({ operationId: 'adminListTenants', summary: 'All organisations (platform staff)' })
  @ApiOkResponse({ type: AdminTenantPageDto })
  list(@Query() query: ListTenantsQuery): Promise<AdminTenantPageDto> {
    return this.tenants.list(query);
  }

  @Get(':id')
  @Can('read', 'PlatformTenant')
  @ApiOperation({ operationId: 'adminGetTenant', summary: 'One organisation (platform staff)' })
  @ApiOkResponse({ type: AdminTenantDto })
  @ApiProblems(404)
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<AdminTenantDto> {
    return this.tenants.get(id);
  }

  @Post(':id/suspend')
  @HttpCode(200)
  @Can('update', 'PlatformTenant')
  @ApiOperation({
    operationId: 'adminSuspendTenant',
    summary: 'Suspend an organisation (platform admin; audited)',
  })
  @ApiOkResponse({ type: AdminTenantDto })
  @ApiProblems(404, 409)
  suspend(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: SuspendTenantDto,
  ): Promise<AdminTenantDto> {
    return this.tenants.suspend(id, body.reason);
  }

  @Post(':id/restore')
  @HttpCode(200)
  @Can('update', 'PlatformTenant')
  @ApiOperation({
    operationId: 'adminRestoreTenant',
    summary: 'Restore a suspended organisation (platform admin; audited)',
  })
  @ApiOkResponse({ type: AdminTenantDto })
  @ApiProblems(404, 409)
  restore(@Param('id', new ParseUUIDPipe()) id: string): Promise<AdminTenantDto> {
    return this.tenants.restore(id);
  }
}
