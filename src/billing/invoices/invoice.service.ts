import { Injectable } from '@nestjs/common';
import { LoadStrategy, LockMode } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { ClsService } from 'nestjs-cls';
import { narrow } from '../../access/accessible-by';
import { Clock } from '../../common/clock';
import { DunningService } from '../recovery/dunning.service';
import { PageQuery, toPage } from '../../common/http/pagination';
import { RequestStore } from '../../common/request-store';
import { TenantContext } from '../../tenancy/tenant-context';
import { BillingErrorCode, BillingException } from '../billing.exception';
import { BillingCounter } from '../entities/billing-counter.entity';
import { BillingCustomer } from '../entities/billing-customer.entity';
import {
  Invoice,
  InvoiceLine,
  InvoiceLineKind,
  InvoiceReason,
  InvoiceStatus,
} from '../entities/invoice.entity';
import { BillingInterval } from '../entities/money';
import { Price } from '../entities/price.entity';
import { Subscription } from '../entities/subscription.entity';
import { InvoiceDto, InvoicePageDto } from './dtos/invoice.dto';
import { invoiceNumber, invoiceTotals } from './invoice-totals';

export interface LineInput {
  kind: InvoiceLineKind;
  description: string;
  quantity: number;
  unitAmount: number;
  amount: number;
  price: Price | null;
  interval: BillingInterval | null;
  periodStart: Date;
  periodEnd: Date;
}

export interface NewInvoice {
  tenantId: string;
  subscription: Subscription;
  reason: InvoiceReason;
  currency: string;
  periodStart: Date;
  periodEnd: Date;
  lines: LineInput[];
  /** Unique: a second invoice for the same thing fails on the constraint. */
  billingKey?: string;
  /** Take the tenant's pending lines (a downgrade's proration) into this invoice. */
  sweepPending: boolean;
  now: Date;
  /** The tenant's billing customer, when the caller has locked it (FOR UPDATE) in this transaction already. */
  lockedCustomer?: BillingCustomer;
  /** When an open invoice is first due for collection (the recovery sweep's slot). */
  nextAttemptAt?: Date;
}

/** Invoices: issuing them (inside the caller's transaction) and the portal's reads. */
@Injectable()
export class InvoiceService {
  constructor(
    private readonly tenantContext: TenantContext,
    private readonly cls: ClsService<RequestStore>,
    private readonly clock: Clock,
    private readonly dunning: DunningService,
  ) {}

  /**
   * Issues a finalised invoice in the caller's transaction: its lines, the
   * tenant's pending lines when asked, the credit balance applied, a gapless
   * number. Nothing due (all covered by credit): it is paid at once.
   */
  async issue(em: EntityManager, input: NewInvoice): Promise<Invoice> {
    const customer =
      input.lockedCustomer ??
      (await em.findOneOrFail(
        BillingCustomer,
        { tenantId: input.tenantId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      ));
    // Read before the new invoice exists: a query for lines after it would flush
    // it (and its lines) as a draft first, to be updated to its totals just after.
    const pending = input.sweepPending
      ? await em.find(
          InvoiceLine,
          { tenantId: input.tenantId, invoice: null },
          { orderBy: { createdAt: 'asc', id: 'asc' } },
        )
      : [];
    const invoice = em.create(Invoice, {
      tenantId: input.tenantId,
      subscription: input.subscription,
      status: InvoiceStatus.Draft,
      reason: input.reason,
      currency: input.currency,
      subtotal: 0,
      total: 0,
      amountDue: 0,
      periodStart: input.periodStart,
      periodEnd: input.periodEnd,
      billingKey: input.billingKey ?? null,
      createdAt: input.now,
      updatedAt: input.now,
    });
    for (const line of input.lines) {
      invoice.lines.add(
        em.create(InvoiceLine, {
          ...line,
          tenantId: input.tenantId,
          invoice,
          createdAt: input.now,
        }),
      );
    }
    for (const line of pending) invoice.lines.add(line);
    const totals = invoiceTotals(
      invoice.lines.getItems().map((line) => line.amount),
      customer.balance,
    );
    invoice.subtotal = totals.subtotal;
    invoice.total = totals.total;
    invoice.creditApplied = totals.creditApplied;
    invoice.amountDue = totals.amountDue;
    customer.balance = totals.balanceAfter;
    customer.updatedAt = input.now;
    invoice.number = invoiceNumber(await this.nextNumber(em));
    if (totals.amountDue === 0) {
      invoice.status = InvoiceStatus.Paid;
      invoice.paidAt = input.now;
    } else {
      invoice.status = InvoiceStatus.Open;
      if (input.nextAttemptAt) invoice.nextAttemptAt = input.nextAttemptAt;
    }
    await em.flush();
    return invoice;
  }

  /** Voids an unpaid invoice and gives back the account credit it had used. */
  async void(tx: EntityManager, invoiceId: string, at: Date): Promise<void> {
    const invoice = await tx.findOneOrFail(
      Invoice,
      { id: invoiceId },
      { lockMode: LockMode.PESSIMISTIC_WRITE },
    );
    if (invoice.status !== InvoiceStatus.Open) return;
    invoice.status = InvoiceStatus.Void;
    invoice.voidedAt = at;
    invoice.nextAttemptAt = null;
    invoice.updatedAt = this.clock.now();
    await this.dunning.onVoided(tx, invoice, at);
    if (invoice.creditApplied > 0) {
      const customer = await tx.findOneOrFail(
        BillingCustomer,
        { tenantId: invoice.tenantId },
        { lockMode: LockMode.PESSIMISTIC_WRITE },
      );
      customer.balance += invoice.creditApplied;
      customer.updatedAt = this.clock.now();
    }
  }
  /** Gapless: the counter row is locked until the transaction ends, so a rollback gives the number back. */
  private async nextNumber(em: EntityManager): Promise<number> {
    const [row] = await em.execute<{ value: string }[]>(
      `update platform.billing_counter set value = value + 1 where name = 'invoice' returning value`,
    );
    if (!row)
      throw new Error(`The ${BillingCounter.name} row "invoice" is missing (seed migration)`);
    return Number(row.value);
  }

  async list(query: PageQuery): Promise<InvoicePageDto> {
    const em = this.tenantContext.em;
    const rows = await em.find(
      Invoice,
      narrow(
        {
          tenantId: this.tenantContext.tenant.id,
          status: { $ne: InvoiceStatus.Draft },
          ...(query.cursor ? { id: { $lt: query.cursor } } : {}),
        },
        this.cls.get('ability'),
        'read',
        'Invoice',
      ),
      {
        orderBy: { id: 'desc' },
        limit: query.limit + 1,
        populate: ['lines'],
        // Lines in a second query (invoice_id in the page's ids): a joined
        // populate with a limit pages through a grouped subquery that no index
        // can order, and scans every invoice at scale.
        strategy: LoadStrategy.SELECT_IN,
      },
    );
    return toPage(rows, query.limit, (row) => InvoiceDto.from(row));
  }

  async get(id: string): Promise<InvoiceDto> {
    return InvoiceDto.from(await this.load(this.tenantContext.em, id));
  }

  /** One of the current tenant's invoices, or 404 (another tenant's id looks the same as none). */
  async load(em: EntityManager, id: string): Promise<Invoice> {
    const invoice = await em.findOne(
      Invoice,
      { id, tenantId: this.tenantContext.tenant.id, status: { $ne: InvoiceStatus.Draft } },
      { populate: ['lines'] },
    );
    if (!invoice) throw new BillingException(BillingErrorCode.InvoiceNotFound, `No invoice ${id}.`);
    return invoice;
  }
}
