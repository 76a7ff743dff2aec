import { Body, Controller, Get, HttpCode, Post } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiExtraModels,
  ApiOperation,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import { ClsService } from 'nestjs-cls';
import { Authenticated, CurrentUser } from '../access/current-user';
import { OpenWhenSuspended, Public } from '../access/policies';
import { ApiProblems } from '../common/http/api-problem';
import { IdempotencyUnsupported } from '../common/http/idempotency.interceptor';
import { UserPrincipal } from '../common/principal';
import { RequestStore } from '../common/request-store';
import { AuthService } from './auth.service';
import { AccountService } from './account.service';
import {
  AcceptInvitationDto,
  ForgotPasswordDto,
  ResetPasswordDto,
  TokenDto,
  LoginDto,
  LogoutDto,
  MeDto,
  RefreshDto,
  SignupDto,
  SwitchTenantDto,
  TokensDto,
} from './dtos/auth.dto';
import { LoginSecondFactorDto, SecondFactorChallengeDto } from './dtos/two-factor.dto';

@ApiTags('auth')
@ApiExtraModels(TokensDto, SecondFactorChallengeDto)
@OpenWhenSuspended()
@Controller('auth')
export class AuthController {
  constructor(
    private readonly auth: AuthService,
    private readonly accounts: AccountService,
    private readonly cls: ClsService<RequestStore>,
  ) {}

  @Post('signup')
  @Public()
  @ApiOperation({ operationId: 'signup', summary: 'Create an account and an organisation you own' })
  @ApiCreatedResponse({ type: TokensDto })
  @ApiProblems(400, 409, 422)
  signup(@Body() body: SignupDto): Promise<TokensDto> {
    return this.auth.signup(body);
  }

  @Post('login')
  @HttpCode(200)
  @Public()
  @ApiOperation({
    operationId: 'login',
    summary:
      'Sign in with email and password: the tokens, or with two-factor authentication on, a challenge for POST /v1/auth/login/2fa',
  })
  @ApiOkResponse({
    schema: {
      oneOf: [
        { $ref: getSchemaPath(TokensDto) },
        { $ref: getSchemaPath(SecondFactorChallengeDto) },
      ],
    },
  })
  @ApiProblems(400, 401, 429)
  login(@Body() body: LoginDto): Promise<TokensDto | SecondFactorChallengeDto> {
    return this.auth.login(body, this.cls.get('ip') ?? 'unknown');
  }

  @Post('login/2fa')
  @HttpCode(200)
  @Public()
  @ApiOperation({
    operationId: 'loginSecondFactor',
    summary: 'Finish a two-factor sign-in: the challenge and a code (or a recovery code)',
  })
  @ApiOkResponse({ type: TokensDto })
  @ApiProblems(400, 401, 429)
  loginSecondFactor(@Body() body: LoginSecondFactorDto): Promise<TokensDto> {
    return this.auth.completeLogin(body, this.cls.get('ip') ?? 'unknown');
  }

  @Post('invitations/accept')
  @HttpCode(200)
  @Public()
  @ApiOperation({
    operationId: 'acceptInvitation',
    summary:
      'Join an organisation: signed in as the invited address, or as a new account (name and password)',
  })
  @ApiOkResponse({ type: TokensDto })
  @ApiProblems(400, 401, 403, 410, 422)
  acceptInvitation(@Body() body: AcceptInvitationDto): Promise<TokensDto> {
    return this.auth.acceptInvitation(body, this.cls.get('principal'));
  }

  @Post('refresh')
  @HttpCode(200)
  @Public()
  @ApiOperation({
    operationId: 'refreshTokens',
    summary: 'Exchange a refresh token for a new pair (rotation)',
  })
  @ApiOkResponse({ type: TokensDto })
  @ApiProblems(400, 401)
  refresh(@Body() body: RefreshDto): Promise<TokensDto> {
    return this.auth.refresh(body.refreshToken);
  }

  @Post('logout')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({ operationId: 'logout', summary: 'End the session' })
  @ApiNoContentResponse()
  @ApiProblems(400)
  logout(@CurrentUser() user: UserPrincipal, @Body() body: LogoutDto): Promise<void> {
    return this.auth.logout(user, body.refreshToken);
  }

  @Post('switch-tenant')
  @HttpCode(200)
  @Authenticated()
  @IdempotencyUnsupported(
    'its response holds a new refresh token, which is only ever stored hashed.',
  )
  @ApiOperation({
    operationId: 'switchTenant',
    summary: 'Act for another organisation you belong to',
  })
  @ApiOkResponse({ type: TokensDto })
  @ApiProblems(400)
  switchTenant(
    @CurrentUser() user: UserPrincipal,
    @Body() body: SwitchTenantDto,
  ): Promise<TokensDto> {
    return this.auth.switchTenant(user, body.tenant);
  }

  @Post('verify-email/request')
  @HttpCode(204)
  @Authenticated()
  @ApiOperation({
    operationId: 'requestEmailVerification',
    summary: 'Send (again) the email that confirms your address',
  })
  @ApiNoContentResponse()
  requestVerification(@CurrentUser() user: UserPrincipal): Promise<void> {
    return this.accounts.requestVerification(user);
  }

  @Post('verify-email')
  @HttpCode(204)
  @Public()
  @ApiOperation({
    operationId: 'verifyEmail',
    summary: 'Confirm an email address with the token from the email',
  })
  @ApiNoContentResponse()
  @ApiProblems(400, 401)
  verifyEmail(@Body() body: TokenDto): Promise<void> {
    return this.accounts.verifyEmail(body.token);
  }

  @Post('password/forgot')
  @HttpCode(202)
  @Public()
  @ApiOperation({
    operationId: 'forgotPassword',
    summary: 'Email a password-reset link (same answer whether or not the address has an account)',
  })
  @ApiAcceptedResponse()
  @ApiProblems(400)
  forgotPassword(@Body() body: ForgotPasswordDto): Promise<void> {
    return this.accounts.forgotPassword(body.email);
  }

  @Post('password/reset')
  @HttpCode(204)
  @Public()
  @ApiOperation({
    operationId: 'resetPassword',
    summary: 'Set a new password with the token from the email; ends every session',
  })
  @ApiNoContentResponse()
  @ApiProblems(400, 401, 422)
  resetPassword(@Body() body: ResetPasswordDto): Promise<void> {
    return this.accounts.resetPassword(body.token, body.password);
  }

  @Get('me')
  @Authenticated()
  @ApiOperation({ operationId: 'getMe', summary: 'The signed-in user and their organisations' })
  @ApiOkResponse({ type: MeDto })
  me(@CurrentUser() user: UserPrincipal): Promise<MeDto> {
    return this.auth.me(user);
  }
}
