import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsBoolean } from 'class-validator';
import { Can, OpenWhenSuspended } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { TenantScoped } from '../../tenancy/tenant-scoped.decorator';
import { SimulatedAuthenticationService } from './simulated-authentication.service';

export class SimulateAuthenticationDto {
  @ApiProperty({
    description: 'true: the customer passes 3-D Secure; false: they fail or abandon it.',
  })
  @IsBoolean()
  succeed!: boolean;
}

export class SimulatedAuthenticationResultDto {
  @ApiProperty({ description: 'The webhook event the simulation delivered.' })
  eventId!: string;

  @ApiProperty({ enum: ['succeeded', 'failed'] })
  outcome!: 'succeeded' | 'failed';
}

/**
 * With the simulated gateway only (never in production): what the customer's
 * browser does with Stripe.js when a payment needs 3-D Secure. The outcome
 * arrives as a signed webhook, exactly as Stripe would send it.
 */
@ApiTags('billing')
@TenantScoped()
@OpenWhenSuspended()
@Controller('billing/simulated/payments')
export class SimulatedPaymentController {
  constructor(private readonly simulation: SimulatedAuthenticationService) {}

  @Post(':paymentId/authenticate')
  @HttpCode(200)
  @Can('update', 'Invoice')
  @ApiOperation({
    operationId: 'simulatePaymentAuthentication',
    summary: 'Complete (or fail) 3-D Secure for a payment (simulated gateway, outside production)',
  })
  @ApiOkResponse({ type: SimulatedAuthenticationResultDto })
  @ApiProblems(404)
  authenticate(
    @Param('paymentId') paymentId: string,
    @Body() body: SimulateAuthenticationDto,
  ): Promise<SimulatedAuthenticationResultDto> {
    return this.simulation.authenticate(paymentId, body.succeed);
  }
}
