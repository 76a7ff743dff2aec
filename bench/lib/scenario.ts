import type { BenchPostgres } from './postgres';
import type { Report } from './report';

/** The flags of `npm run bench`; every size is a flag so a quick run is one command away. */
export interface BenchOptions {
  /** Tenants in the HTTP data set (each with members, a subscription, invoices and tickets). */
  tenants: number;
  /** Published knowledge-base articles in the HTTP data set. */
  articles: number;
  /** Tenant schemas for the scale scenarios (migration, 10 vs N latency). */
  schemas: number;
  /** Due renewals in the billing run. */
  renewals: number;
  /** Webhook events posted in the ingestion scenario. */
  webhooks: number;
  /** Mixed-load request rate (req/s across all endpoints). */
  rate: number;
  /** Seconds each load phase runs. */
  duration: number;
  /** Connections for saturation runs. */
  connections: number;
}

export interface BenchContext {
  options: BenchOptions;
  /** A folder of the run's own, removed at the end. */
  scratch: string;
  postgres: BenchPostgres;
  report: Report;
}

export interface Scenario {
  /** Used by `--only` and `--skip`. */
  name: string;
  /** One line for `--help` and the progress output. */
  description: string;
  run(context: BenchContext): Promise<void>;
}
