import { Injectable, Logger } from '@nestjs/common';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../../common/clock';
import { AuditService } from '../../tenancy/audit/audit.service';
import { InvitationService } from '../../tenancy/invitations/invitation.service';
import { TenantContext } from '../../tenancy/tenant-context';
import { BillingClock } from '../billing-clock';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { CatalogService } from '../catalog/catalog.service';
import { EntitlementService } from '../catalog/entitlement.service';
import { BillingCustomerService } from '../customers/billing-customer.service';
import { BillingCustomer } from '../entities/billing-customer.entity';
import {
  Invoice,
  InvoiceLine,
  InvoiceLineKind,
  InvoiceReason,
  InvoiceStatus,
} from '../entities/invoice.entity';
import { AttemptTrigger } from '../entities/payment-attempt.entity';
import { PaymentMethod } from '../entities/payment-method.entity';
import { Price } from '../entities/price.entity';
import { LIVE_STATUSES, Subscription, SubscriptionStatus } from '../entities/subscription.entity';
import { InvoiceDto } from '../invoices/dtos/invoice.dto';
import { InvoiceService, LineInput } from '../invoices/invoice.service';
import { toBillingException } from '../payments/payment-errors';
import { CollectOutcome, PaymentService } from '../payments/payment.service';
import {
  AdminCancelSubscriptionDto,
  BillingOverviewDto,
  CancelSubscriptionDto,
  ChangePreviewDto,
  ChangeSubscriptionDto,
  CreateSubscriptionDto,
  PaymentStatusDto,
  SubscriptionDto,
  SubscriptionResultDto,
} from './dtos/subscription.dto';
import { describeLine, planLine } from './line-descriptions';
import { ChangePlan, periodBoundary, planChange, Rate } from './proration';

const rateOf = (price: Price, quantity: number): Rate => ({
  unitAmount: price.unitAmount,
  quantity,
  interval: price.interval,
});

interface ChangeContext {
  subscription: Subscription;
  target: Price;
  quantity: number;
  now: Date;
  change: ChangePlan;
  balance: number;
  /** Proration lines waiting for the next invoice (an earlier downgrade); a charge now takes them. */
  pending: InvoiceLine[];
  /** The request asks for the current terms while a switch is scheduled: it cancels the switch. */
  cancelsPending: boolean;
}

/** What a change replaced, to put back when its payment fails. */
type SubscriptionTerms = Pick<
  Subscription,
  | 'plan'
  | 'price'
  | 'quantity'
  | 'billingAnchor'
  | 'currentPeriodStart'
  | 'currentPeriodEnd'
  | 'pendingPrice'
  | 'pendingQuantity'
>;

/**
 * The current tenant's subscription: subscribe, preview and apply changes with
 * proration, cancel at period end, resume. Arithmetic lives in `proration.ts`;
 * this orchestrates it, writes invoices, and charges through PaymentService
 * outside any transaction.
 */
@Injectable()
export class SubscriptionService {
  private readonly logger = new Logger(SubscriptionService.name);

  constructor(
    private readonly em: EntityManager,
    private readonly tenantContext: TenantContext,
    private readonly catalog: CatalogService,
    private readonly entitlements: EntitlementService,
    private readonly customers: BillingCustomerService,
    private readonly invoices: InvoiceService,
    private readonly payments: PaymentService,
    private readonly invitations: InvitationService,
    private readonly audit: AuditService,
    private readonly billingClock: BillingClock,
    private readonly clock: Clock,
  ) {}

  async overview(): Promise<BillingOverviewDto> {
    const tenantId = this.tenantContext.tenant.id;
    const em = this.tenantContext.em;
    const [subscription, customer, entitlements] = await Promise.all([
      this.live(em, tenantId),
      this.customers.find(em, tenantId),
      this.entitlements.forTenant(tenantId),
    ]);
    return {
      entitlements,
      subscription: subscription ? SubscriptionDto.from(subscription) : null,
      creditBalance: customer?.balance ?? 0,
    };
  }

