import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { TenantRole } from '../../access/roles';
import { Clock } from '../../common/clock';
import { User } from '../../identity/entities/user.entity';
import { Membership } from '../../tenancy/entities/membership.entity';
import { Tenant } from '../../tenancy/entities/tenant.entity';
import { BillingCustomer } from '../entities/billing-customer.entity';
import { viaGateway } from '../payments/payment-errors';
import { PaymentGateway } from '../payments/payment-gateway';

/** The tenant's customer record at the gateway, created the first time billing needs it. */
@Injectable()
export class BillingCustomerService {
  constructor(
    private readonly em: EntityManager,
    private readonly gateway: PaymentGateway,
    private readonly clock: Clock,
  ) {}

  find(em: EntityManager, tenantId: string): Promise<BillingCustomer | null> {
    return em.findOne(BillingCustomer, { tenantId });
  }

  /**
   * The tenant's customer, creating it at the gateway first if needed. The
   * gateway call carries an idempotency key of the tenant, and the row is
   * inserted with `on conflict do nothing`, so two requests racing here end
   * with one customer.
   */
  async ensure(tenantId: string): Promise<BillingCustomer> {
    const em = this.em.fork();
    const existing = await this.find(em, tenantId);
    if (existing) return existing;
    const tenant = await em.findOneOrFail(Tenant, { id: tenantId });
    const email = await this.contactEmail(em, tenantId);
    const customer = await viaGateway(
      () => this.gateway.createCustomer({ tenantId, email, name: tenant.name }),
      'Setting up billing',
    );
    const now = this.clock.now();
    await em
      .createQueryBuilder(BillingCustomer)
      .insert({
        tenantId,
        gatewayId: customer.id,
        email,
        name: tenant.name,
        balance: 0,
        createdAt: now,
        updatedAt: now,
      })
      .onConflict('tenant_id')
      .ignore()
      .execute();
    return em.findOneOrFail(BillingCustomer, { tenantId }, { refresh: true });
  }

  /** Where billing mail goes: the first owner's address. */
  private async contactEmail(em: EntityManager, tenantId: string): Promise<string> {
    const owner = await em.findOne(
      Membership,
      { tenantId, role: TenantRole.Owner },
      { orderBy: { createdAt: 'asc' } },
    );
    const user = owner ? await em.findOne(User, { id: owner.userId }) : null;
    return user?.email ?? `billing+${tenantId}@invalid.example`;
  }
}
