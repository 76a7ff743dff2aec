import { BigIntType } from '@mikro-orm/core';

/**
 * Money columns: integer minor units (cents) in a `bigint`, read as a JS
 * number. Safe to 2^53 minor units, far beyond any invoice; never a float.
 */
export const moneyType = () => new BigIntType('number');

/** ISO 4217 currencies the catalog may price in (lower case, as Stripe spells them). */
export const CURRENCIES = ['usd', 'eur', 'gbp'] as const;
export type Currency = (typeof CURRENCIES)[number];

export enum BillingInterval {
  Month = 'month',
  Year = 'year',
}
