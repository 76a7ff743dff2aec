import { Injectable } from '@nestjs/common';
import { IsolationLevel } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import type { Histogram } from 'prom-client';
import { Clock } from '../../common/clock';
import { Metrics } from '../metrics';
import {
  addDays,
  arpaOf,
  CONVERSION_WINDOW_DAYS,
  CumulativeBucket,
  daysInclusive,
  histogramQuantile,
  isExcludedRoute,
  MAX_RANGE_DAYS,
  meets,
  MetricKey,
  MetricUnit,
  MS_DECIMALS,
  mrrOf,
  netRevenueChurn,
  parseDay,
  PER_100_DECIMALS,
  ratio,
  RevenueMovement,
  roundTo,
  TARGETS,
} from './business-metrics';
import { BusinessMetricsErrorCode, BusinessMetricsException } from './business-metrics.exception';
import {
  BusinessMetricsDto,
  BusinessMetricsQuery,
  MetricFigureDto,
} from './dtos/business-metrics.dto';

/** The HTTP latency histogram registered by `instrumentHttp` (src/observability/http-metrics.ts). */
const HTTP_DURATION_METRIC = 'groundwork_http_request_duration_seconds';

/** Counts come back from PostgreSQL as numbers (`::int`) and sums of money as text (`bigint`). */
type Count = number;
type BigText = string | number;

/**
 * The business figures of a period, for platform staff: conversion,
 * onboarding, payments, recovery, support load, revenue and latency, each
 * beside its launch target. Every figure is one SQL aggregate over the
 * platform schema (no loop over tenants), all read in one repeatable-read
 * snapshot so that they agree with each other. Definitions, tables and
 * rounding: docs/metrics/business-metrics.md.
 */