  async subscribe(dto: CreateSubscriptionDto): Promise<SubscriptionResultDto> {
    const tenantId = this.tenantContext.tenant.id;
    const em = this.tenantContext.em;
    const price = await this.catalog.subscribablePrice(em, dto.priceId);
    await this.assertQuantity(em, price, dto.quantity, tenantId);
    if (await this.live(em, tenantId)) {
      throw new BillingException(
        BillingErrorCode.SubscriptionExists,
        'The organisation already has a subscription; change it instead.',
      );
    }
    const customer = await this.customers.ensure(tenantId);
    const now = this.billingClock.of(customer);
    if (dto.trial) {
      if (price.plan.trialDays <= 0) {
        throw new BillingException(
          BillingErrorCode.TrialUnavailable,
          `${price.plan.name} has no free trial.`,
        );
      }
      if (customer.trialUsedAt) {
        throw new BillingException(
          BillingErrorCode.TrialUnavailable,
          'The organisation has had its free trial; subscribe without one.',
        );
      }
    } else {
      await this.paymentMethodFor(em, customer, dto.paymentMethodId);
    }

    const { subscription, invoice } = await this.transaction(async (tx) => {
      const locked = await tx.findOneOrFail(
        BillingCustomer,
        { tenantId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      const trialEnd = dto.trial
        ? new Date(now.getTime() + price.plan.trialDays * 86_400_000)
        : null;
      const periodEnd = trialEnd ?? periodBoundary(now, price.interval, 1);
      const created = tx.create(Subscription, {
        tenantId,
        plan: price.plan,
        price,
        quantity: dto.quantity,
        status: trialEnd ? SubscriptionStatus.Trialing : SubscriptionStatus.Incomplete,
        billingAnchor: periodEnd,
        currentPeriodStart: now,
        currentPeriodEnd: periodEnd,
        trialEnd,
        createdAt: this.clock.now(),
        updatedAt: this.clock.now(),
      });
      if (trialEnd) {
        locked.trialUsedAt = now;
        // A trial's first paid period starts when it ends.
      } else {
        created.billingAnchor = now;
      }
      await tx.flush();
      const issued = trialEnd
        ? null
        : await this.invoices.issue(tx, {
            tenantId,
            subscription: created,
            reason: InvoiceReason.SubscriptionCreate,
            currency: price.currency,
            periodStart: now,
            periodEnd,
            billingKey: `create:${created.id}`,
            sweepPending: true,
            now,
            lines: [planLine(price.plan.name, price, dto.quantity, now, periodEnd)],
          });
      if (issued?.status === InvoiceStatus.Paid) created.status = SubscriptionStatus.Active;
      this.audit.record(
        {
          action: 'billing.subscription.created',
          target: { type: 'subscription', id: created.id },
          data: {
            plan: price.plan.code,
            priceId: price.id,
            quantity: dto.quantity,
            trial: Boolean(trialEnd),
          },
        },
        tx,
      );
      return { subscription: created, invoice: issued };
    });
    this.entitlements.invalidate(tenantId);
    if (!invoice || invoice.status === InvoiceStatus.Paid) {
      return this.result(subscription.id, invoice?.id ?? null, {
        status: invoice ? 'succeeded' : 'none',
      });
    }

    const outcome = await this.payments.collect(invoice.id, AttemptTrigger.Subscribe, {
      paymentMethodId: dto.paymentMethodId,
    });
    this.entitlements.invalidate(tenantId);
    if (outcome.status === 'failed') {
      // A declined first payment leaves no subscription behind: only its record.
      await this.transaction(async (tx) => {
        const row = await tx.findOneOrFail(
          Subscription,
          { id: subscription.id },
          { lockMode: LockMode.PESSIMISTIC_WRITE },
        );
        row.status = SubscriptionStatus.IncompleteExpired;
        row.endedAt = now;
        row.updatedAt = this.clock.now();
        await this.invoices.void(tx, invoice.id, now);
        this.audit.record(
          {
            action: 'billing.subscription.payment_failed',
            target: { type: 'subscription', id: row.id },
            data: { category: outcome.error.category, declineCode: outcome.error.declineCode },
          },
          tx,
        );
      });
      throw toBillingException(outcome.error, 'The first payment');
    }
    return this.result(subscription.id, invoice.id, paymentStatus(outcome));
  }

  async preview(dto: ChangeSubscriptionDto): Promise<ChangePreviewDto> {
    const context = await this.changeContext(this.tenantContext.em, dto);
    const { change, now, subscription, balance } = context;
    // During a trial nothing has been paid: every change applies at once, free.
    const trialing = subscription.status === SubscriptionStatus.Trialing;
    const free = trialing || context.cancelsPending;
    const timing = free ? 'now' : change.timing;
    const chargedNow =
      !free && (change.timing === 'restart' || (change.timing === 'now' && change.net > 0));
    const pendingSum = context.pending.reduce((sum, line) => sum + line.amount, 0);
    // What the change's invoice would total: its lines, plus credit left waiting by an earlier downgrade.
    const invoiceTotal = change.net + pendingSum;
    const amountDueNow = chargedNow ? Math.max(0, invoiceTotal - balance) : 0;
    const creditToNextInvoice =
      !free && change.timing === 'now' && change.net <= 0
        ? -change.net
        : chargedNow && invoiceTotal < 0
          ? -invoiceTotal
          : 0;
    return {
      direction: change.direction,
      timing,
      effectiveAt: timing === 'period_end' ? subscription.currentPeriodEnd : now,
      lines: free
        ? []
        : change.lines.map((line) => ({
            kind: line.kind,
            amount: line.amount,
            periodStart: line.periodStart,
            periodEnd: line.periodEnd,
            description: describeLine(
              line.kind,
              line.kind === 'proration_credit' ? subscription.plan.name : context.target.plan.name,
              line.rate,
              line.periodStart,
              line.periodEnd,
            ),
          })),
      amountDueNow,
      creditToNextInvoice,
      currency: subscription.price.currency,
      currentPeriodEnd: timing === 'restart' ? change.periodEnd : subscription.currentPeriodEnd,
    };
  }

  async change(dto: ChangeSubscriptionDto): Promise<SubscriptionResultDto> {
    const tenantId = this.tenantContext.tenant.id;
    let previous: SubscriptionTerms | undefined;
    const applied = await this.transaction(async (tx) => {
      const context = await this.changeContext(tx, dto, true);
      const { subscription, target, quantity, change, now } = context;
      previous = terms(subscription);
      if (context.cancelsPending) {
        subscription.pendingPrice = null;
        subscription.pendingQuantity = null;
        subscription.updatedAt = this.clock.now();
        this.audit.record(
          {
            action: 'billing.subscription.scheduled_change_canceled',
            target: { type: 'subscription', id: subscription.id },
          },
          tx,
        );
        return { subscription, invoice: null as Invoice | null, swept: [] as string[] };
      }
      const fromPlanName = subscription.plan.name;
      subscription.pendingPrice = null;
      subscription.pendingQuantity = null;
      subscription.updatedAt = this.clock.now();
      this.audit.record(
        {
          action: 'billing.subscription.changed',
          target: { type: 'subscription', id: subscription.id },
          data: {
            from: { priceId: previous.price.id, quantity: previous.quantity },
            to: { priceId: target.id, quantity },
            direction: change.direction,
            timing: change.timing,
          },
        },
        tx,
      );
      if (subscription.status === SubscriptionStatus.Trialing) {
        // Nothing has been paid yet: the trial simply continues on the new terms.
        Object.assign(subscription, { plan: target.plan, price: target, quantity });
        return { subscription, invoice: null, swept: [] };
      }
      if (change.timing === 'period_end') {
        subscription.pendingPrice = target;
        subscription.pendingQuantity = quantity;
        return { subscription, invoice: null, swept: [] };
      }
      const lines: LineInput[] = change.lines.map((line) => ({
        kind:
          line.kind === 'proration_credit'
            ? InvoiceLineKind.ProrationCredit
            : InvoiceLineKind.ProrationDebit,
        description: describeLine(
          line.kind,
          line.kind === 'proration_credit' ? fromPlanName : target.plan.name,
          line.rate,
          line.periodStart,
          line.periodEnd,
        ),
        quantity: line.rate.quantity,
        unitAmount: line.rate.unitAmount,
        amount: line.amount,
        price: line.kind === 'proration_credit' ? previous!.price : target,
        interval: line.rate.interval,
        periodStart: line.periodStart,
        periodEnd: line.periodEnd,
      }));
      Object.assign(subscription, { plan: target.plan, price: target, quantity });
      if (change.timing === 'restart') {
        subscription.billingAnchor = change.periodStart;
        subscription.currentPeriodStart = change.periodStart;
        subscription.currentPeriodEnd = change.periodEnd;
      } else if (change.net <= 0) {
        // A downgrade: its credit (and the new rate's debit) wait for the next invoice.
        for (const line of lines) {
          tx.create(InvoiceLine, { ...line, tenantId, invoice: null, createdAt: now });
        }
        return { subscription, invoice: null, swept: [] };
      }
      // Charged now: the invoice also takes the credit an earlier downgrade left waiting.
      const invoice = await this.invoices.issue(tx, {
        tenantId,
        subscription,
        reason: InvoiceReason.SubscriptionUpdate,
        currency: target.currency,
        periodStart: now,
        periodEnd: subscription.currentPeriodEnd,
        sweepPending: true,
        now,
        lines,
      });
      return { subscription, invoice, swept: context.pending.map((line) => line.id) };
    });
    this.entitlements.invalidate(tenantId);
    const { subscription, invoice, swept } = applied;
    if (!invoice || invoice.status === InvoiceStatus.Paid) {
      return this.result(subscription.id, invoice?.id ?? null, {
        status: invoice ? 'succeeded' : 'none',
      });
    }
    const outcome = await this.payments.collect(invoice.id, AttemptTrigger.Change);
    if (
      outcome.status === 'failed' ||
      outcome.status === 'requires_action' ||
      outcome.status === 'no_payment_method'
    ) {
      // The change is charged off-session; when the card says no, nothing changes.
      await this.revert(subscription, invoice.id, previous!, swept);
      this.entitlements.invalidate(tenantId);
      if (outcome.status === 'failed') throw toBillingException(outcome.error, 'The change');
      if (outcome.status === 'no_payment_method') {
        throw new BillingException(
          BillingErrorCode.PaymentMethodRequired,
          'Add a card before changing plans.',
        );
      }
      throw new BillingException(
        BillingErrorCode.PaymentDeclined,
        'The bank asks for authentication, which an off-session plan change cannot give; the plan is unchanged. Try another card, or confirm the payment and retry.',
        { category: 'authentication_required', declineCode: 'authentication_required' },
      );
    }
    return this.result(subscription.id, invoice.id, paymentStatus(outcome));
  }

  async cancel(dto: CancelSubscriptionDto): Promise<SubscriptionDto> {
    return this.transaction(async (tx) => {
      const subscription = await this.lockLive(tx);
      if (subscription.status === SubscriptionStatus.Incomplete) {
        throw new BillingException(
          BillingErrorCode.SubscriptionNotChangeable,
          'The subscription never started; it lapses by itself if its first payment is not completed.',
        );
      }
      subscription.cancelAtPeriodEnd = true;
      subscription.cancelReason = dto.reason;
      subscription.cancelComment = dto.comment ?? null;
      subscription.canceledAt = this.billingClock.of(
        await this.customers.find(tx, subscription.tenantId),
      );
      subscription.updatedAt = this.clock.now();
      this.audit.record(
        {
          action: 'billing.subscription.cancel_scheduled',
          target: { type: 'subscription', id: subscription.id },
          data: { reason: dto.reason, endsAt: subscription.currentPeriodEnd.toISOString() },
        },
        tx,
      );
      return SubscriptionDto.from(subscription);
    });
  }

  async resume(): Promise<SubscriptionDto> {
    return this.transaction(async (tx) => {
      const subscription = await this.lockLive(tx);
      if (!subscription.cancelAtPeriodEnd) {
        throw new BillingException(
          BillingErrorCode.NoChange,
          'The subscription is not set to cancel.',
        );
      }
      subscription.cancelAtPeriodEnd = false;
      subscription.cancelReason = null;
      subscription.cancelComment = null;
      subscription.canceledAt = null;
      subscription.updatedAt = this.clock.now();
      this.audit.record(
        {
          action: 'billing.subscription.resumed',
          target: { type: 'subscription', id: subscription.id },
        },
        tx,
      );
      return SubscriptionDto.from(subscription);
    });
  }

  /** Staff end a subscription now (fraud, a contract ended): open invoices are voided. */
  async cancelNow(tenantId: string, dto: AdminCancelSubscriptionDto): Promise<SubscriptionDto> {
    // Staff act from the admin API, outside any tenant context.
    const row = await this.em.fork().transactional(async (tx) => {
      const subscription = await tx.findOne(
        Subscription,
        { tenantId, status: { $in: [...LIVE_STATUSES] } },
        {
          populate: ['plan', 'price', 'pendingPrice'],
          lockMode: LockMode.PESSIMISTIC_WRITE,
          // Relations in their own queries: FOR UPDATE cannot lock an outer join's nullable side.
          strategy: 'select-in',
        },
      );
      if (!subscription) {
        throw new BillingException(
          BillingErrorCode.SubscriptionNotFound,
          'The organisation has no subscription.',
        );
      }
      const now = this.billingClock.of(await this.customers.find(tx, tenantId));
      subscription.status = SubscriptionStatus.Canceled;
      subscription.cancelReason = 'other';
      subscription.cancelComment = dto.reason;
      subscription.canceledAt = now;
      subscription.endedAt = now;
      subscription.updatedAt = this.clock.now();
      const open = await tx.find(Invoice, { subscription, status: InvoiceStatus.Open });
      for (const invoice of open) await this.invoices.void(tx, invoice.id, now);
      this.audit.recordPlatform(
        {
          tenantId,
          action: 'billing.subscription.canceled_by_staff',
          data: {
            subscriptionId: subscription.id,
            reason: dto.reason,
            voidedInvoices: open.length,
          },
        },
        tx,
      );
      return subscription;
    });
    this.entitlements.invalidate(tenantId);
    return SubscriptionDto.from(row);
  }

  private async changeContext(
    em: EntityManager,
    dto: ChangeSubscriptionDto,
    lock = false,
  ): Promise<ChangeContext> {
    if (dto.priceId === undefined && dto.quantity === undefined) {
      throw new BillingException(
        BillingErrorCode.NoChange,
        'Give a new priceId, a new quantity, or both.',
      );
    }
    const tenantId = this.tenantContext.tenant.id;
    const subscription = lock ? await this.lockLive(em) : await this.live(em, tenantId);
    if (!subscription) {
      throw new BillingException(
        BillingErrorCode.SubscriptionNotFound,
        'The organisation has no subscription to change.',
      );
    }
    if (![SubscriptionStatus.Active, SubscriptionStatus.Trialing].includes(subscription.status)) {
      throw new BillingException(
        BillingErrorCode.SubscriptionNotChangeable,
        subscription.status === SubscriptionStatus.Incomplete
          ? 'The first payment is not complete yet; complete it before changing plans.'
          : 'An invoice is unpaid; pay it before changing plans.',
        { subscriptionStatus: subscription.status },
      );
    }
    const target =
      dto.priceId && dto.priceId !== subscription.price.id
        ? await this.catalog.subscribablePrice(em, dto.priceId)
        : subscription.price;
    const quantity = dto.quantity ?? subscription.quantity;
    if (target.currency !== subscription.price.currency) {
      throw new BillingException(
        BillingErrorCode.CurrencyMismatch,
        `The subscription is billed in ${subscription.price.currency.toUpperCase()}; choose a price in that currency.`,
      );
    }
    const unchanged = target.id === subscription.price.id && quantity === subscription.quantity;
    if (unchanged && !subscription.pendingPrice) {
      throw new BillingException(
        BillingErrorCode.NoChange,
        'That is the current plan and seat count.',
      );
    }
    const changing = await em.count(Invoice, {
      subscription,
      reason: InvoiceReason.SubscriptionUpdate,
      status: InvoiceStatus.Open,
    });
    if (changing > 0) {
      throw new BillingException(
        BillingErrorCode.SubscriptionNotChangeable,
        'The payment for the last change is still being confirmed; try again once it has settled.',
      );
    }
    await this.assertQuantity(em, target, quantity, tenantId);
    const customer = await this.customers.find(em, tenantId);
    const now = this.billingClock.of(customer);
    if (now >= subscription.currentPeriodEnd) {
      // The period has ended and its renewal job has not run yet (it runs within a minute).
      throw new BillingException(
        BillingErrorCode.SubscriptionNotChangeable,
        'The subscription is renewing right now; try again in a minute.',
        { subscriptionStatus: subscription.status },
      );
    }
    const change = planChange(
      rateOf(subscription.price, subscription.quantity),
      rateOf(target, quantity),
      { start: subscription.currentPeriodStart, end: subscription.currentPeriodEnd },
      now,
    );
    const pending = await em.find(InvoiceLine, { tenantId, invoice: null });
    return {
      subscription,
      target,
      quantity,
      now,
      change,
      balance: customer?.balance ?? 0,
      pending,
      cancelsPending: unchanged,
    };
  }

  private async assertQuantity(
    em: EntityManager,
    price: Price,
    quantity: number,
    tenantId: string,
  ): Promise<void> {
    const limit = price.plan.seatLimit;
    if (limit !== null && quantity > limit) {
      throw new BillingException(
        BillingErrorCode.SeatsOutOfRange,
        `${price.plan.name} allows up to ${limit} seats; choose a larger plan for ${quantity}.`,
        { seatLimit: limit },
      );
    }
    const inUse = await this.invitations.seatsInUse(em, tenantId);
    if (quantity < inUse) {
      throw new BillingException(
        BillingErrorCode.SeatsBelowMembers,
        `${inUse} seats are in use (members and open invitations); remove some before paying for ${quantity}.`,
        { seatsInUse: inUse },
      );
    }
  }

  private async paymentMethodFor(
    em: EntityManager,
    customer: BillingCustomer,
    paymentMethodId: string | undefined,
  ): Promise<PaymentMethod> {
    const id = paymentMethodId ?? customer.defaultPaymentMethodId;
    const method = id
      ? await em.findOne(PaymentMethod, { id, tenantId: customer.tenantId, detachedAt: null })
      : null;
    if (!method) {
      if (paymentMethodId) {
        throw new BillingException(
          BillingErrorCode.PaymentMethodNotFound,
          `No payment method ${paymentMethodId}.`,
        );
      }
      throw new BillingException(
        BillingErrorCode.PaymentMethodRequired,
        'Add a card first (POST /v1/billing/payment-methods), or start a free trial.',
      );
    }
    return method;
  }

  private live(em: EntityManager, tenantId: string): Promise<Subscription | null> {
    return em.findOne(
      Subscription,
      { tenantId, status: { $in: [...LIVE_STATUSES] } },
      { populate: ['plan', 'price', 'pendingPrice'], refresh: true },
    );
  }

  private async lockLive(em: EntityManager): Promise<Subscription> {
    const subscription = await em.findOne(
      Subscription,
      { tenantId: this.tenantContext.tenant.id, status: { $in: [...LIVE_STATUSES] } },
      {
        populate: ['plan', 'price', 'pendingPrice'],
        lockMode: LockMode.PESSIMISTIC_WRITE,
        refresh: true,
        strategy: 'select-in',
      },
    );
    if (!subscription) {
      throw new BillingException(
        BillingErrorCode.SubscriptionNotFound,
        'The organisation has no subscription.',
      );
    }
    return subscription;
  }

  /**
   * Undoes a change whose charge failed: the old terms come back (unless
   * something else changed the subscription meanwhile, which is logged and
   * left alone), the invoice is voided, and the credit it took returns.
   */
  private async revert(
    changed: Subscription,
    invoiceId: string,
    previous: SubscriptionTerms,
    sweptLineIds: string[],
  ): Promise<void> {
    const wrote = {
      priceId: changed.price.id,
      quantity: changed.quantity,
      periodEnd: changed.currentPeriodEnd.getTime(),
    };
    await this.transaction(async (tx) => {
      const subscription = await tx.findOneOrFail(
        Subscription,
        { id: changed.id },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      const untouched =
        subscription.price.id === wrote.priceId &&
        subscription.quantity === wrote.quantity &&
        subscription.currentPeriodEnd.getTime() === wrote.periodEnd;
      if (untouched) {
        Object.assign(subscription, previous, { updatedAt: this.clock.now() });
      } else {
        this.logger.error(
          { subscriptionId: changed.id, invoiceId },
          'a failed change was not reverted: the subscription changed meanwhile',
        );
      }
      await this.invoices.void(tx, invoiceId, this.clock.now());
      if (sweptLineIds.length > 0) {
        // Pending credit the voided invoice had taken waits for the next one again.
        await tx.nativeUpdate(InvoiceLine, { id: { $in: sweptLineIds } }, { invoice: null });
      }
      this.audit.record(
        {
          action: 'billing.subscription.change_reverted',
          target: { type: 'subscription', id: changed.id },
          data: { invoiceId, restored: untouched },
        },
        tx,
      );
    });
  }

  private transaction<T>(fn: (tx: EntityManager) => Promise<T>): Promise<T> {
    return this.tenantContext.em.transactional(async (tx) => {
      try {
        return await fn(tx);
      } catch (error) {
        if (
          error instanceof UniqueConstraintViolationException &&
          /subscription_live_tenant_key/.test(error.message)
        ) {
          throw new BillingException(
            BillingErrorCode.SubscriptionExists,
            'The organisation already has a subscription; change it instead.',
          );
        }
        throw error;
      }
    });
  }

  private async result(
    subscriptionId: string,
    invoiceId: string | null,
    payment: Partial<PaymentStatusDto> & Pick<PaymentStatusDto, 'status'>,
  ): Promise<SubscriptionResultDto> {
    const em = this.tenantContext.em.fork();
    const subscription = await em.findOneOrFail(
      Subscription,
      { id: subscriptionId },
      { populate: ['plan', 'price', 'pendingPrice'] },
    );
    const invoice = invoiceId
      ? await em.findOneOrFail(Invoice, { id: invoiceId }, { populate: ['lines'] })
      : null;
    return {
      subscription: SubscriptionDto.from(subscription),
      invoice: invoice ? InvoiceDto.from(invoice) : null,
      payment: { paymentId: null, clientSecret: null, ...payment },
    };
  }
}

function terms(subscription: Subscription): SubscriptionTerms {
  const {
    plan,
    price,
    quantity,
    billingAnchor,
    currentPeriodStart,
    currentPeriodEnd,
    pendingPrice,
    pendingQuantity,
  } = subscription;
  return {
    plan,
    price,
    quantity,
    billingAnchor,
    currentPeriodStart,
    currentPeriodEnd,
    pendingPrice,
    pendingQuantity,
  };
}

function paymentStatus(
  outcome: CollectOutcome,
): Pick<PaymentStatusDto, 'status'> & Partial<PaymentStatusDto> {
  switch (outcome.status) {
    case 'paid':
    case 'nothing_due':
      return { status: 'succeeded' };
    case 'requires_action':
      return {
        status: 'requires_action',
        paymentId: outcome.paymentId,
        clientSecret: outcome.clientSecret,
      };
    case 'unknown':
    case 'in_progress':
      return { status: 'pending' };
    default:
      return { status: 'none' };
  }
}
