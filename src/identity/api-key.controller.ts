import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Post,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Can } from '../access/policies';
import { CurrentUser } from '../access/current-user';
import { ApiProblems } from '../common/http/api-problem';
import { IdempotencyUnsupported } from '../common/http/idempotency.interceptor';
import { UserPrincipal } from '../common/principal';
import { TenantScoped } from '../tenancy/tenant-scoped.decorator';
import { ApiKeyService } from './api-key.service';
import { ApiKeyCreatedDto, ApiKeyDto, CreateApiKeyDto } from './dtos/api-key.dto';

@ApiTags('api-keys')
@TenantScoped()
@Controller('tenant/api-keys')
export class ApiKeyController {
  constructor(private readonly apiKeys: ApiKeyService) {}

  @Post()
  @Can('create', 'ApiKey')
  @IdempotencyUnsupported()
  @ApiOperation({
    operationId: 'createApiKey',
    summary: 'Create an API key (the key is shown only in this response)',
  })
  @ApiCreatedResponse({ type: ApiKeyCreatedDto })
  create(
    @CurrentUser() user: UserPrincipal,
    @Body() body: CreateApiKeyDto,
  ): Promise<ApiKeyCreatedDto> {
    return this.apiKeys.create(body, user.userId);
  }

  @Get()
  @Can('read', 'ApiKey')
  @ApiOperation({
    operationId: 'listApiKeys',
    summary: "The organisation's API keys (never their secrets)",
  })
  @ApiOkResponse({ type: [ApiKeyDto] })
  list(): Promise<ApiKeyDto[]> {
    return this.apiKeys.list();
  }

  @Delete(':id')
  @HttpCode(204)
  @Can('delete', 'ApiKey')
  @ApiOperation({ operationId: 'revokeApiKey', summary: 'Revoke an API key' })
  @ApiNoContentResponse()
  @ApiProblems(400)
  revoke(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    return this.apiKeys.revoke(id);
  }
}