@Injectable()
export class BusinessMetricsService {
  /** When this process started: the latency figures cover what it answered since. */
  private readonly processStart = new Date(Date.now() - process.uptime() * 1000);

  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
    private readonly metrics: Metrics,
  ) {}

  async report(query: BusinessMetricsQuery): Promise<BusinessMetricsDto> {
    const { start, end } = this.period(query);
    const snapshot = await this.em.fork().transactional(
      async (tx) => ({
        cohort: await this.cohort(tx, start, end),
        trials: await this.trials(tx, start, end),
        payments: await this.payments(tx, start, end),
        dunning: await this.dunning(tx, start, end),
        support: await this.support(tx, start, end),
        revenue: await this.revenue(tx, start, end),
      }),
      { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
    );
    const latency = await this.latency();
    const { cohort, trials, payments, dunning, support, revenue } = snapshot;

    const figures: MetricFigureDto[] = [
      rateFigure('subscription_conversion_rate', cohort.converted, cohort.signedUp),
      rateFigure('trial_conversion_rate', trials.converted, trials.ended),
      rateFigure('onboarding_completion_rate', cohort.onboarded, cohort.signedUp),
      rateFigure('payment_success_rate', payments.succeeded, payments.succeeded + payments.failed),
      rateFigure('dunning_recovery_rate', dunning.recovered, dunning.ended),
      figure(
        'support_tickets_per_100_active_users',
        ratio(support.tickets * 100, support.activeUsers, PER_100_DECIMALS),
        'tickets_per_100_users',
        { basis: { numerator: support.tickets, denominator: support.activeUsers } },
      ),
    ];
    for (const [currency, movement] of revenue) figures.push(...moneyFigures(currency, movement));
    figures.push(
      figure('http_latency_average_ms', latency.averageMs, 'ms'),
      figure('http_latency_p95_ms', latency.p95Ms, 'ms'),
    );
    return {
      from: query.from,
      to: query.to,
      periodStart: start,
      periodEnd: end,
      latencySince: this.processStart,
      figures,
    };
  }

  /** [midnight of from, midnight after to), the end no later than now. */
  private period(query: BusinessMetricsQuery): { start: Date; end: Date } {
    // The DTO has checked the shape; a day that does not exist is refused there too.
    const from = parseDay(query.from)!;
    const to = parseDay(query.to)!;
    if (from > to) {
      throw new BusinessMetricsException(
        BusinessMetricsErrorCode.RangeInvalid,
        `from (${query.from}) must not be after to (${query.to}).`,
        { from: query.from, to: query.to },
      );
    }
    const days = daysInclusive(from, to);
    if (days > MAX_RANGE_DAYS) {
      throw new BusinessMetricsException(
        BusinessMetricsErrorCode.RangeTooLong,
        `The period covers ${days} days; at most ${MAX_RANGE_DAYS} are allowed.`,
        { days, maxDays: MAX_RANGE_DAYS },
      );
    }
    const now = this.clock.now();
    if (from > now) {
      throw new BusinessMetricsException(
        BusinessMetricsErrorCode.RangeInFuture,
        `The period starts on ${query.from}, after today (${now.toISOString().slice(0, 10)}): nothing has happened in it yet.`,
        { from: query.from, today: now.toISOString().slice(0, 10) },
      );
    }
    const dayAfter = addDays(to, 1);
    return { start: from, end: dayAfter < now ? dayAfter : now };
  }

  /** Organisations signed up in the period: converted within 30 days, onboarding completed. */
  private async cohort(em: EntityManager, start: Date, end: Date) {
    const [row] = await em.execute<{ signed_up: Count; converted: Count; onboarded: Count }[]>(
      `select count(*)::int as signed_up,
              count(*) filter (where exists (
                select 1 from platform.invoice i
                 where i.tenant_id = t.id
                   and i.status = 'paid' and i.amount_paid > 0
                   and i.paid_at <= t.created_at + interval '${CONVERSION_WINDOW_DAYS} days'
              ))::int as converted,
              count(*) filter (where o.completed)::int as onboarded
         from platform.tenant t
         left join platform.tenant_onboarding o on o.tenant_id = t.id
        where t.created_at >= ? and t.created_at < ?`,
      [start, end],
    );
    return { signedUp: row.signed_up, converted: row.converted, onboarded: row.onboarded };
  }

  /** Trials that ended in the period (at their trial end, or earlier when canceled), and those that paid. */
  private async trials(em: EntityManager, start: Date, end: Date) {
    const [row] = await em.execute<{ ended: Count; converted: Count }[]>(
      `select count(*)::int as ended,
              count(*) filter (where exists (
                select 1 from platform.invoice i
                 where i.tenant_id = s.tenant_id and i.subscription_id = s.id
                   and i.status = 'paid' and i.amount_paid > 0
              ))::int as converted
         from platform.subscription s
        where s.trial_end is not null
          and least(s.trial_end, coalesce(s.ended_at, s.trial_end)) >= ?
          and least(s.trial_end, coalesce(s.ended_at, s.trial_end)) < ?`,
      [start, end],
    );
    return { ended: row.ended, converted: row.converted };
  }

  /** Charge attempts made in the period whose outcome is settled. */
  private async payments(em: EntityManager, start: Date, end: Date) {
    const [row] = await em.execute<{ succeeded: Count; failed: Count }[]>(
      `select count(*) filter (where a.status = 'succeeded')::int as succeeded,
              count(*) filter (where a.status = 'failed')::int as failed
         from platform.payment_attempt a
        where a.status in ('succeeded', 'failed')
          and a.created_at >= ? and a.created_at < ?`,
      [start, end],
    );
    return { succeeded: row.succeeded, failed: row.failed };
  }

  /** Dunning campaigns that ended in the period, and how many of them recovered the invoice. */
  private async dunning(em: EntityManager, start: Date, end: Date) {
    const [row] = await em.execute<{ ended: Count; recovered: Count }[]>(
      `select count(*)::int as ended,
              count(*) filter (where c.status = 'recovered')::int as recovered
         from platform.dunning_campaign c
        where c.status in ('recovered', 'canceled', 'written_off', 'closed')
          and c.ended_at >= ? and c.ended_at < ?`,
      [start, end],
    );
    return { ended: row.ended, recovered: row.recovered };
  }

  /** Tickets opened in the period, and users who signed in (or kept a session going) in it. */
  private async support(em: EntityManager, start: Date, end: Date) {
    const [row] = await em.execute<{ tickets: Count; active_users: Count }[]>(
      `select (select count(*)::int
                 from platform.support_queue q
                where q.created_at >= ? and q.created_at < ?) as tickets,
              (select count(distinct r.user_id)::int
                 from platform.refresh_token r
                where r.created_at >= ? and r.created_at < ?
                  and exists (
                    select 1 from platform.membership m
                      join platform.tenant t on t.id = m.tenant_id
                     where m.user_id = r.user_id and t.status = 'active'
                  )) as active_users`,
      [start, end, start, end],
    );
    return { tickets: row.tickets, activeUsers: row.active_users };
  }

  /**
   * Each account's recurring rate just before the period starts and just
   * before it ends (so that one month's end is the next one's start), per
   * currency, from the invoice lines that bill those moments: of the lines
   * covering the moment, the one with the latest start wins, so a mid-period
   * change counts from its own start. Then compared account by account.
   */
  private async revenue(
    em: EntityManager,
    start: Date,
    end: Date,
  ): Promise<Map<string, RevenueMovement>> {
    const rows = await em.execute<
      {
        currency: string;
        start_annual: BigText;
        end_annual: BigText;
        churned: BigText;
        contraction: BigText;
        expansion: BigText;
        new: BigText;
        paying: Count;
      }[]
    >(
      `with instant (which, at) as (
         values ('start', ?::timestamptz), ('end', ?::timestamptz)
       ),
       rate as (
         select distinct on (x.which, l.tenant_id)
                x.which, l.tenant_id,
                coalesce(i.currency, p.currency) as currency,
                case coalesce(l.interval, p.interval)
                  when 'year' then l.unit_amount * l.quantity
                  else l.unit_amount * l.quantity * 12
                end as annual
           from instant x
           join platform.invoice_line l
             on l.period_start < x.at and l.period_end >= x.at
            and l.kind in ('plan', 'proration_debit')
           left join platform.price p on p.id = l.price_id
           left join platform.invoice i on i.id = l.invoice_id
           left join platform.subscription s on s.id = i.subscription_id
          where (
                  (i.id is not null
                   and (i.status = 'paid'
                        -- A renewal awaiting payment of a subscription that has paid an
                        -- invoice: a past-due customer. A trial that lapsed unpaid has none.
                        or (i.status = 'open' and i.reason <> 'subscription_create'
                            and exists (
                              select 1 from platform.invoice earlier
                               where earlier.subscription_id = i.subscription_id
                                 and earlier.status = 'paid' and earlier.total > 0)))
                   and (s.id is null or s.ended_at is null or s.ended_at >= x.at))
                  or (l.invoice_id is null
                      and exists (
                        select 1 from platform.subscription live
                         where live.tenant_id = l.tenant_id
                           and live.status not in ('incomplete', 'incomplete_expired')
                           and (live.ended_at is null or live.ended_at >= x.at)))
                )
          order by x.which, l.tenant_id, l.period_start desc, l.created_at desc, l.id desc
       ),
       account as (
         select coalesce(b.tenant_id, e.tenant_id) as tenant_id,
                trim(coalesce(b.currency, e.currency)) as currency,
                coalesce(b.annual, 0) as start_annual,
                coalesce(e.annual, 0) as end_annual
           from (select * from rate where which = 'start') b
           full join (select * from rate where which = 'end') e
             on e.tenant_id = b.tenant_id and e.currency = b.currency
       )
       select currency,
              sum(start_annual)::bigint as start_annual,
              sum(end_annual)::bigint as end_annual,
              coalesce(sum(start_annual) filter (where start_annual > 0 and end_annual = 0), 0)::bigint as churned,
              coalesce(sum(start_annual - end_annual)
                filter (where end_annual > 0 and end_annual < start_annual), 0)::bigint as contraction,
              coalesce(sum(end_annual - start_annual)
                filter (where start_annual > 0 and end_annual > start_annual), 0)::bigint as expansion,
              coalesce(sum(end_annual) filter (where start_annual = 0 and end_annual > 0), 0)::bigint as new,
              count(*) filter (where end_annual > 0)::int as paying
         from account
        group by currency
       having sum(start_annual) > 0 or sum(end_annual) > 0
        order by currency`,
      [start, end],
    );
    return new Map(
      rows.map((row) => [
        row.currency,
        {
          startAnnual: BigInt(row.start_annual),
          endAnnual: BigInt(row.end_annual),
          churnedAnnual: BigInt(row.churned),
          contractionAnnual: BigInt(row.contraction),
          expansionAnnual: BigInt(row.expansion),
          newAnnual: BigInt(row.new),
          payingAccounts: row.paying,
        },
      ]),
    );
  }

  /** Average and p95 of this process's HTTP answers (probes and scrapes left out), in ms. */
  private async latency(): Promise<{ averageMs: number | null; p95Ms: number | null }> {
    const histogram = this.metrics.registry.getSingleMetric(HTTP_DURATION_METRIC) as
      Histogram | undefined;
    if (!histogram) return { averageMs: null, p95Ms: null };
    const { values } = await histogram.get();
    const buckets = new Map<number, number>();
    let sum = 0;
    let count = 0;
    for (const sample of values) {
      if (isExcludedRoute(String(sample.labels.route ?? ''))) continue;
      const name = (sample as { metricName?: string }).metricName ?? '';
      if (name.endsWith('_bucket')) {
        const le = sample.labels.le === '+Inf' ? Infinity : Number(sample.labels.le);
        buckets.set(le, (buckets.get(le) ?? 0) + sample.value);
      } else if (name.endsWith('_sum')) {
        sum += sample.value;
      } else if (name.endsWith('_count')) {
        count += sample.value;
      }
    }
    if (count === 0) return { averageMs: null, p95Ms: null };
    const cumulative: CumulativeBucket[] = [...buckets].map(([le, n]) => ({ le, count: n }));
    const p95 = histogramQuantile(0.95, cumulative);
    return {
      averageMs: roundTo((sum / count) * 1000, MS_DECIMALS),
      p95Ms: p95 === null ? null : roundTo(p95 * 1000, MS_DECIMALS),
    };
  }
}

