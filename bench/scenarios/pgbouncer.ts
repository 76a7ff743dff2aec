import type { Scenario } from '../lib/scenario';

// Scaffold: replaced by the scenario itself (issue 9).
export const pgbouncer: Scenario = {
  name: 'pgbouncer',
  description: 'the app behind PgBouncer in transaction-pooling mode at scale',
  run({ report }) {
    report.skip('pgbouncer', 'not written yet');
    return Promise.resolve();
  },
};
