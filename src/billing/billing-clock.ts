import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../common/clock';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';
import { BillingCustomer } from './entities/billing-customer.entity';

/**
 * Billing time of one tenant: the injectable clock, unless an admin test clock
 * (outside production) has moved that tenant's billing forward. Where test
 * clocks are off (production) it is always the clock, and nothing is read.
 */
@Injectable()
export class BillingClock {
  private readonly testClocks: boolean;

  constructor(
    private readonly clock: Clock,
    @InjectConfig() config: AppConfig,
  ) {
    this.testClocks = config.billing.testClocks;
  }

  async nowFor(em: EntityManager, tenantId: string): Promise<Date> {
    if (!this.testClocks) return this.clock.now();
    const customer = await em.findOne(
      BillingCustomer,
      { tenantId },
      { fields: ['testClockAt'], disableIdentityMap: true },
    );
    return this.of(customer);
  }

  of(customer: Pick<BillingCustomer, 'testClockAt'> | null | undefined): Date {
    return this.testClocks && customer?.testClockAt
      ? new Date(customer.testClockAt)
      : this.clock.now();
  }
}
