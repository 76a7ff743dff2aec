import request from 'supertest';
import { TenantService } from '../../src/tenancy/tenant.service';
import { createOrg, Org } from '../support/factories';
import { expectProblem, LogCapture } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const INTERNAL_MESSAGE = 'boom secret-internal';

/** An error nobody meant to throw: a generic 500 for the client, the whole story in the log. */
describe('unexpected errors', () => {
  let t: TestApp;
  let org: Org;
  const logs = new LogCapture();

  beforeAll(async () => {
    t = await bootTestApp({
      env: { LOG_LEVEL: 'info' },
      logDestination: logs,
      override: (b) =>
        b.overrideProvider(TenantService).useValue({
          getCurrent: () => {
            throw new Error(INTERNAL_MESSAGE);
          },
        }),
    });
    org = await createOrg(t.app);
  });
  afterAll(() => t.close());

  function failingRequest(requestId?: string) {
    // A valid token: the request gets through authentication to the failing service.
    let req = request(t.server).get('/v1/tenant').set(org.headers);
    if (requestId) req = req.set('X-Request-Id', requestId);
    return req;
  }

  it('answers 500 internal_error without leaking the message or the stack', async () => {
    const res = await failingRequest();
    const problem = expectProblem(res, 500, 'internal_error');
    expect(problem.detail).toMatch(/request id/i);
    expect(res.text).not.toContain('boom');
    expect(res.text).not.toContain('secret-internal');
    expect(res.text).not.toMatch(/\bat .+:\d+:\d+/); // a stack frame
    expect(res.text).not.toContain('internal-error.e2e-spec');
    expect(Object.keys(problem).sort()).toEqual(
      ['code', 'detail', 'requestId', 'status', 'title', 'type'].sort(),
    );
  });

  it('logs the error with its stack and the request id', async () => {
    logs.clear();
    const res = await failingRequest('trace-500-check');
    expect(res.status).toBe(500);
    expect(res.body.requestId).toBe('trace-500-check');

    const line = await logs.waitFor(
      (e) => e.level >= 50 && JSON.stringify(e.err ?? {}).includes(INTERNAL_MESSAGE),
    );
    expect(line.requestId).toBe('trace-500-check');
    const err = line.err as { message?: string; stack?: string };
    expect(err.message).toBe(INTERNAL_MESSAGE);
    expect(err.stack).toContain(`Error: ${INTERNAL_MESSAGE}`);
    expect(err.stack).toMatch(/\n\s+at /);
    // The request's credentials do not ride along with the error.
    expect(logs.text).not.toContain(org.token);
    expect(logs.text).not.toContain(org.token.split('.')[2]); // not even its signature
  });
});
