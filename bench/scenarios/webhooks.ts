import type { Scenario } from '../lib/scenario';

// Scaffold: replaced by the scenario itself (issue 9).
export const webhooks: Scenario = {
  name: 'webhooks',
  description: 'webhook ingestion rate (signed Stripe events stored and acknowledged)',
  run({ report }) {
    report.skip('webhooks', 'not written yet');
    return Promise.resolve();
  },
};
