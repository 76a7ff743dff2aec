import type { Scenario } from '../lib/scenario';

// Scaffold: replaced by the scenario itself (issue 9).
export const replicas: Scenario = {
  name: 'replicas',
  description: 'two replicas: scheduled jobs run once',
  run({ report }) {
    report.skip('replicas', 'not written yet');
    return Promise.resolve();
  },
};
