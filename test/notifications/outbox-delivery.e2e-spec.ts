import { setTimeout as sleep } from 'node:timers/promises';
import { randomBytes } from 'node:crypto';
import { EntityManager } from '@mikro-orm/postgresql';
import {
  OutboxMessage,
  OutboxStatus,
} from '../../src/notifications/entities/outbox-message.entity';
import { NotificationsErrorCode } from '../../src/notifications/notifications.exception';
import { OutboxEmail, OutboxService } from '../../src/notifications/outbox.service';
import { OUTBOX_LEASE_MS, OutboxWorker } from '../../src/notifications/outbox.worker';
import { AuditService } from '../../src/tenancy/audit/audit.service';
import { AuditEvent } from '../../src/tenancy/audit/audit-event.entity';
import { TenantContext } from '../../src/tenancy/tenant-context';
import { createTenant } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';
import { eventually, SmtpSink } from './smtp-sink';

const unique = (label: string): string => `${label} ${randomBytes(4).toString('hex')}`;

const email = (overrides: Partial<OutboxEmail> = {}): OutboxEmail => ({
  to: 'ada@example.com',
  subject: unique('Confirm your email address'),
  text: 'Open https://app.example.com/verify?token=abc to confirm.',
  template: 'auth.verify_email',
  ...overrides,
});

