import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import { ApiNoContentResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ClsService } from 'nestjs-cls';
import { Authenticated, CurrentUser } from '../access/current-user';
import { OpenWhenSuspended } from '../access/policies';
import { ApiProblems } from '../common/http/api-problem';
import { IdempotencyUnsupported } from '../common/http/idempotency.interceptor';
import { UserPrincipal } from '../common/principal';
import { RequestStore } from '../common/request-store';
import {
  DisableTwoFactorDto,
  RecoveryCodesDto,
  TwoFactorCodeDto,
  TwoFactorSetupDto,
  TwoFactorSetupRequestDto,
  TwoFactorStatusDto,
} from './dtos/two-factor.dto';
import { TwoFactorService } from './two-factor.service';

/**
 * The signed-in user's own two-factor authentication. Not tenant-scoped, so
 * a member of an organisation that requires it can always reach these.
 */
@ApiTags('auth')
@OpenWhenSuspended()
@Controller('auth/2fa')
export class TwoFactorController {
  constructor(
    private readonly twoFactor: TwoFactorService,
    private readonly cls: ClsService<RequestStore>,
  ) {}

  @Get()
  @Authenticated()
  @ApiOperation({
    operationId: 'getTwoFactorStatus',
    summary: 'Whether two-factor authentication is on, and recovery codes left',
  })
  @ApiOkResponse({ type: TwoFactorStatusDto })
  status(@CurrentUser() user: UserPrincipal): Promise<TwoFactorStatusDto> {
    return this.twoFactor.status(user);
  }

  @Post('setup')
  @HttpCode(200)
  @Authenticated()
  @IdempotencyUnsupported()
  @ApiOperation({
    operationId: 'setupTwoFactor',
    summary:
      'Start two-factor authentication: a new TOTP secret (shown once), pending until confirmed',
  })
  @ApiOkResponse({ type: TwoFactorSetupDto })
  @ApiProblems(400, 409, 429)
  setup(
    @CurrentUser() user: UserPrincipal,
    @Body() body: TwoFactorSetupRequestDto,
  ): Promise<TwoFactorSetupDto> {
    return this.twoFactor.setup(user, body.password, this.ip());
  }

  @Post('confirm')
  @HttpCode(200)
  @Authenticated()
  @IdempotencyUnsupported()
  @ApiOperation({
    operationId: 'confirmTwoFactor',
    summary: 'Turn two-factor authentication on with a first code; returns recovery codes once',
  })
  @ApiOkResponse({ type: RecoveryCodesDto })
  @ApiProblems(400, 409, 429)
  confirm(
    @CurrentUser() user: UserPrincipal,
    @Body() body: TwoFactorCodeDto,
  ): Promise<RecoveryCodesDto> {
    return this.twoFactor.confirm(user, body.code, this.ip());
  }

  @Post('recovery-codes')
  @HttpCode(200)
  @Authenticated()
  @IdempotencyUnsupported()
  @ApiOperation({
    operationId: 'regenerateRecoveryCodes',
    summary: 'Replace the recovery codes (the old ones stop working); needs a current code',
  })
  @ApiOkResponse({ type: RecoveryCodesDto })
  @ApiProblems(400, 409, 429)
  regenerate(
    @CurrentUser() user: UserPrincipal,
    @Body() body: TwoFactorCodeDto,
  ): Promise<RecoveryCodesDto> {
    return this.twoFactor.regenerateRecoveryCodes(user, body.code, this.ip());
  }

  @Post('disable')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({
    operationId: 'disableTwoFactor',
    summary: 'Turn two-factor authentication off, with your password or a code',
  })
  @ApiNoContentResponse()
  @ApiProblems(400, 409, 429)
  disable(@CurrentUser() user: UserPrincipal, @Body() body: DisableTwoFactorDto): Promise<void> {
    return this.twoFactor.disable(user, body, this.ip());
  }

  private ip(): string {
    return this.cls.get('ip') ?? 'unknown';
  }
}
