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
import { Can, OpenWhenSuspended } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { IdempotencyUnsupported } from '../../common/http/idempotency.interceptor';
import { TenantScoped } from '../../tenancy/tenant-scoped.decorator';
import { AddPaymentMethodDto, PaymentMethodDto, SetupIntentDto } from './dtos/payment-method.dto';
import { PaymentMethodService } from './payment-method.service';

@ApiTags('billing')
@TenantScoped()
@OpenWhenSuspended()
@Controller('billing/payment-methods')
export class PaymentMethodController {
  constructor(private readonly methods: PaymentMethodService) {}

  @Get()
  @Can('read', 'PaymentMethod')
  @ApiOperation({
    operationId: 'listPaymentMethods',
    summary: 'Saved cards (brand, last 4, expiry)',
  })
  @ApiOkResponse({ type: [PaymentMethodDto] })
  list(): Promise<PaymentMethodDto[]> {
    return this.methods.list();
  }

  @Post('setup-intent')
  @Can('create', 'PaymentMethod')
  @IdempotencyUnsupported(
    'The response carries a client secret, which is not stored; a repeated call simply starts another setup.',
  )
  @ApiOperation({
    operationId: 'createSetupIntent',
    summary: 'Start collecting a card in the browser (Stripe.js confirms it)',
  })
  @ApiCreatedResponse({ type: SetupIntentDto })
  @ApiProblems(503)
  setupIntent(): Promise<SetupIntentDto> {
    return this.methods.createSetupIntent();
  }

  @Post()
  @Can('create', 'PaymentMethod')
  @ApiOperation({
    operationId: 'addPaymentMethod',
    summary: 'Save a card collected by the gateway; the first one becomes the default',
  })
  @ApiCreatedResponse({ type: PaymentMethodDto })
  @ApiProblems(422, 503)
  add(@Body() body: AddPaymentMethodDto): Promise<PaymentMethodDto> {
    return this.methods.add(body);
  }

  @Post(':id/default')
  @HttpCode(200)
  @Can('update', 'PaymentMethod')
  @ApiOperation({ operationId: 'setDefaultPaymentMethod', summary: 'Charge this card from now on' })
  @ApiOkResponse({ type: PaymentMethodDto })
  @ApiProblems(404)
  makeDefault(@Param('id', new ParseUUIDPipe()) id: string): Promise<PaymentMethodDto> {
    return this.methods.makeDefault(id);
  }

  @Delete(':id')
  @HttpCode(204)
  @Can('delete', 'PaymentMethod')
  @ApiOperation({
    operationId: 'removePaymentMethod',
    summary: 'Remove a card (not the last one while a paid subscription renews with it)',
  })
  @ApiNoContentResponse()
  @ApiProblems(404, 409)
  remove(@Param('id', new ParseUUIDPipe()) id: string): Promise<void> {
    return this.methods.remove(id);
  }
}
