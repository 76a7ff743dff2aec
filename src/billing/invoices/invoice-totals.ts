/**
 * An invoice's totals from its lines and the customer's credit balance. Pure.
 * A negative total (a downgrade's credit exceeding the new charges) is owed to
 * the customer: nothing is due and the excess joins the balance.
 */
export interface InvoiceTotals {
  subtotal: number;
  total: number;
  /** Credit taken from the balance for this invoice. */
  creditApplied: number;
  amountDue: number;
  /** The customer's credit balance after this invoice. */
  balanceAfter: number;
}

export function invoiceTotals(lineAmounts: number[], balance: number): InvoiceTotals {
  for (const amount of [...lineAmounts, balance]) {
    if (!Number.isSafeInteger(amount))
      throw new RangeError(`not a whole minor-unit amount: ${amount}`);
  }
  if (balance < 0) throw new RangeError('a credit balance cannot be negative');
  const subtotal = lineAmounts.reduce((sum, amount) => sum + amount, 0);
  const total = subtotal;
  if (total <= 0) {
    return { subtotal, total, creditApplied: 0, amountDue: 0, balanceAfter: balance - total };
  }
  const creditApplied = Math.min(balance, total);
  return {
    subtotal,
    total,
    creditApplied,
    amountDue: total - creditApplied,
    balanceAfter: balance - creditApplied,
  };
}

/** `GW-000042`: the platform-wide sequence number of an invoice. */
export const invoiceNumber = (sequence: number): string =>
  `GW-${String(sequence).padStart(6, '0')}`;
