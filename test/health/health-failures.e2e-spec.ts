import { connect } from 'node:net';
import { Controller, Get, Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import request from 'supertest';
import { Public } from '../../src/access/policies';
import { shutDown } from '../../src/lifecycle';
import { createTestDatabase, TestDatabase } from '../support/database';
import { TcpProxy } from '../support/tcp-proxy';
import { bootTestApp, TestApp } from '../support/test-app';

describe('readiness when the database goes away', () => {
  let db: TestDatabase;
  let proxy: TcpProxy;
  let t: TestApp;

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = new TcpProxy(target.hostname, Number(target.port));
    await proxy.start();
    t = await bootTestApp({
      database: { ...db, url: proxy.urlFor(db.url) },
      env: { HEALTH_DB_TIMEOUT_MS: '300' },
    });
  });
  afterAll(async () => {
    await t.close();
    await proxy.stop();
    await db.drop();
  });

  it('is ready while the database answers', async () => {
    const res = await request(t.server).get('/health/ready').expect(200);
    expect(res.body.info.database.status).toBe('up');
  });

  it('answers 503 naming the database when connections are refused, while liveness stays 200', async () => {
    proxy.cut();
    const ready = await request(t.server).get('/health/ready').expect(503);
    expect(ready.body.status).toBe('error');
    expect(ready.body.error.database.status).toBe('down');
    expect(ready.body.info.shutdown.status).toBe('up');
    await request(t.server).get('/health/live').expect(200);
  });

  it('answers 503 within its timeout when the database hangs', async () => {
    proxy.blackhole();
    const ready = await request(t.server).get('/health/ready').timeout(10_000).expect(503);
    expect(ready.body.error.database).toMatchObject({ status: 'down' });
  });

  it('recovers once the database is back', async () => {
    proxy.restore();
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await request(t.server).get('/health/ready')).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    expect(status).toBe(200);
  });
});

/** Holds a request open until the test lets it finish, then touches the database. */
@Injectable()
class Gate {
  entered!: Promise<void>;
  private enter!: () => void;
  private release!: () => void;
  private released!: Promise<void>;
  constructor() {
    this.reset();
  }
  reset(): void {
    this.entered = new Promise((r) => (this.enter = r));
    this.released = new Promise((r) => (this.release = r));
  }
  async pass(): Promise<void> {
    this.enter();
    await this.released;
  }
  open(): void {
    this.release();
  }
}

@Public()
@Controller('test/slow')
class SlowController {
  constructor(
    private readonly gate: Gate,
    private readonly em: EntityManager,
  ) {}
  @Get()
  async slow(): Promise<{ ok: number }> {
    await this.gate.pass();
    const [row] = await this.em.fork().execute<{ ok: number }[]>('select 1 as ok');
    return row;
  }
}

/** Whether a new TCP connection to `url` is refused (the listening socket is closed). */
function refusesConnections(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      // Reset: accepted while the server was closing its connections; ask again.
      if (error.code === 'ECONNRESET') resolve(false);
      else if (error.code === 'ECONNREFUSED') resolve(true);
      else reject(error);
    });
  });
}

/** Polls until the server stops accepting connections, i.e. `app.close()` is under way. */
async function untilRefusing(url: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await refusesConnections(url))) {
    if (Date.now() > deadline) throw new Error(`${url} still accepts connections after ${ms} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('graceful shutdown', () => {
  it('turns readiness 503 at once and keeps serving while alive during the drain delay', async () => {
    const gate = new Gate();
    const t = await bootTestApp({
      controllers: [SlowController],
      providers: [{ provide: Gate, useValue: gate }],
      env: { SHUTDOWN_DELAY_MS: '400' },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const url = await t.app.getUrl();

    const inFlight = request(url)
      .get('/v1/test/slow')
      .then((r) => r);
    await gate.entered;

    const events: string[] = [];
    const stopping = shutDown(t.app, t.config, async () => {
      events.push('database stopped');
      await t.db.drop();
    }).then(() => events.push('shutdown done'));

    // During the drain delay: not ready, still alive, still serving.
    const ready = await request(url).get('/health/ready').expect(503);
    expect(ready.body.error.shutdown).toMatchObject({ status: 'down', message: 'shutting down' });
    await request(url).get('/health/live').expect(200);

    gate.open();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: 1 });
    events.push('request finished');

    await stopping;
    expect(events).toEqual(['request finished', 'database stopped', 'shutdown done']);
    await expect(request(url).get('/health/live')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('lets a request in flight when the app starts closing finish, then closes the app and only then the database', async () => {
    const gate = new Gate();
    const t = await bootTestApp({
      controllers: [SlowController],
      providers: [{ provide: Gate, useValue: gate }],
      env: { SHUTDOWN_DELAY_MS: '0' },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const url = await t.app.getUrl();

    const inFlight = request(url)
      .get('/v1/test/slow')
      .then((r) => r);
    await gate.entered;

    const events: string[] = [];
    const stopping = shutDown(t.app, t.config, async () => {
      events.push('database stopped');
      await t.db.drop();
    }).then(() => events.push('shutdown done'));

    // app.close() is under way: the server no longer accepts connections, yet
    // neither the app nor the database may stop while the request is held.
    await untilRefusing(url);
    await new Promise((r) => setTimeout(r, 200));
    expect(events).toEqual([]);

    gate.open();
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: 1 });
    events.push('request finished');

    await stopping;
    expect(events).toEqual(['request finished', 'database stopped', 'shutdown done']);
  });
});
