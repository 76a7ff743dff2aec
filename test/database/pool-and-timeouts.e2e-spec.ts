import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import request from 'supertest';
import { LIFT_STATEMENT_TIMEOUT } from '../../src/database/statement-timeout';
import { createTestDatabase, TestDatabase } from '../support/database';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const backendPid = async (app: TestApp): Promise<number> => {
  const [row] = await app.em().execute<{ pid: number }[]>('select pg_backend_pid() as pid');
  return row.pid;
};

/**
 * DATABASE_STATEMENT_TIMEOUT_MS and DATABASE_CONNECTION_MAX_LIFETIME_MS
 * measured on a real PostgreSQL: what a request sees when a statement runs
 * too long, that long work can lift the limit without leaking it to the
 * pool, and that old connections are replaced.
 */
describe('database pool and timeouts', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(() => db.drop());

  describe('with a 300 ms statement timeout', () => {
    let app: TestApp;

    beforeAll(async () => {
      app = await bootTestApp({ database: db, env: { DATABASE_STATEMENT_TIMEOUT_MS: '300' } });
    });
    afterAll(() => app.close());

    it('answers a request whose query is cut off with a 503 problem, then serves it again', async () => {
      // Another session holds the catalog: the pricing page's read waits on the lock past the timeout.
      const blocker = new Client({ connectionString: db.url });
      await blocker.connect();
      try {
        await blocker.query('begin');
        await blocker.query('lock table platform.plan in access exclusive mode');
        const started = Date.now();
        const res = await request(app.server).get('/v1/pricing');
        const problem = expectProblem(res, 503, 'database_timeout');
        expect(problem.detail).toMatch(/did not answer in time/);
        expect(JSON.stringify(problem)).not.toMatch(/plan|select|statement timeout/i);
        expect(res.headers['retry-after']).toBe('1');
        expect(Date.now() - started).toBeLessThan(3000);
      } finally {
        await blocker.query('rollback');
        await blocker.end();
      }
      await request(app.server).get('/v1/pricing').expect(200);
    });

    it('lets a transaction lift it with SET LOCAL, and the connection goes back with it in force', async () => {
      await app.em().transactional(async (em) => {
        await em.execute(LIFT_STATEMENT_TIMEOUT);
        await em.execute('select pg_sleep(0.5)');
      });
      await expect(app.em().execute('select pg_sleep(0.5)')).rejects.toMatchObject({
        code: '57014',
      });
    });
  });

  describe('connection lifetime', () => {
    it('replaces a pooled connection older than DATABASE_CONNECTION_MAX_LIFETIME_MS', async () => {
      const app = await bootTestApp({
        database: db,
        env: { DATABASE_POOL_MAX: '1', DATABASE_CONNECTION_MAX_LIFETIME_MS: '400' },
      });
      try {
        const first = await backendPid(app);
        expect(await backendPid(app)).toBe(first);
        // Past the lifetime and its jitter (a tenth): the next query gets a new backend.
        await sleep(600);
        expect(await backendPid(app)).not.toBe(first);
      } finally {
        await app.close();
      }
    });

    it('keeps a connection for good with 0', async () => {
      const app = await bootTestApp({
        database: db,
        env: { DATABASE_POOL_MAX: '1', DATABASE_CONNECTION_MAX_LIFETIME_MS: '0' },
      });
      try {
        const first = await backendPid(app);
        await sleep(600);
        expect(await backendPid(app)).toBe(first);
      } finally {
        await app.close();
      }
    });
  });
});
