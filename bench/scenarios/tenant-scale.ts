import type { Scenario } from '../lib/scenario';

// Scaffold: replaced by the scenario itself (issue 9).
export const tenantScale: Scenario = {
  name: 'tenant-scale',
  description: 'provisioning rate, one migration over N schemas, reads with 10 vs N tenants',
  run({ report }) {
    report.skip('tenant-scale', 'not written yet');
    return Promise.resolve();
  },
};
