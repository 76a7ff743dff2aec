import { Module } from '@nestjs/common';
import { AuditEventController } from './audit/audit-event.controller';
import { AuditService } from './audit/audit.service';
import { TenantContext } from './tenant-context';
import { TenantController } from './tenant.controller';
import { TenantDirectory } from './tenant-directory.service';
import { TenantGuard } from './tenant.guard';
import { TenantMigrationService } from './tenant-migration.service';
import { TenantProvisioningService } from './tenant-provisioning.service';
import { TenantService } from './tenant.service';
import { MemberController } from './members/member.controller';
import { AdminTenantController } from './admin/admin-tenant.controller';
import { AdminTenantService } from './admin/admin-tenant.service';
import { InvitationController } from './invitations/invitation.controller';
import { InvitationService } from './invitations/invitation.service';
import { SeatLimit } from './invitations/seat-limit';
import { NotificationsModule } from '../notifications/notifications.module';
import { MemberService } from './members/member.service';
import { MembershipService } from './members/membership.service';
import { OnboardingController } from './onboarding/onboarding.controller';
import { OnboardingService } from './onboarding/onboarding.service';
import { TenantMilestoneService } from './onboarding/tenant-milestone.service';

@Module({
  imports: [NotificationsModule],
  controllers: [
    TenantController,
    AuditEventController,
    MemberController,
    AdminTenantController,
    InvitationController,
    OnboardingController,
  ],
  providers: [
    TenantContext,
    TenantDirectory,
    TenantService,
    TenantProvisioningService,
    TenantMigrationService,
    AuditService,
    TenantGuard,
    MembershipService,
    MemberService,
    AdminTenantService,
    InvitationService,
    SeatLimit,
    OnboardingService,
    TenantMilestoneService,
  ],
  exports: [
    TenantContext,
    TenantService,
    TenantDirectory,
    TenantProvisioningService,
    TenantMigrationService,
    AuditService,
    TenantGuard,
    MembershipService,
    InvitationService,
    TenantMilestoneService,
  ],
})
export class TenancyModule {}
