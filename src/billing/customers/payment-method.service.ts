import { Injectable, Logger } from '@nestjs/common';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { AuditService } from '../../tenancy/audit/audit.service';
import { TenantContext } from '../../tenancy/tenant-context';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { BillingCustomer } from '../entities/billing-customer.entity';
import { PaymentMethod } from '../entities/payment-method.entity';
import { LIVE_STATUSES, Subscription } from '../entities/subscription.entity';
import { viaGateway } from '../payments/payment-errors';
import { CardDetails, PaymentGateway } from '../payments/payment-gateway';
import { RecoveryService } from '../recovery/recovery.service';
import { BillingCustomerService } from './billing-customer.service';
import { AddPaymentMethodDto, PaymentMethodDto, SetupIntentDto } from './dtos/payment-method.dto';

/**
 * The current tenant's saved cards. The gateway holds the card; we keep what
 * the portal shows (brand, last 4, expiry) and which one is the default.
 */
@Injectable()
export class PaymentMethodService {
  private readonly logger = new Logger(PaymentMethodService.name);

  constructor(
    private readonly tenantContext: TenantContext,
    private readonly customers: BillingCustomerService,
    private readonly gateway: PaymentGateway,
    private readonly audit: AuditService,
    private readonly clock: Clock,
    private readonly recovery: RecoveryService,
  ) {}

  async list(): Promise<PaymentMethodDto[]> {
    const em = this.tenantContext.em;
    const tenantId = this.tenantContext.tenant.id;
    const [customer, rows] = await Promise.all([
      this.customers.find(em, tenantId),
      em.find(
        PaymentMethod,
        { tenantId, detachedAt: null },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      ),
    ]);
    return rows.map((row) => PaymentMethodDto.from(row, customer?.defaultPaymentMethodId));
  }

  async createSetupIntent(): Promise<SetupIntentDto> {
    const customer = await this.customers.ensure(this.tenantContext.tenant.id);
    const intent = await viaGateway(
      () => this.gateway.createSetupIntent(customer.gatewayId),
      'Starting card setup',
    );
    return { id: intent.id, clientSecret: intent.clientSecret };
  }

  async add(dto: AddPaymentMethodDto): Promise<PaymentMethodDto> {
    const tenantId = this.tenantContext.tenant.id;
    const customer = await this.customers.ensure(tenantId);
    const card = await viaGateway(
      () => this.gateway.attachPaymentMethod(customer.gatewayId, dto.paymentMethodId),
      'Saving the card',
    );
    const { row, defaultId } = await this.tenantContext.em.transactional(async (em) => {
      const saved = await this.store(em, tenantId, card);
      const locked = await em.findOneOrFail(
        BillingCustomer,
        { tenantId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      if (dto.makeDefault || !locked.defaultPaymentMethodId) {
        locked.defaultPaymentMethodId = saved.id;
        locked.updatedAt = this.clock.now();
      }
      this.audit.record(
        {
          action: 'billing.payment_method.added',
          target: { type: 'payment_method', id: saved.id },
          data: {
            brand: card.brand,
            last4: card.last4,
            default: locked.defaultPaymentMethodId === saved.id,
          },
        },
        em,
      );
      return { row: saved, defaultId: locked.defaultPaymentMethodId };
    });
    if (defaultId === row.id) await this.recovery.collectOpenInvoices(tenantId);
    return PaymentMethodDto.from(row, defaultId);
  }

  /**
   * Records a card the gateway attached (from the portal or a
   * `setup_intent.succeeded` webhook); the same card twice is one row.
   */
  async store(em: EntityManager, tenantId: string, card: CardDetails): Promise<PaymentMethod> {
    const existing = await em.findOne(PaymentMethod, { gatewayId: card.id });
    if (existing) {
      if (existing.tenantId !== tenantId) {
        throw new BillingException(
          BillingErrorCode.PaymentMethodInvalid,
          'This payment method belongs to another customer.',
        );
      }
      existing.detachedAt = null;
      return existing;
    }
    const row = em.create(PaymentMethod, {
      tenantId,
      gatewayId: card.id,
      brand: card.brand,
      last4: card.last4,
      expMonth: card.expMonth,
      expYear: card.expYear,
      createdAt: this.clock.now(),
    });
    await em.flush();
    return row;
  }

  async makeDefault(id: string): Promise<PaymentMethodDto> {
    const tenantId = this.tenantContext.tenant.id;
    const dto = await this.tenantContext.em.transactional(async (em) => {
      const row = await this.load(em, id);
      const customer = await em.findOneOrFail(
        BillingCustomer,
        { tenantId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      customer.defaultPaymentMethodId = row.id;
      customer.updatedAt = this.clock.now();
      this.audit.record(
        { action: 'billing.payment_method.default_set', target: { type: 'payment_method', id } },
        em,
      );
      return PaymentMethodDto.from(row, row.id);
    });
    // A hard-declined invoice waits for exactly this.
    await this.recovery.collectOpenInvoices(tenantId);
    return dto;
  }

  /**
   * Removes a card. The last card cannot go while a paid subscription still
   * needs one; removing the default makes the newest remaining card the default.
   */
  async remove(id: string): Promise<void> {
    const tenantId = this.tenantContext.tenant.id;
    const row = await this.tenantContext.em.transactional(async (em) => {
      const method = await this.load(em, id);
      const customer = await em.findOneOrFail(
        BillingCustomer,
        { tenantId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      const others = await em.find(
        PaymentMethod,
        { tenantId, detachedAt: null, id: { $ne: id } },
        { orderBy: { createdAt: 'desc' } },
      );
      if (others.length === 0) {
        const paid = await em.count(Subscription, {
          tenantId,
          status: { $in: [...LIVE_STATUSES] },
          cancelAtPeriodEnd: false,
        });
        if (paid > 0) {
          throw new BillingException(
            BillingErrorCode.PaymentMethodInUse,
            'This is the only card and the subscription renews with it; add another card first, or cancel the subscription.',
          );
        }
      }
      method.detachedAt = this.clock.now();
      if (customer.defaultPaymentMethodId === id) {
        customer.defaultPaymentMethodId = others[0]?.id ?? null;
        customer.updatedAt = this.clock.now();
      }
      this.audit.record(
        {
          action: 'billing.payment_method.removed',
          target: { type: 'payment_method', id },
          data: { brand: method.brand, last4: method.last4 },
        },
        em,
      );
      return method;
    });
    // Removed on our side first: a gateway hiccup must not keep charging a card the customer removed.
    try {
      await this.gateway.detachPaymentMethod(row.gatewayId);
    } catch (error) {
      this.logger.warn(
        { err: error, paymentMethodId: row.id },
        'detaching the card at the gateway failed; it is no longer used by Groundwork',
      );
    }
  }

  private async load(em: EntityManager, id: string): Promise<PaymentMethod> {
    const row = await em.findOne(PaymentMethod, {
      id,
      tenantId: this.tenantContext.tenant.id,
      detachedAt: null,
    });
    if (!row)
      throw new BillingException(
        BillingErrorCode.PaymentMethodNotFound,
        `No payment method ${id}.`,
      );
    return row;
  }
}
