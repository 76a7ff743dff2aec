import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { InvoiceReason } from '../../src/billing/entities/invoice.entity';
import { JOB_SCHEMA } from '../../src/common/jobs/job-queue';
import { inParallel } from './parallel';
import type { SignedInOwner } from './tenant-fleet';

/** The seeded catalog's Pro plan, monthly, USD (migrations/platform/…_catalog_seed.ts). */
const PRO_MONTH = '0193a000-0000-7000-8001-000000000031';

/**
 * A card and a paid subscription for one tenant, bought by its owner through
 * the API as a customer buys one (the first invoice and its charge are the
 * billing engine's own). `label` names the tenant in errors.
 */
export async function buySubscription(
  appUrl: string,
  authorization: string,
  label: string,
  plan: { priceId: string; quantity: number },
): Promise<void> {
  const post = async (path: string, body: unknown) => {
    const response = await fetch(`${appUrl}${path}`, {
      method: 'POST',
      headers: { authorization, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!response.ok)
      throw new Error(`${path} for ${label}: ${response.status} ${await response.text()}`);
  };
  await post('/v1/billing/payment-methods', { paymentMethodId: 'pm_card_visa' });
  await post('/v1/billing/subscription', { ...plan, trial: false });
}

/** Pro monthly for each owner's tenant, a few at a time: each purchase charges the simulated gateway. */
export async function subscribeAll(
  appUrl: string,
  owners: readonly SignedInOwner[],
): Promise<void> {
  await inParallel(owners.length, 4, (i) =>
    buySubscription(appUrl, owners[i].authorization, owners[i].tenantId, {
      priceId: PRO_MONTH,
      quantity: 1,
    }),
  );
}

/**
 * Moves the current period of these tenants' subscriptions to end at `at`, so
 * the scheduled billing run finds them due from then on (the bench's stand-in
 * for a month passing; the billing clock is the wall clock).
 */
export async function endPeriodsAt(
  client: Client,
  tenantIds: readonly string[],
  at: Date,
): Promise<void> {
  await client.query(
    `update platform.subscription set current_period_end = $2 where tenant_id = any($1::uuid[])`,
    [tenantIds, at],
  );
}

/** How often each tenant was renewed and charged: exactly once is the only right answer. */
export interface RenewalCounts {
  /** Tenants with exactly one renewal invoice carrying exactly one payment attempt. */
  once: number;
  /** Tenants with no renewal invoice yet. */
  none: number;
  /** Tenants with one renewal invoice not charged (yet: the charge follows the invoice's commit). */
  uncharged: number;
  /** Tenants with more than one renewal invoice, or a renewal invoice charged more than once. */
  duplicated: number;
  /** Renewal invoices, and payment attempts on them, in all. */
  invoices: number;
  attempts: number;
}

export async function renewalCounts(
  client: Client,
  tenantIds: readonly string[],
): Promise<RenewalCounts> {
  const { rows } = await client.query<{ invoices: number; attempts: number; max_attempts: number }>(
    `select count(i.id)::int as invoices,
            coalesce(sum(a.n), 0)::int as attempts,
            coalesce(max(a.n), 0)::int as max_attempts
       from unnest($1::uuid[]) as t(id)
       left join platform.invoice i on i.tenant_id = t.id and i.reason = $2
       left join lateral (select count(*)::int as n from platform.payment_attempt p
                           where p.invoice_id = i.id) a on true
      group by t.id`,
    [tenantIds, InvoiceReason.SubscriptionCycle],
  );
  const counts: RenewalCounts = {
    once: 0,
    none: 0,
    uncharged: 0,
    duplicated: 0,
    invoices: 0,
    attempts: 0,
  };
  for (const row of rows) {
    counts.invoices += row.invoices;
    counts.attempts += row.attempts;
    if (row.invoices === 0) counts.none++;
    else if (row.invoices > 1 || row.max_attempts > 1) counts.duplicated++;
    else if (row.max_attempts === 0) counts.uncharged++;
    else counts.once++;
  }
  return counts;
}

/** Every tenant renewed and charged (once or, wrongly, more): nothing left in progress. */
export const settled = (counts: RenewalCounts): boolean =>
  counts.none === 0 && counts.uncharged === 0;

/** Waits up to `timeoutMs` for these tenants' renewals to settle; returns the counts then. */
export async function waitForRenewals(
  client: Client,
  tenantIds: readonly string[],
  timeoutMs: number,
): Promise<RenewalCounts> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const counts = await renewalCounts(client, tenantIds);
    if (settled(counts) || Date.now() > until) return counts;
    await sleep(500);
  }
}

/** One line for a report row. */
export const describeRenewals = (c: RenewalCounts): string =>
  `${c.once} renewed and charged once, ${c.none} not renewed, ${c.uncharged} not charged, ` +
  `${c.duplicated} duplicated (${c.invoices} invoices, ${c.attempts} charges)`;

/** How a scheduled queue fired over a window: once per tick is the only right answer. */
export interface CronFiring {
  queue: string;
  cron: string;
  /** Minutes in which pg-boss created at least one job of the queue. */
  ticks: number;
  jobs: number;
  /** Minutes with more than one job: a tick that fired twice (two replicas both firing it). */
  duplicated: number;
  /** Minutes between the first and the last tick with no job: a tick that never fired. */
  missed: number;
}

/**
 * The every-minute schedules' jobs (pg-boss's `schedule` table) created in
 * [`from`, `to`), live and archived, counted per minute: a cron that fires
 * once across every replica has exactly one job in each minute.
 */
export async function everyMinuteFirings(
  client: Client,
  from: Date,
  to: Date,
): Promise<CronFiring[]> {
  const { rows } = await client.query<CronFiring>(
    `with per_minute as (
       select j.name, date_trunc('minute', j.created_on) as minute, count(*)::int as jobs
         from (select name, created_on from ${JOB_SCHEMA}.job
               union all
               select name, created_on from ${JOB_SCHEMA}.archive) j
        where j.created_on >= $1 and j.created_on < $2
        group by 1, 2)
     select s.name as queue, s.cron,
            count(m.minute)::int as ticks,
            coalesce(sum(m.jobs), 0)::int as jobs,
            count(*) filter (where m.jobs > 1)::int as duplicated,
            coalesce(extract(epoch from max(m.minute) - min(m.minute))::int / 60 + 1 - count(m.minute), 0)::int
              as missed
       from ${JOB_SCHEMA}.schedule s
       left join per_minute m on m.name = s.name
      where s.cron = '* * * * *'
      group by s.name, s.cron
      order by s.name`,
    [from, to],
  );
  return rows;
}
