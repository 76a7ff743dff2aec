import { Global, Module } from '@nestjs/common';
import { EntitlementSource } from '../access/entitlements';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { NotificationsModule } from '../notifications/notifications.module';
import { TenancyModule } from '../tenancy/tenancy.module';
import { AdminPlanController } from './catalog/admin-plan.controller';
import { AdminPlanService } from './catalog/admin-plan.service';
import { CatalogService } from './catalog/catalog.service';
import { EntitlementService } from './catalog/entitlement.service';
import { PricingController } from './catalog/pricing.controller';
import { PricingService } from './catalog/pricing.service';
import { AdminBillingController } from './admin/admin-billing.controller';
import { AdminBillingService } from './admin/admin-billing.service';
import { BillingClock } from './billing-clock';
import { BillingCustomerService } from './customers/billing-customer.service';
import { PaymentMethodController } from './customers/payment-method.controller';
import { PaymentMethodService } from './customers/payment-method.service';
import { InvoicePaymentService } from './invoices/invoice-payment.service';
import { InvoiceController } from './invoices/invoice.controller';
import { InvoiceService } from './invoices/invoice.service';
import { PaymentService } from './payments/payment.service';
import { SimulatedAuthenticationService } from './payments/simulated-authentication.service';
import { SimulatedPaymentController } from './payments/simulated-payment.controller';
import { AdminRecoveryController } from './recovery/admin-recovery.controller';
import { AdminRecoveryService } from './recovery/admin-recovery.service';
import { DunningService } from './recovery/dunning.service';
import { RecoveryMailer } from './recovery/recovery-mailer';
import { RecoveryMetrics } from './recovery/recovery-metrics';
import { RecoveryPolicyService } from './recovery/recovery-policy.service';
import { RecoveryService } from './recovery/recovery.service';
import { BillingRunService } from './subscriptions/billing-run.service';
import { SubscriptionController } from './subscriptions/subscription.controller';
import { SubscriptionService } from './subscriptions/subscription.service';
import { GatewayEventService } from './webhooks/gateway-event.service';
import { WebhookController } from './webhooks/webhook.controller';
import { WebhookMetrics } from './webhooks/webhook-metrics';
import { PaymentGateway } from './payments/payment-gateway';
import { SimulatedGateway } from './payments/simulated.gateway';
import { StripeGateway, stripeGatewayOptions } from './payments/stripe.gateway';

/** `stripe` when a key is configured, else the offline simulation. */
export function createPaymentGateway(config: AppConfig): PaymentGateway {
  return config.billing.gateway === 'stripe'
    ? new StripeGateway(stripeGatewayOptions(config))
    : new SimulatedGateway(config.billing.webhookSecret.reveal());
}

/**
 * Billing: the catalog and pricing page, the gateway port, subscriptions,
 * invoices, webhooks. Global only for the entitlement port, which access and
 * tenancy read without depending on billing.
 */
@Global()
@Module({
  imports: [TenancyModule, NotificationsModule],
  controllers: [
    PricingController,
    AdminPlanController,
    SubscriptionController,
    PaymentMethodController,
    InvoiceController,
    SimulatedPaymentController,
    WebhookController,
    AdminBillingController,
    AdminRecoveryController,
  ],
  providers: [
    CatalogService,
    EntitlementService,
    PricingService,
    AdminPlanService,
    BillingClock,
    BillingCustomerService,
    PaymentMethodService,
    InvoiceService,
    InvoicePaymentService,
    PaymentService,
    SubscriptionService,
    BillingRunService,
    GatewayEventService,
    WebhookMetrics,
    SimulatedAuthenticationService,
    AdminBillingService,
    RecoveryPolicyService,
    RecoveryMailer,
    RecoveryMetrics,
    DunningService,
    RecoveryService,
    AdminRecoveryService,
    { provide: EntitlementSource, useExisting: EntitlementService },
    { provide: PaymentGateway, inject: [APP_CONFIG], useFactory: createPaymentGateway },
  ],
  exports: [EntitlementSource, CatalogService, PaymentGateway],
})
export class BillingModule {}
