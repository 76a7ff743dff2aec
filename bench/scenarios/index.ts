import type { Scenario } from '../lib/scenario';
import { billingRun } from './billing-run';
import { http } from './http';
import { pgbouncer } from './pgbouncer';
import { replicas } from './replicas';
import { startup } from './startup';
import { tenantScale } from './tenant-scale';
import { webhooks } from './webhooks';

/** In the order they run: cheap and independent first, the big data sets last. */
export const scenarios: Scenario[] = [
  startup,
  http,
  tenantScale,
  billingRun,
  webhooks,
  pgbouncer,
  replicas,
];
