import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can } from '../../access/policies';
import { TenantScoped } from '../tenant-scoped.decorator';
import { OnboardingDto } from './dtos/onboarding.dto';
import { OnboardingService } from './onboarding.service';

@ApiTags('tenancy')
@TenantScoped()
@Controller('tenant/onboarding')
export class OnboardingController {
  constructor(private readonly onboarding: OnboardingService) {}

  @Get()
  @Can('read', 'Tenant')
  @ApiOperation({
    operationId: 'getTenantOnboarding',
    summary: "The organisation's onboarding checklist",
    description:
      'Six steps computed from what the organisation has really done (verified owner email, a ' +
      'subscription, a saved card, an invitation or second member, a ticket or a knowledge-base ' +
      'visit, an API key); a step once done stays done. Any member may read it. Definitions: ' +
      'docs/onboarding.md.',
  })
  @ApiOkResponse({ type: OnboardingDto })
  get(): Promise<OnboardingDto> {
    return this.onboarding.getCurrent();
  }
}
