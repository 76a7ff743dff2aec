import { Injectable } from '@nestjs/common';
import { TenantContext } from '../../tenancy/tenant-context';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { EntitlementService } from '../catalog/entitlement.service';
import { InvoiceStatus } from '../entities/invoice.entity';
import { AttemptTrigger } from '../entities/payment-attempt.entity';
import { toBillingException } from '../payments/payment-errors';
import { PaymentService } from '../payments/payment.service';
import { InvoiceDto, InvoicePaymentDto } from './dtos/invoice.dto';
import { InvoiceService } from './invoice.service';

/** "Pay now" in the portal: one attempt on an open invoice of the current tenant. */
@Injectable()
export class InvoicePaymentService {
  constructor(
    private readonly tenantContext: TenantContext,
    private readonly invoices: InvoiceService,
    private readonly payments: PaymentService,
    private readonly entitlements: EntitlementService,
  ) {}

  async payNow(id: string): Promise<InvoicePaymentDto> {
    const invoice = await this.invoices.load(this.tenantContext.em, id);
    if (invoice.status !== InvoiceStatus.Open) {
      throw new BillingException(
        BillingErrorCode.InvoiceNotPayable,
        `The invoice is ${invoice.status}; only an open invoice can be paid.`,
        {
          invoiceStatus: invoice.status,
        },
      );
    }
    const outcome = await this.payments.collect(invoice.id, AttemptTrigger.PayNow);
    this.entitlements.invalidate(invoice.tenantId);
    const fresh = async () =>
      InvoiceDto.from(await this.invoices.load(this.tenantContext.em.fork(), id));
    switch (outcome.status) {
      case 'paid':
      case 'nothing_due':
        return {
          invoice: await fresh(),
          payment: { status: 'succeeded', paymentId: null, clientSecret: null },
        };
      case 'requires_action':
        return {
          invoice: await fresh(),
          payment: {
            status: 'requires_action',
            paymentId: outcome.paymentId,
            clientSecret: outcome.clientSecret,
          },
        };
      case 'unknown':
        return {
          invoice: await fresh(),
          payment: { status: 'pending', paymentId: null, clientSecret: null },
        };
      case 'failed':
        throw toBillingException(outcome.error, 'The payment');
      case 'no_payment_method':
        throw new BillingException(
          BillingErrorCode.PaymentMethodRequired,
          'Add a card first (POST /v1/billing/payment-methods).',
        );
      case 'in_progress':
      case 'not_due':
        throw new BillingException(
          BillingErrorCode.InvoiceNotPayable,
          'A payment of this invoice is already in progress; check again in a minute.',
        );
    }
  }
}