describe('outbox delivery over SMTP', () => {
  let sink: SmtpSink;
  let t: TestApp;
  let env: Record<string, string>;
  let outbox: OutboxService;

  const row = (id: string) => t.em().findOneOrFail(OutboxMessage, { id });
  const countRows = (subject: string) => t.em().count(OutboxMessage, { subject });

  /** Enqueues in a transaction of its own that commits. */
  const enqueueCommitted = (message: OutboxEmail) =>
    t.em().transactional((em) => Promise.resolve(outbox.enqueue(em, message)));

  beforeAll(async () => {
    sink = await SmtpSink.start();
    env = { SMTP_URL: sink.url, OUTBOX_POLL_MS: '50' };
    t = await bootTestApp({ env });
    outbox = t.app.get(OutboxService);
  });
  afterAll(async () => {
    await t?.close();
    await sink?.close();
  });

  it('runs the worker when SMTP_URL is set', () => {
    expect(t.app.get(OutboxWorker).running).toBe(true);
  });

  it('delivers a message enqueued in a committed transaction, once, and records it as sent', async () => {
    const message = email({ to: 'grace@example.com' });
    const queued = await enqueueCommitted(message);
    expect(queued).toMatchObject({ status: OutboxStatus.Pending, attempts: 0, sentAt: null });

    await sink.waitFor((m) => m.some((x) => x.subject === message.subject), 'the mail');
    const [mail] = sink.bySubject(message.subject);
    expect(mail.envelopeTo).toEqual(['grace@example.com']);
    expect(mail.to).toBe('grace@example.com');
    expect(mail.text).toBe(message.text);
    expect(mail.html).toBeUndefined();
    expect(mail.from).toBe('Groundwork <no-reply@localhost>');
    expect(mail.envelopeFrom).toBe('no-reply@localhost');
    expect(mail.messageId).toBe(`<${queued.id}@localhost>`);

    await eventually(
      async () => (await row(queued.id)).status === OutboxStatus.Sent,
      'the row to be marked sent',
    );
    const sent = await row(queued.id);
    expect(sent.attempts).toBe(1);
    expect(sent.sentAt).toBeInstanceOf(Date);
    expect(sent.lastError).toBeNull();
    await sleep(300);
    expect(sink.bySubject(message.subject)).toHaveLength(1);
  });

  it('sends the HTML part beside the text, and non-ASCII subjects and bodies intact', async () => {
    const message = email({
      subject: unique('Bienvenue chez Groundwork — équipe « Zoë »'),
      text: 'Grüße! Ein langer Text, der über die Zeilenlänge hinausgeht. '.repeat(4).trim(),
      html: '<p>Grüße! <a href="https://app.example.com/x?a=1&amp;b=2">Open</a></p>',
    });
    await enqueueCommitted(message);

    await sink.waitFor((m) => m.some((x) => x.subject === message.subject), 'the mail');
    const [mail] = sink.bySubject(message.subject);
    expect(mail.text).toBe(message.text);
    expect(mail.html).toBe(message.html);
  });

  it('never delivers nor stores a message whose transaction rolled back', async () => {
    const doomed = email({ subject: unique('Rolled back') });
    await expect(
      t.em().transactional(async (em) => {
        outbox.enqueue(em, doomed);
        await em.flush(); // written inside the transaction, then undone
        throw new Error('the change that caused the mail failed');
      }),
    ).rejects.toThrow('the change that caused the mail failed');

    // A message committed afterwards is delivered: the worker had every chance to send the first.
    const marker = email({ subject: unique('Committed after') });
    await enqueueCommitted(marker);
    await sink.waitFor((m) => m.some((x) => x.subject === marker.subject), 'the marker');
    await sleep(200);

    expect(sink.bySubject(doomed.subject)).toEqual([]);
    expect(await countRows(doomed.subject)).toBe(0);
    expect(await countRows(marker.subject)).toBe(1);
  });

  it('commits the mail with a tenant change made through the tenant-bound EntityManager', async () => {
    const tenant = await createTenant(t.app);
    const context = t.app.get(TenantContext);
    const audit = t.app.get(AuditService);
    const committed = email({ subject: unique('Invitation'), template: 'tenant.invitation' });
    const undone = email({ subject: unique('Invitation undone'), template: 'tenant.invitation' });
    const ref = { id: tenant.id, slug: tenant.slug, schemaName: tenant.schemaName };

    const queued = await context.run(ref, () =>
      context.em.transactional((tx: EntityManager) => {
        audit.record({ action: 'member.invited' }, tx);
        return Promise.resolve(outbox.enqueue(tx, { ...committed, tenantId: tenant.id }));
      }),
    );
    await expect(
      context.run(ref, () =>
        context.em.transactional(async (tx: EntityManager) => {
          audit.record({ action: 'member.invited' }, tx);
          outbox.enqueue(tx, { ...undone, tenantId: tenant.id });
          await tx.flush();
          throw new Error('invitation refused');
        }),
      ),
    ).rejects.toThrow('invitation refused');

    await sink.waitFor((m) => m.some((x) => x.subject === committed.subject), 'the invitation');
    // The row is in platform.outbox, not in the tenant's schema, and carries the tenant.
    expect((await row(queued.id)).tenantId).toBe(tenant.id);
    const events = await t
      .em()
      .fork({ schema: tenant.schemaName })
      .find(AuditEvent, { action: 'member.invited' });
    expect(events).toHaveLength(1);
    await sleep(200);
    expect(sink.bySubject(undone.subject)).toEqual([]);
    expect(await countRows(undone.subject)).toBe(0);
  });

  it('refuses a message that cannot be sent, and adds nothing to the unit of work', () => {
    const em = t.em();
    for (const bad of [
      { to: 'not an address' },
      { to: 'a@example.com, b@example.com' },
      { to: 'a@example.com\r\nBcc: everyone@example.com' },
      { subject: 'Hello\r\nBcc: everyone@example.com' },
      { subject: '   ' },
      { text: '' },
      { template: 'Not A Template' },
      { tenantId: 'acme' },
    ]) {
      expect(() => outbox.enqueue(em, email(bad))).toThrow(
        expect.objectContaining({
          code: NotificationsErrorCode.OutboxMessageInvalid,
          status: 400,
        }) as Error,
      );
    }
    expect(em.getUnitOfWork().getPersistStack().size).toBe(0);
  });

  it('sends again a message whose worker died mid-send, once its claim has expired', async () => {
    const now = Date.now();
    const em = t.em();
    const base = {
      text: 'x',
      template: 'auth.password_reset',
      status: OutboxStatus.Sending,
      attempts: 1,
      createdAt: new Date(now - 10 * 60_000),
    };
    const orphan = em.create(OutboxMessage, {
      ...base,
      to: 'orphan@example.com',
      subject: unique('Orphaned by a crash'),
      nextAttemptAt: new Date(now - 1000),
    });
    const claimed = em.create(OutboxMessage, {
      ...base,
      to: 'busy@example.com',
      subject: unique('Still being sent elsewhere'),
      nextAttemptAt: new Date(now + OUTBOX_LEASE_MS),
    });
    await em.flush();

    await sink.waitFor((m) => m.some((x) => x.subject === orphan.subject), 'the orphan');
    await eventually(
      async () => (await row(orphan.id)).status === OutboxStatus.Sent,
      'the orphan to be marked sent',
    );
    expect((await row(orphan.id)).attempts).toBe(2);
    await sleep(300);
    // A live claim of another worker is left alone.
    expect(sink.bySubject(claimed.subject)).toEqual([]);
    expect(await row(claimed.id)).toMatchObject({ status: OutboxStatus.Sending, attempts: 1 });
  });

  it('skips a message another worker holds instead of waiting for it', async () => {
    const held = await enqueueCommitted(email({ subject: unique('Locked by another replica') }));
    const free = email({ subject: unique('Free to take') });
    const worker = t.app.get(OutboxWorker);
    // Another replica in the middle of its claim: the row is locked, not yet updated.
    const other = t.em();
    await other.begin();
    try {
      await other.execute('select id from platform.outbox where id = ? for update', [held.id]);
      await enqueueCommitted(free);
      const started = Date.now();
      await eventually(
        () => sink.bySubject(free.subject).length === 1,
        'the free message while the other is locked',
      );
      // Rounds run (the free message went out) without waiting for the lock.
      await worker.deliverDue();
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(sink.bySubject(held.subject)).toEqual([]);
      expect(await row(held.id)).toMatchObject({ status: OutboxStatus.Pending, attempts: 0 });
    } finally {
      await other.rollback();
    }
    await sink.waitFor((m) => m.some((x) => x.subject === held.subject), 'the released message');
  });

  it('delivers each message exactly once with two app instances polling one database', async () => {
    // The second instance signs differently, to show both took part.
    const other = await bootTestApp({
      database: t.db,
      env: { ...env, MAIL_FROM: 'Second <second@localhost>' },
    });
    // A slower receiver keeps each batch busy long enough for both instances to claim.
    sink.dataDelayMs = 10;
    try {
      const subjects = Array.from({ length: 60 }, (_, i) => unique(`Bulk ${i}`));
      await t.em().transactional((em) => {
        for (const subject of subjects) outbox.enqueue(em, email({ subject }));
        return Promise.resolve();
      });
      // Beside both polling loops, many rounds at the same instant from both
      // instances (on connections opened beforehand): they all race for the same rows.
      await Promise.all(
        [t, other].flatMap((app) =>
          Array.from({ length: 6 }, () => app.em().execute('select pg_sleep(0.05)')),
        ),
      );
      const workers = [t.app.get(OutboxWorker), other.app.get(OutboxWorker)];
      await Promise.all(Array.from({ length: 6 }, () => workers.map((w) => w.deliverDue())).flat());

      await sink.waitFor(
        (m) => subjects.every((s) => m.some((x) => x.subject === s)),
        'every bulk message',
        20_000,
      );
      await sleep(500);
      const received = sink.messages.filter((m) => subjects.includes(m.subject));
      const timesReceived = subjects.map((s) => received.filter((m) => m.subject === s).length);
      expect(timesReceived).toEqual(subjects.map(() => 1));
      const senders = new Set(received.map((m) => m.envelopeFrom));
      expect(senders).toEqual(new Set(['no-reply@localhost', 'second@localhost']));
      const rows = await t.em().find(OutboxMessage, { subject: { $in: subjects } });
      expect(rows.map((r) => [r.status, r.attempts])).toEqual(
        subjects.map(() => [OutboxStatus.Sent, 1]),
      );
    } finally {
      sink.dataDelayMs = 0;
      await other.app.close();
    }
  });
});
