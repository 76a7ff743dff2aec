import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuditEventController } from './audit/audit-event.controller';
import { AuditService } from './audit/audit.service';
import { TenantContext } from './tenant-context';
import { TenantController } from './tenant.controller';
import { TenantDirectory } from './tenant-directory.service';
import { TenantGuard } from './tenant.guard';
import { TenantMigrationService } from './tenant-migration.service';
import { TenantProvisioningService } from './tenant-provisioning.service';
import { TenantService } from './tenant.service';

@Module({
  controllers: [TenantController, AuditEventController],
  providers: [
    TenantContext,
    TenantDirectory,
    TenantService,
    TenantProvisioningService,
    TenantMigrationService,
    AuditService,
    { provide: APP_GUARD, useClass: TenantGuard },
  ],
  exports: [
    TenantContext,
    TenantDirectory,
    TenantProvisioningService,
    TenantMigrationService,
    AuditService,
  ],
})
export class TenancyModule {}
