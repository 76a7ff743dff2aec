import { Controller, Get, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { AuditEventPageDto, ListAuditEventsQuery } from '../dtos/audit-event.dto';
import { Can } from '../../access/policies';
import { TenantScoped } from '../tenant-scoped.decorator';
import { AuditService } from './audit.service';

@ApiTags('tenancy')
@TenantScoped()
@Controller('tenant/audit-log')
export class AuditEventController {
  constructor(private readonly audit: AuditService) {}

  @Get()
  @Can('read', 'AuditLog')
  @ApiOperation({
    operationId: 'listAuditEvents',
    summary: "The organisation's audit log, newest first",
  })
  @ApiOkResponse({ type: AuditEventPageDto })
  list(@Query() query: ListAuditEventsQuery): Promise<AuditEventPageDto> {
    return this.audit.list(query);
  }
}
