import { Controller, Get, HttpCode, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Can, OpenWhenSuspended } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { PageQuery } from '../../common/http/pagination';
import { TenantScoped } from '../../tenancy/tenant-scoped.decorator';
import { InvoiceDto, InvoicePageDto, InvoicePaymentDto } from './dtos/invoice.dto';
import { InvoicePaymentService } from './invoice-payment.service';
import { InvoiceService } from './invoice.service';

@ApiTags('billing')
@TenantScoped()
@OpenWhenSuspended()
@Controller('billing/invoices')
export class InvoiceController {
  constructor(
    private readonly invoices: InvoiceService,
    private readonly payments: InvoicePaymentService,
  ) {}

  @Get()
  @Can('read', 'Invoice')
  @ApiOperation({ operationId: 'listInvoices', summary: 'Invoices, newest first' })
  @ApiOkResponse({ type: InvoicePageDto })
  list(@Query() query: PageQuery): Promise<InvoicePageDto> {
    return this.invoices.list(query);
  }

  @Get(':id')
  @Can('read', 'Invoice')
  @ApiOperation({ operationId: 'getInvoice', summary: 'One invoice with its lines' })
  @ApiOkResponse({ type: InvoiceDto })
  @ApiProblems(404)
  get(@Param('id', new ParseUUIDPipe()) id: string): Promise<InvoiceDto> {
    return this.invoices.get(id);
  }

  @Post(':id/pay')
  @HttpCode(200)
  @Can('update', 'Invoice')
  @ApiOperation({
    operationId: 'payInvoice',
    summary: 'Pay an open invoice now with the default card',
  })
  @ApiOkResponse({ type: InvoicePaymentDto })
  @ApiProblems(402, 404, 409, 503)
  pay(@Param('id', new ParseUUIDPipe()) id: string): Promise<InvoicePaymentDto> {
    return this.payments.payNow(id);
  }
}
