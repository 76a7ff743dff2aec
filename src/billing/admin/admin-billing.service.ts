import { Injectable } from '@nestjs/common';
import { LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { toPage } from '../../common/http/pagination';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { AuditService } from '../../tenancy/audit/audit.service';
import { Tenant } from '../../tenancy/entities/tenant.entity';
import { TenancyErrorCode, TenancyException } from '../../tenancy/tenancy.exception';
import { BillingClock } from '../billing-clock';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { BillingCustomerService } from '../customers/billing-customer.service';
import { BillingCustomer } from '../entities/billing-customer.entity';
import { AttemptStatus, PaymentAttempt } from '../entities/payment-attempt.entity';
import { LIVE_STATUSES, Subscription } from '../entities/subscription.entity';
import { RecoveryService } from '../recovery/recovery.service';
import { SubscriptionDto } from '../subscriptions/dtos/subscription.dto';
import {
  AdvanceTestClockDto,
  ListPaymentFailuresQuery,
  PaymentFailureDto,
  PaymentFailurePageDto,
  TestClockDto,
} from './admin-billing.dto';

const FAILED = [AttemptStatus.Failed, AttemptStatus.RequiresAction, AttemptStatus.Unknown];

/** Billing health for platform staff, and (outside production) test clocks. */
@Injectable()
export class AdminBillingService {
  constructor(
    private readonly em: EntityManager,
    private readonly customers: BillingCustomerService,
    private readonly recovery: RecoveryService,
    private readonly billingClock: BillingClock,
    private readonly audit: AuditService,
    @InjectConfig() private readonly config: AppConfig,
  ) {}

  async paymentFailures(query: ListPaymentFailuresQuery): Promise<PaymentFailurePageDto> {
    const em = this.em.fork();
    const where = {
      status: { $in: FAILED },
      ...(query.category ? { category: query.category } : {}),
      ...(query.tenantId ? { tenantId: query.tenantId } : {}),
      ...(query.from || query.to
        ? {
            createdAt: {
              ...(query.from ? { $gte: query.from } : {}),
              ...(query.to ? { $lt: query.to } : {}),
            },
          }
        : {}),
    };
    const [rows, counts] = await Promise.all([
      em.find(
        PaymentAttempt,
        { ...where, ...(query.cursor ? { id: { $lt: query.cursor } } : {}) },
        { orderBy: { id: 'desc' }, limit: query.limit + 1 },
      ),
      this.countByCategory(em, query),
    ]);
    const byCategory = counts
      .map((row) => ({
        category: row.category,
        currency: row.currency.trim(),
        count: Number(row.count),
        amount: Number(row.amount),
      }))
      .sort((a, b) => b.count - a.count || a.category.localeCompare(b.category));
    return {
      ...toPage(rows, query.limit, (row) => PaymentFailureDto.from(row)),
      byCategory,
      total: byCategory.reduce((sum, row) => sum + row.count, 0),
    };
  }

  /** The same filters, counted over every page in one grouped query. */
  private countByCategory(
    em: EntityManager,
    query: ListPaymentFailuresQuery,
  ): Promise<{ category: string; currency: string; count: number; amount: string }[]> {
    const conditions = ['status in (?, ?, ?)'];
    const params: unknown[] = [...FAILED];
    if (query.category) {
      conditions.push('category = ?');
      params.push(query.category);
    }
    if (query.tenantId) {
      conditions.push('tenant_id = ?');
      params.push(query.tenantId);
    }
    if (query.from) {
      conditions.push('created_at >= ?');
      params.push(query.from);
    }
    if (query.to) {
      conditions.push('created_at < ?');
      params.push(query.to);
    }
    return em.execute(
      `select coalesce(category, 'unknown') as category, currency, count(*)::int as count,
              coalesce(sum(amount), 0)::bigint as amount
         from platform.payment_attempt
        where ${conditions.join(' and ')}
        group by 1, 2`,
      params,
    );
  }

  async testClock(tenantId: string): Promise<TestClockDto> {
    this.assertTestClocks();
    const em = this.em.fork();
    await this.tenant(em, tenantId);
    const customer = await em.findOne(BillingCustomer, { tenantId });
    return this.clockView(em, tenantId, this.billingClock.of(customer), []);
  }

  /**
   * Moves the tenant's billing time forward and runs what falls due, period
   * by period (renewals, cancellations at period end, lapsed first payments),
   * like a Stripe test clock.
   */
  async advance(tenantId: string, dto: AdvanceTestClockDto): Promise<TestClockDto> {
    this.assertTestClocks();
    const em = this.em.fork();
    await this.tenant(em, tenantId);
    await this.customers.ensure(tenantId);
    const target = await em.transactional(async (tx) => {
      const customer = await tx.findOneOrFail(
        BillingCustomer,
        { tenantId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      const current = this.billingClock.of(customer);
      const to = dto.to ?? new Date(current.getTime() + (dto.days ?? 0) * 86_400_000);
      if (to < current) {
        throw new BillingException(
          BillingErrorCode.TestClockBackwards,
          `Billing time is ${current.toISOString()}; a test clock only moves forward.`,
          { current: current.toISOString() },
        );
      }
      // Frozen where it is; the run below moves it event by event up to `to`.
      customer.testClockAt = current;
      this.audit.recordPlatform(
        {
          tenantId,
          action: 'billing.test_clock.advanced',
          data: { from: current.toISOString(), to: to.toISOString() },
        },
        tx,
      );
      return to;
    });
    const { renewals } = await this.recovery.advanceTenant(tenantId, target);
    return this.clockView(this.em.fork(), tenantId, target, renewals);
  }

  private async clockView(
    em: EntityManager,
    tenantId: string,
    frozenTime: Date,
    renewals: TestClockDto['renewals'],
  ): Promise<TestClockDto> {
    const subscription = await em.findOne(
      Subscription,
      { tenantId, status: { $in: [...LIVE_STATUSES] } },
      { populate: ['plan', 'price', 'pendingPrice'] },
    );
    return {
      tenantId,
      frozenTime,
      renewals,
      subscription: subscription ? SubscriptionDto.from(subscription) : null,
    };
  }

  private async tenant(em: EntityManager, tenantId: string): Promise<Tenant> {
    const tenant = await em.findOne(Tenant, { id: tenantId });
    if (!tenant) {
      throw new TenancyException(TenancyErrorCode.TenantNotFound, `No organisation ${tenantId}.`);
    }
    return tenant;
  }

  private assertTestClocks(): void {
    if (!this.config.billing.testClocks) {
      throw new BillingException(
        BillingErrorCode.TestClocksDisabled,
        'Test clocks exist only outside production.',
      );
    }
  }
}
