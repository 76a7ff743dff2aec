import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Counter } from 'prom-client';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import { Metrics } from '../../observability/metrics';
import { withDeadline } from '../../observability/scrape';
import type { DunningCampaign } from '../entities/dunning-campaign.entity';
import type { DunningAction } from './recovery-policy';

/**
 * Payment and recovery metrics: attempts by outcome and category, campaigns
 * started, steps run, amount recovered (counters, per process), and running
 * campaigns by their last step (a gauge read from the database when scraped,
 * so every replica reports the same truth).
 */
@Injectable()
export class RecoveryMetrics {
  private readonly attempts: Counter<'outcome' | 'category'>;
  private readonly campaigns: Counter<'category'>;
  private readonly steps: Counter<'action'>;
  private readonly recoveredAmount: Counter<'currency'>;
  private readonly recoveredCampaigns: Counter<'last_action'>;

  constructor(metrics: Metrics, em: EntityManager, @InjectConfig() config: AppConfig) {
    this.attempts = metrics.counter(
      'groundwork_payment_attempts_total',
      'Payment attempts by outcome (succeeded, failed, requires_action, unknown) and failure category',
      ['outcome', 'category'],
    );
    this.campaigns = metrics.counter(
      'groundwork_dunning_campaigns_started_total',
      'Dunning campaigns started, by the category of the first failure',
      ['category'],
    );
    this.steps = metrics.counter('groundwork_dunning_steps_total', 'Dunning steps run, by action', [
      'action',
    ]);
    this.recoveredAmount = metrics.counter(
      'groundwork_payment_recovered_amount_total',
      'Amount recovered by dunning, in minor units of the currency',
      ['currency'],
    );
    this.recoveredCampaigns = metrics.counter(
      'groundwork_dunning_recovered_total',
      'Campaigns recovered, by the last step that ran before the payment',
      ['last_action'],
    );
    metrics.gauge(
      'groundwork_dunning_tenants',
      'Organisations in dunning, by the last step run (none: failed, no step yet; paused)',
      ['step'],
      async (gauge) => {
        // A sick database must not hold the whole scrape past Prometheus' deadline.
        const rows = await withDeadline(
          em.fork().execute<{ step: string; tenants: number }[]>(
            `select case when status = 'paused' then 'paused' else coalesce(last_action, 'none') end as step,
                    count(distinct tenant_id)::int as tenants
               from platform.dunning_campaign
              where status in ('active', 'paused')
              group by 1`,
          ),
          config.database.healthTimeoutMs,
          'counting tenants in dunning',
        );
        gauge.reset();
        for (const row of rows) gauge.set({ step: row.step }, row.tenants);
      },
    );
  }

  attempt(outcome: string, category: string | null | undefined): void {
    this.attempts.inc({ outcome, category: category ?? 'none' });
  }

  started(campaign: DunningCampaign): void {
    this.campaigns.inc({ category: campaign.firstCategory });
  }

  stepRan(action: DunningAction): void {
    this.steps.inc({ action });
  }

  recovered(campaign: DunningCampaign, amount: number): void {
    this.recoveredAmount.inc({ currency: campaign.currency.trim() }, amount);
    this.recoveredCampaigns.inc({ last_action: campaign.lastAction ?? 'none' });
  }
}
