import type { Scenario } from '../lib/scenario';

// Scaffold: replaced by the scenario itself (issue 9).
export const http: Scenario = {
  name: 'http',
  description:
    'HTTP endpoints under saturation and 500 req/s mixed load, beside a bare node:http + pg server',
  run({ report }) {
    report.skip('http', 'not written yet');
    return Promise.resolve();
  },
};
