import { BillingInterval } from '../entities/money';
import { Rate } from './proration';

const day = (date: Date) =>
  date.toLocaleDateString('en-GB', {
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    timeZone: 'UTC',
  });

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
