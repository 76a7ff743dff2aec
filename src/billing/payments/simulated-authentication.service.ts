import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { TenantContext } from '../../tenancy/tenant-context';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { PaymentAttempt } from '../entities/payment-attempt.entity';
import { GatewayEventService } from '../webhooks/gateway-event.service';
import { PaymentGateway } from './payment-gateway';
import { SimulatedGateway } from './simulated.gateway';

@Injectable()
export class SimulatedAuthenticationService {
  constructor(
    private readonly tenantContext: TenantContext,
    private readonly gateway: PaymentGateway,
    private readonly events: GatewayEventService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async authenticate(
    paymentId: string,
    succeed: boolean,
  ): Promise<{ eventId: string; outcome: 'succeeded' | 'failed' }> {
    const gateway = this.gateway;
    const em: EntityManager = this.tenantContext.em;
    const attempt = await em.findOne(PaymentAttempt, {
      gatewayPaymentId: paymentId,
      tenantId: this.tenantContext.tenant.id,
    });
    if (
      !(gateway instanceof SimulatedGateway) ||
      this.config.env === 'production' ||
      !attempt ||
      !gateway.payment(paymentId)
    ) {
      // One answer for "not simulated" and "not yours": neither reveals anything.
      throw new BillingException(
        BillingErrorCode.InvoiceNotFound,
        'No simulated payment with this id awaits authentication.',
      );
    }
    const { payload, signature } = gateway.completeAuthentication(paymentId, succeed);
    const { id } = await this.events.receive(Buffer.from(payload), signature);
    // Applied now as well as by the job (idempotent), so the portal shows the result at once.
    await this.events.process(id);
    return { eventId: id, outcome: succeed ? 'succeeded' : 'failed' };
  }
}
