import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { v7 } from 'uuid';
import {
  OutboxMessage,
  OutboxStatus,
} from '../../src/notifications/entities/outbox-message.entity';
import { NotificationsErrorCode } from '../../src/notifications/notifications.exception';
import { OutboxEmail, OutboxService } from '../../src/notifications/outbox.service';
import { OutboxWorker } from '../../src/notifications/outbox.worker';
import { bootTestApp, TestApp } from '../support/test-app';
import { SmtpSink } from './smtp-sink';

/** Without SMTP_URL: mail is kept as `held`, readable through the service, and never sent. */
describe('outbox without SMTP_URL', () => {
  let t: TestApp;
  let outbox: OutboxService;
  // Recipients unique to this run, so list filters see only this test's rows.
  const run = randomBytes(4).toString('hex');
  const to = (name: string) => `${name}.${run}@example.com`;

  const email = (overrides: Partial<OutboxEmail> = {}): OutboxEmail => ({
    to: to('ada'),
    subject: `Verify ${randomBytes(4).toString('hex')}`,
    text: 'Open https://app.example.com/verify?token=abc',
    html: '<a href="https://app.example.com/verify?token=abc">Verify</a>',
    template: 'auth.verify_email',
    ...overrides,
  });
  const enqueue = (message: OutboxEmail) =>
    t.em().transactional((em) => Promise.resolve(outbox.enqueue(em, message)));

  beforeAll(async () => {
    t = await bootTestApp({ env: { OUTBOX_POLL_MS: '50' } });
    outbox = t.app.get(OutboxService);
  });
  afterAll(() => t?.close());

  it('does not run the worker', () => {
    expect(t.config.mail.smtpUrl).toBeUndefined();
    expect(t.app.get(OutboxWorker).running).toBe(false);
  });

  it('holds the message and serves it, bodies included, through get()', async () => {
    const message = email({ tenantId: v7() });
    const queued = await enqueue(message);
    expect(queued.status).toBe(OutboxStatus.Held);

    const detail = await outbox.get(queued.id);
    expect(detail).toEqual({
      id: queued.id,
      kind: 'email',
      tenantId: message.tenantId,
      to: message.to,
      subject: message.subject,
      template: 'auth.verify_email',
      status: OutboxStatus.Held,
      attempts: 0,
      nextAttemptAt: expect.any(String),
      lastError: null,
      createdAt: expect.any(String),
      sentAt: null,
      text: message.text,
      html: message.html,
    });
    expect(new Date(detail.createdAt).toISOString()).toBe(detail.createdAt);
  });

  it('lists messages newest first without their bodies, filtered by status and recipient', async () => {
    const first = await enqueue(email({ to: to('list') }));
    const second = await enqueue(email({ to: to('list') }));
    await enqueue(email({ to: to('someone-else') }));

    const page = await outbox.list({ to: to('list'), status: OutboxStatus.Held, limit: 50 });
    expect(page.items.map((i) => i.id)).toEqual([second.id, first.id]);
    expect(page.nextCursor).toBeNull();
    for (const item of page.items) {
      expect(item).not.toHaveProperty('text');
      expect(item).not.toHaveProperty('html');
      expect(item.status).toBe(OutboxStatus.Held);
    }
    expect(
      (await outbox.list({ to: to('list'), status: OutboxStatus.Sent, limit: 50 })).items,
    ).toEqual([]);
  });

  it('pages with a cursor until the end', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await enqueue(email({ to: to('pages') }))).id);

    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await outbox.list({ to: to('pages'), limit: 2, cursor });
      expect(page.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor ?? undefined;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...ids].reverse());
  });

  it('answers outbox_message_not_found (404) for an unknown or malformed id', async () => {
    for (const id of [v7(), 'not-a-uuid', "'; drop table platform.outbox; --"]) {
      await expect(outbox.get(id)).rejects.toMatchObject({
        code: NotificationsErrorCode.OutboxMessageNotFound,
        status: 404,
      });
    }
  });

  it('never sends a held message, even once a worker runs on the same database', async () => {
    const held = await enqueue(email({ subject: `Held ${run}` }));
    const sink = await SmtpSink.start();
    const mailer = await bootTestApp({
      database: t.db,
      env: { SMTP_URL: sink.url, OUTBOX_POLL_MS: '50' },
    });
    try {
      // A message written while SMTP is configured goes out; the held one stays.
      const marker = `Pending ${run}`;
      await mailer
        .em()
        .transactional((em) =>
          Promise.resolve(mailer.app.get(OutboxService).enqueue(em, email({ subject: marker }))),
        );
      await sink.waitFor((m) => m.some((x) => x.subject === marker), 'the pending message');
      await sleep(300);
      expect(sink.bySubject(`Held ${run}`)).toEqual([]);
      expect(await t.em().findOneOrFail(OutboxMessage, { id: held.id })).toMatchObject({
        status: OutboxStatus.Held,
        attempts: 0,
      });
    } finally {
      await mailer.app.close();
      await sink.close();
    }
  });
});
