import type { Scenario } from '../lib/scenario';

// Scaffold: replaced by the scenario itself (issue 9).
export const billingRun: Scenario = {
  name: 'billing-run',
  description: 'the billing run over N due renewals on the simulated gateway',
  run({ report }) {
    report.skip('billing-run', 'not written yet');
    return Promise.resolve();
  },
};
