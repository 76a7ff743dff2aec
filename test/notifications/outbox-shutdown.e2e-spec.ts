import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import { OutboxEmail, OutboxService } from '../../src/notifications/outbox.service';
import { createTestDatabase, TestDatabase } from '../support/database';
import { bootTestApp } from '../support/test-app';
import { eventually, SmtpSink } from './smtp-sink';

/** Stopping the app lets the send in flight finish and hands the rest of the batch back. */
describe('outbox worker on shutdown', () => {
  let sink: SmtpSink;
  let db: TestDatabase;

  beforeAll(async () => {
    sink = await SmtpSink.start();
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await sink?.close();
    await db?.drop();
  });

  /** Rows straight from the database, after the app (and its pool) is gone. */
  async function rows(subjects: string[]) {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      const result = await client.query<{ subject: string; status: string; attempts: number }>(
        'select subject, status, attempts from platform.outbox where subject = any($1)',
        [subjects],
      );
      return Object.fromEntries(result.rows.map((r) => [r.subject, [r.status, r.attempts]]));
    } finally {
      await client.end();
    }
  }

  it('finishes the message in flight before the app closes, and releases the others', async () => {
    const t = await bootTestApp({
      database: db,
      env: { SMTP_URL: sink.url, OUTBOX_POLL_MS: '50' },
    });
    const subjects = ['first', 'second', 'third'].map(
      (n) => `${n} ${randomBytes(3).toString('hex')}`,
    );
    const outbox = t.app.get(OutboxService);
    sink.hold();
    const started = sink.dataStarted;
    await t.em().transactional((em) => {
      for (const subject of subjects) {
        const message: OutboxEmail = {
          to: 'ops@example.com',
          subject,
          text: 'x',
          template: 'test.shutdown',
        };
        outbox.enqueue(em, message);
      }
      return Promise.resolve();
    });
    await eventually(() => sink.dataStarted > started, 'a send in flight');

    let closed = false;
    const closing = t.app.close().then(() => (closed = true));
    await sleep(500);
    expect(closed).toBe(false);
    expect(sink.messages).toEqual([]);

    sink.release();
    await closing;
    expect(sink.messages).toHaveLength(1);
    const sentSubject = sink.messages[0].subject;
    const state = await rows(subjects);
    expect(state[sentSubject]).toEqual(['sent', 1]);
    // The other two were claimed with it but not tried: back to pending, no attempt counted.
    for (const subject of subjects.filter((s) => s !== sentSubject)) {
      expect(state[subject]).toEqual(['pending', 0]);
    }
    await sleep(300);
    expect(sink.messages).toHaveLength(1);
  });
});
