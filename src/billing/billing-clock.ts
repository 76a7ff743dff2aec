import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../common/clock';
import { BillingCustomer } from './entities/billing-customer.entity';

/**
 * Billing time of one tenant: the injectable clock, unless an admin test clock
 * (outside production) has moved that tenant's billing forward.
 */
@Injectable()
export class BillingClock {
  constructor(private readonly clock: Clock) {}

  async nowFor(em: EntityManager, tenantId: string): Promise<Date> {
    const customer = await em.findOne(
      BillingCustomer,
      { tenantId },
      { fields: ['testClockAt'], disableIdentityMap: true },
    );
    return this.of(customer);
  }

  of(customer: Pick<BillingCustomer, 'testClockAt'> | null | undefined): Date {
    return customer?.testClockAt ? new Date(customer.testClockAt) : this.clock.now();
  }
}
