import { Controller, Headers, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiBody,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiTags,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../../access/policies';
import { ApiProblems } from '../../common/http/api-problem';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { GatewayEventService } from './gateway-event.service';

/** Routes whose body reaches the handler as raw bytes (signatures are computed over them). */
export const RAW_BODY_ROUTES: ReadonlySet<string> = new Set(['/webhooks/stripe']);

export class WebhookAckDto {
  @ApiProperty({ example: 'evt_1Nv…' })
  id!: string;

  @ApiProperty({ description: 'Already received before (the delivery changed nothing).' })
  duplicate!: boolean;
}

@ApiTags('webhooks')
@Controller('webhooks')
export class WebhookController {
  constructor(private readonly events: GatewayEventService) {}

  @Post('stripe')
  @HttpCode(200)
  @Public()
  @ApiOperation({
    operationId: 'receiveStripeWebhook',
    summary: 'Stripe events (signed); stored once by id, acknowledged at once, processed by a job',
  })
  @ApiHeader({ name: 'Stripe-Signature', required: true })
  @ApiBody({
    schema: { type: 'object', description: 'A Stripe event, verified over its raw bytes.' },
  })
  @ApiOkResponse({ type: WebhookAckDto })
  @ApiProblems(400)
  receive(
    @Req() request: FastifyRequest,
    @Headers('stripe-signature') signature: string | undefined,
  ): Promise<WebhookAckDto> {
    if (!Buffer.isBuffer(request.body)) {
      throw new BillingException(
        BillingErrorCode.WebhookSignatureInvalid,
        'Expected a JSON event body (Content-Type: application/json).',
      );
    }
    return this.events.receive(request.body, signature);
  }
}
