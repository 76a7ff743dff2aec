import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Clock, ManualClock } from '../../src/common/clock';
import {
  OutboxMessage,
  OutboxStatus,
} from '../../src/notifications/entities/outbox-message.entity';
import { OUTBOX_RETRY_POLICY } from '../../src/notifications/outbox-retry';
import { OutboxEmail, OutboxService } from '../../src/notifications/outbox.service';
import { MAIL_SEND_TIMEOUT_MS } from '../../src/notifications/mail-transport';
import { OUTBOX_LEASE_MS } from '../../src/notifications/outbox.worker';
import { bootTestApp, TestApp } from '../support/test-app';
import { eventually, SmtpSink } from './smtp-sink';

const MINUTE = 60_000;
const POLL_MS = 50;

/**
 * Retries, give-up and claim expiry, with time standing still until the test
 * moves the app's Clock: a retry happens exactly when it is due, never before.
 */
describe('outbox retries', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let clock: ManualClock;
  let outbox: OutboxService;

  const row = (id: string) => t.em().findOneOrFail(OutboxMessage, { id });
  const email = (label: string): OutboxEmail => ({
    to: 'linus@example.com',
    subject: `${label} ${randomBytes(4).toString('hex')}`,
    text: 'Reset your password: https://app.example.com/reset?token=xyz',
    template: 'auth.password_reset',
  });
  const enqueue = (message: OutboxEmail) =>
    t.em().transactional((em) => Promise.resolve(outbox.enqueue(em, message)));
  /** Several poll intervals: long enough for the worker to have acted if it was going to. */
  const settle = () => sleep(POLL_MS * 8);

  beforeAll(async () => {
    sink = await SmtpSink.start();
    clock = new ManualClock(new Date('2026-11-26T09:00:00.000Z'));
    t = await bootTestApp({
      env: { SMTP_URL: sink.url, OUTBOX_POLL_MS: String(POLL_MS) },
      override: (b) => b.overrideProvider(Clock).useValue(clock),
    });
    outbox = t.app.get(OutboxService);
  });
  afterEach(() => sink.accept());
  afterAll(async () => {
    await t?.close();
    await sink?.close();
  });

  it('retries a rejected message with backoff, and sends it once the receiver recovers', async () => {
    sink.reject(451, 'Greylisted, come back later');
    const message = email('Reset');
    const queued = await enqueue(message);
    const rejectedAt = clock.now().getTime();

    await eventually(async () => (await row(queued.id)).attempts === 1, 'the first attempt');
    await eventually(
      async () => (await row(queued.id)).status === OutboxStatus.Pending,
      'the first failure to be recorded',
    );
    const failed = await row(queued.id);
    expect(failed.lastError).toContain('451');
    expect(failed.lastError).toContain('Greylisted');
    // Backoff after the first failure: between 15 and 30 seconds, from the Clock's now.
    const delay = failed.nextAttemptAt.getTime() - rejectedAt;
    expect(delay).toBeGreaterThanOrEqual(OUTBOX_RETRY_POLICY.baseDelayMs / 2);
    expect(delay).toBeLessThanOrEqual(OUTBOX_RETRY_POLICY.baseDelayMs);

    // Not due yet: the worker leaves it alone, however many times it polls.
    const rcptBefore = sink.recipientAttempts;
    sink.accept();
    clock.set(new Date(failed.nextAttemptAt.getTime() - 1));
    await settle();
    expect(sink.recipientAttempts).toBe(rcptBefore);
    expect(await row(queued.id)).toMatchObject({ status: OutboxStatus.Pending, attempts: 1 });

    // Due: the receiver now accepts it.
    clock.set(failed.nextAttemptAt);
    await sink.waitFor((m) => m.some((x) => x.subject === message.subject), 'the retried mail');
    await eventually(
      async () => (await row(queued.id)).status === OutboxStatus.Sent,
      'the row to be marked sent',
    );
    const sent = await row(queued.id);
    expect(sent.attempts).toBe(2);
    expect(sent.sentAt).toEqual(failed.nextAttemptAt);
    expect(sink.bySubject(message.subject)).toHaveLength(1);
  });

  it('waits longer after each failure, and gives up as failed after the last attempt', async () => {
    sink.reject(550, 'No such user here');
    const message = email('Doomed');
    const queued = await enqueue(message);
    const delays: number[] = [];

    for (let attempt = 1; attempt <= OUTBOX_RETRY_POLICY.maxAttempts; attempt++) {
      await eventually(async () => {
        const r = await row(queued.id);
        return r.attempts === attempt && r.status !== OutboxStatus.Sending;
      }, `attempt ${attempt} to be recorded`);
      const current = await row(queued.id);
      if (attempt < OUTBOX_RETRY_POLICY.maxAttempts) {
        expect(current.status).toBe(OutboxStatus.Pending);
        delays.push(current.nextAttemptAt.getTime() - clock.now().getTime());
        clock.set(current.nextAttemptAt);
      }
    }
    const last = await row(queued.id);
    expect(last.status).toBe(OutboxStatus.Failed);
    expect(last.attempts).toBe(8);
    expect(last.lastError).toContain('550');
    expect(last.sentAt).toBeNull();

    // Seven delays, each within [ceiling/2, ceiling] of a doubling ceiling from 30 s.
    expect(delays).toHaveLength(7);
    delays.forEach((delay, i) => {
      const ceiling = Math.min(OUTBOX_RETRY_POLICY.maxDelayMs, 30_000 * 2 ** i);
      expect(delay).toBeGreaterThanOrEqual(ceiling / 2);
      expect(delay).toBeLessThanOrEqual(ceiling);
    });

    // A failed message stays failed, whatever the time and the receiver.
    sink.accept();
    clock.advance(24 * 60 * MINUTE);
    await settle();
    expect(await row(queued.id)).toMatchObject({ status: OutboxStatus.Failed, attempts: 8 });
    expect(sink.bySubject(message.subject)).toEqual([]);
  });

  it("claims a message stuck in 'sending' only once its worker's lease has run out", async () => {
    const now = clock.now();
    const em = t.em();
    const stuck = em.create(OutboxMessage, {
      ...email('Stuck'),
      status: OutboxStatus.Sending,
      attempts: 1,
      nextAttemptAt: new Date(now.getTime() + OUTBOX_LEASE_MS),
      createdAt: now,
    });
    await em.flush();

    clock.advance(OUTBOX_LEASE_MS - 1);
    await settle();
    expect(sink.bySubject(stuck.subject)).toEqual([]);
    expect(await row(stuck.id)).toMatchObject({ status: OutboxStatus.Sending, attempts: 1 });

    clock.advance(1);
    await sink.waitFor((m) => m.some((x) => x.subject === stuck.subject), 'the stuck mail');
    await eventually(
      async () => (await row(stuck.id)).status === OutboxStatus.Sent,
      'the stuck row to be marked sent',
    );
    expect((await row(stuck.id)).attempts).toBe(2);
  });

  it('gives a claimed message a lease of five minutes from the claim', async () => {
    sink.hold();
    const started = sink.dataStarted;
    const queued = await enqueue(email('Leased'));
    await eventually(() => sink.dataStarted > started, 'a send in flight');
    const claimed = await row(queued.id);
    expect(claimed.status).toBe(OutboxStatus.Sending);
    expect(claimed.attempts).toBe(1);
    expect(claimed.nextAttemptAt.getTime()).toBe(clock.now().getTime() + OUTBOX_LEASE_MS);
    sink.release();
    await eventually(
      async () => (await row(queued.id)).status === OutboxStatus.Sent,
      'the leased row to be marked sent',
    );
  });

  it('hands back the rest of a batch rather than start a send its claim may not cover', async () => {
    sink.hold();
    const started = sink.dataStarted;
    const subjects = ['one', 'two', 'three'].map((n) => email(`Batch ${n}`).subject);
    await t.em().transactional((em) => {
      for (const subject of subjects) outbox.enqueue(em, { ...email('x'), subject });
      return Promise.resolve();
    });
    await eventually(() => sink.dataStarted > started, 'the first send in flight');
    const claimedAt = clock.now().getTime();

    // The first send drags on until too little of the claim is left for another one.
    clock.advance(OUTBOX_LEASE_MS - MAIL_SEND_TIMEOUT_MS + 1);
    sink.release();
    sink.hold();
    await eventually(() => sink.dataStarted > started + 1, 'the next send in flight');

    // The other two were handed back and claimed afresh, with a lease from now.
    const rows = await t.em().find(OutboxMessage, { subject: { $in: subjects } });
    const reclaimed = rows.filter((r) => r.status === OutboxStatus.Sending);
    const lease = clock.now().getTime() + OUTBOX_LEASE_MS;
    expect(lease).not.toBe(claimedAt + OUTBOX_LEASE_MS);
    expect(reclaimed.map((r) => [r.attempts, r.nextAttemptAt.getTime()])).toEqual([
      [1, lease],
      [1, lease],
    ]);

    sink.release();
    await sink.waitFor((m) => subjects.every((s) => m.some((x) => x.subject === s)), 'the batch');
    await eventually(async () => {
      const done = await t.em().find(OutboxMessage, { subject: { $in: subjects } });
      return done.every((r) => r.status === OutboxStatus.Sent && r.attempts === 1);
    }, 'every message of the batch sent on its first attempt');
    expect(subjects.map((subject) => sink.bySubject(subject).length)).toEqual([1, 1, 1]);
  });
});
