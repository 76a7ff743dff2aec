import { InvoiceLineKind } from '../entities/invoice.entity';
import { BillingInterval } from '../entities/money';
import { Price } from '../entities/price.entity';
import type { LineInput } from '../invoices/invoice.service';
import { Rate } from './proration';

/** One formatter for every line: `toLocaleDateString` with options builds a new one per call. */
const DAY = new Intl.DateTimeFormat('en-GB', {
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  timeZone: 'UTC',
});
const day = (date: Date) => DAY.format(date);

const seats = (quantity: number) => `${quantity} seat${quantity === 1 ? '' : 's'}`;
const cadence = (interval: BillingInterval) =>
  interval === BillingInterval.Year ? 'yearly' : 'monthly';

/** The words on an invoice line, so a customer can follow a proration. */
export function describeLine(
  kind: 'plan' | 'proration_credit' | 'proration_debit',
  planName: string,
  rate: Rate,
  start: Date,
  end: Date,
): string {
  const what = `${planName} × ${seats(rate.quantity)} (${cadence(rate.interval)})`;
  switch (kind) {
    case 'plan':
      return `${what}, ${day(start)} – ${day(end)}`;
    case 'proration_credit':
      return `Unused time on ${what} from ${day(start)} to ${day(end)}`;
    case 'proration_debit':
      return `Remaining time on ${what} from ${day(start)} to ${day(end)}`;
  }
}

/** The line billing a full period of a price at a seat count. */
export function planLine(
  planName: string,
  price: Price,
  quantity: number,
  start: Date,
  end: Date,
): LineInput {
  const rate = { unitAmount: price.unitAmount, quantity, interval: price.interval };
  return {
    kind: InvoiceLineKind.Plan,
    description: describeLine('plan', planName, rate, start, end),
    quantity,
    unitAmount: price.unitAmount,
    amount: price.unitAmount * quantity,
    price,
    interval: price.interval,
    periodStart: start,
    periodEnd: end,
  };
}
