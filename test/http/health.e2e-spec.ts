import request from 'supertest';
import { ShutdownState } from '../../src/health/shutdown.state';
import { bootTestApp, TestApp } from '../support/test-app';

/** Kubernetes probes, outside the /v1 prefix. */
describe('health', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp();
  });
  afterAll(() => t.close());

  it('GET /health/live answers 200 {status: ok}', async () => {
    const res = await request(t.server).get('/health/live').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toMatchObject({ status: 'ok' });
  });

  it('GET /health/ready answers 200 with database, migrations and shutdown up', async () => {
    const res = await request(t.server).get('/health/ready').expect(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      info: {
        database: { status: 'up' },
        migrations: { status: 'up' },
        shutdown: { status: 'up' },
      },
      error: {},
    });
    expect(res.body.info.process).toBeUndefined();
  });

  it('GET /health also reports the process', async () => {
    const res = await request(t.server).get('/health').expect(200);
    expect(res.body).toMatchObject({
      status: 'ok',
      info: {
        database: { status: 'up' },
        migrations: { status: 'up' },
        shutdown: { status: 'up' },
        process: { status: 'up' },
      },
    });
    const proc = res.body.info.process;
    // Uptime only: memory figures are not for an unauthenticated endpoint.
    expect(proc).toEqual({ status: 'up', uptimeSeconds: expect.any(Number) });
  });

  it('is not under the /v1 prefix', async () => {
    const res = await request(t.server).get('/v1/health/live').expect(404);
    expect(res.body.code).toBe('not_found');
  });

  // Last: shutdown cannot be undone on this app.
  it('once shutdown begins, readiness answers 503 with shutdown down while liveness stays 200', async () => {
    t.app.get(ShutdownState).begin();
    const ready = await request(t.server).get('/health/ready').expect(503);
    expect(ready.body).toMatchObject({
      status: 'error',
      error: { shutdown: { status: 'down' } },
    });
    expect(ready.body.info.database).toEqual({ status: 'up' });
    await request(t.server).get('/health/live').expect(200);
  });
});
