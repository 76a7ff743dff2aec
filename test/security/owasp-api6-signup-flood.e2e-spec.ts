import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

/**
 * OWASP API6:2023 on its own app (and file): the main suite lifts the rate
 * limits so they do not stop its attacks early, and a second app in one file
 * would replace the first one's passport strategies (passport is a singleton).
 */
describe('OWASP API6:2023 (rate limited)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp({ env: { RATE_LIMIT_IP_PER_MINUTE: '5' } });
  });
  afterAll(() => t?.close());

  it('API6:2023 a sign-up flood from one address is stopped with 429 problems (the per-address API limit)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 8; i += 1) {
      const res = await request(t.server)
        .post('/v1/auth/signup')
        .send({ email: `flood-${randomUUID()}@example.com`, password: 'x' });
      statuses.push(res.status);
      if (res.status === 429) expectProblem(res, 429, res.body.code as string);
    }
    expect(statuses).toContain(429);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
  });
});