function figure(
  key: MetricKey,
  value: number | null,
  unit: MetricUnit,
  extra: Partial<Pick<MetricFigureDto, 'currency' | 'basis'>> = {},
): MetricFigureDto {
  const target = TARGETS[key] ?? null;
  return {
    key,
    currency: extra.currency ?? null,
    value,
    unit,
    target,
    met: meets(value, target),
    basis: extra.basis ?? null,
  };
}

function rateFigure(key: MetricKey, numerator: number, denominator: number): MetricFigureDto {
  return figure(key, ratio(numerator, denominator), 'ratio', {
    basis: { numerator, denominator },
  });
}

function moneyFigures(currency: string, m: RevenueMovement): MetricFigureDto[] {
  const money = (key: MetricKey, value: number | null) =>
    figure(key, value, 'minor_units', { currency });
  return [
    money('mrr', mrrOf(m.endAnnual)),
    // ARR is the exact annual sum (12 × the unrounded MRR): no rounding at all.
    money('arr', Number(m.endAnnual)),
    money('arpa', arpaOf(m.endAnnual, m.payingAccounts)),
    figure('paying_accounts', m.payingAccounts, 'accounts', { currency }),
    figure('net_revenue_churn_rate', netRevenueChurn(m), 'ratio', { currency }),
    money('mrr_at_start', mrrOf(m.startAnnual)),
    money('churned_mrr', mrrOf(m.churnedAnnual)),
    money('contraction_mrr', mrrOf(m.contractionAnnual)),
    money('expansion_mrr', mrrOf(m.expansionAnnual)),
    money('new_mrr', mrrOf(m.newAnnual)),
  ];
}
