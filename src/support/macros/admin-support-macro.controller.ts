import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  ParseUUIDPipe,
  Patch,
  Post,
} from '@nestjs/common';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { Can } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import {
  CreateSupportMacroDto,
  SupportMacroDto,
  UpdateSupportMacroDto,
} from './dtos/support-macro.dto';
import { SupportMacroService } from './support-macro.service';

@ApiTags('admin')
@Controller('admin/support/macros')
export class AdminSupportMacroController {
  constructor(private readonly macros: SupportMacroService) {}

  @Get()
  @Can('read', 'SupportMacro')
  @ApiOperation({
    operationId: 'adminListSupportMacros',
    summary: 'Canned responses, by name (platform staff)',
  })
  @ApiOkResponse({ type: [SupportMacroDto] })
  list(): Promise<SupportMacroDto[]> {
    return this.macros.list();
  }

  @Get(':id')
  @Can('read', 'SupportMacro')
  @ApiOperation({ operationId: 'adminGetSupportMacro', summary: 'One canned response' })
  @ApiOkResponse({ type: SupportMacroDto })
  @ApiProblems(404)
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<SupportMacroDto> {
    return this.macros.get(id);
  }

  @Post()
  @Can('create', 'SupportMacro')
  @ApiOperation({
    operationId: 'adminCreateSupportMacro',
    summary: 'Add a canned response (platform admins; audited)',
  })
  @ApiCreatedResponse({ type: SupportMacroDto })
  @ApiProblems(400, 409)
  create(@Body() body: CreateSupportMacroDto): Promise<SupportMacroDto> {
    return this.macros.create(body);
  }

  @Patch(':id')
  @Can('update', 'SupportMacro')
  @ApiOperation({
    operationId: 'adminUpdateSupportMacro',
    summary: 'Change a canned response (platform admins; audited)',
  })
  @ApiOkResponse({ type: SupportMacroDto })
  @ApiProblems(400, 404, 409)
  update(
    @Param('id', new ParseUUIDPipe()) id: string,
    @Body() body: UpdateSupportMacroDto,
  ): Promise<SupportMacroDto> {
    return this.macros.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  @Can('delete', 'SupportMacro')
  @ApiOperation({
    operationId: 'adminDeleteSupportMacro',
    summary: 'Remove a canned response (platform admins; audited)',
  })
  @ApiNoContentResponse()
  @ApiProblems(404)
  remove(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    return this.macros.remove(id);
  }
}
