import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { Clock, ManualClock } from '../../src/common/clock';
import { SupportAutoCloseService } from '../../src/support/queue/auto-close.service';
import { SupportQueueEntry } from '../../src/support/queue/support-queue-entry.entity';
import { Ticket } from '../../src/support/tickets/entities/ticket.entity';
import { AuditEvent } from '../../src/tenancy/audit/audit-event.entity';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

const HOUR = 3600_000;

interface HistoryEntry {
  field: string;
  from: string | null;
  to: string | null;
  actorId: string | null;
  at: string;
}

/** `SUPPORT_AUTO_CLOSE_HOURS`: a solved ticket nobody reopens closes by itself. */
describe('support auto-close', () => {
  let t: TestApp;
  let agent: Actor;
  const clock = new ManualClock(new Date('2031-04-01T10:00:00.000Z'));

  beforeAll(async () => {
    t = await bootTestApp({
      env: { SUPPORT_AUTO_CLOSE_HOURS: '48' },
      override: (b) => b.overrideProvider(Clock).useValue(clock),
    });
    agent = await createUser(t.app, { platformRole: PlatformRole.Support });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  const asAgentIn = (org: Org) => ({ ...agent.headers, 'X-Tenant-Id': org.tenant.id });

  async function solvedTicket(org: Org, member: Actor, subject: string): Promise<string> {
    const opened = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject, description: 'x' })
      .expect(201);
    await api()
      .patch(`/v1/support/tickets/${opened.body.id}`)
      .set(asAgentIn(org))
      .send({ status: 'solved' })
      .expect(200);
    return opened.body.id as string;
  }

  it('closes a solved ticket after the configured hours, not one reopened or solved since', async () => {
    const org = await createOrg(t.app);
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    const autoClose = t.app.get(SupportAutoCloseService);
    const stale = await solvedTicket(org, member, 'Stale');
    const reopened = await solvedTicket(org, member, 'Reopened');

    // Before the deadline the requester answers: the ticket reopens and will not close.
    clock.advance(47 * HOUR);
    await api()
      .post(`/v1/support/tickets/${reopened}/replies`)
      .set(member.headers)
      .send({ body: 'Not fixed after all' })
      .expect(201);
    const recent = await solvedTicket(org, member, 'Recent');
    expect(await autoClose.closeDue()).toBe(0);

    clock.advance(HOUR + 60_000); // 48 h and a minute after the first two were solved
    // (The cron, on the same clock, may get there first: assert on the tickets, not on counts.)
    await autoClose.closeDue();
    expect(await autoClose.closeDue()).toBe(0); // running again changes nothing

    const get = (id: string) =>
      api().get(`/v1/support/tickets/${id}`).set(asAgentIn(org)).expect(200);
    const closed = (await get(stale)).body as { status: string; history: HistoryEntry[] };
    expect(closed.status).toBe('closed');
    // The history says the system closed it, when.
    expect(closed.history.at(-1)).toEqual({
      field: 'status',
      from: 'solved',
      to: 'closed',
      actorId: null,
      at: clock.now().toISOString(),
    });
    expect((await get(reopened)).body.status).toBe('open');
    expect((await get(recent)).body.status).toBe('solved');

    // The queue row follows, in the same transaction.
    const entry = await t.em().findOneOrFail(SupportQueueEntry, { ticketId: stale });
    expect(entry).toMatchObject({ status: 'closed', updatedAt: clock.now() });
    // The tenant's audit log records it as the system's doing.
    const audit = await t.em().findOneOrFail(
      AuditEvent,
      { action: 'ticket.auto_closed', targetId: stale },
      {
        schema: org.tenant.schemaName,
      },
    );
    expect(audit).toMatchObject({ actorType: 'system', actorId: null });

    // Closed is final: replies are refused.
    const reply = await api()
      .post(`/v1/support/tickets/${stale}/replies`)
      .set(member.headers)
      .send({ body: 'Hello?' })
      .expect(409);
    expect(reply.body.code).toBe('ticket_closed');

    // The ticket solved later closes once its own 48 hours are up.
    clock.advance(47 * HOUR);
    await autoClose.closeDue();
    expect((await get(recent)).body.status).toBe('closed');
  });

  it('closes tickets of several organisations in one run, each in its own schema', async () => {
    const orgs = await Promise.all([createOrg(t.app), createOrg(t.app)]);
    const ids: string[] = [];
    for (const org of orgs) {
      const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
      ids.push(await solvedTicket(org, member, `Org ${org.tenant.slug}`));
    }
    clock.advance(49 * HOUR);
    await t.app.get(SupportAutoCloseService).closeDue();
    for (const [i, org] of orgs.entries()) {
      const res = await api().get(`/v1/support/tickets/${ids[i]}`).set(asAgentIn(org)).expect(200);
      expect(res.body.status).toBe('closed');
    }
  });

  it('schedules the job every five minutes', async () => {
    const [row] = await t
      .em()
      .execute<{ cron: string }[]>(`select cron from pgboss.schedule where name = ?`, [
        'support.auto-close',
      ]);
    expect(row?.cron).toBe('*/5 * * * *');
  });
});

describe('support auto-close turned off (SUPPORT_AUTO_CLOSE_HOURS=0)', () => {
  let t: TestApp;
  let agent: Actor;
  const clock = new ManualClock(new Date('2031-04-01T10:00:00.000Z'));

  beforeAll(async () => {
    t = await bootTestApp({
      env: { SUPPORT_AUTO_CLOSE_HOURS: '0' },
      override: (b) => b.overrideProvider(Clock).useValue(clock),
    });
    agent = await createUser(t.app, { platformRole: PlatformRole.Support });
  });
  afterAll(() => t.close());

  it('leaves solved tickets solved however long they wait', async () => {
    const org = await createOrg(t.app);
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    const headers = { ...agent.headers, 'X-Tenant-Id': org.tenant.id };
    const opened = await request(t.server)
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Solved forever', description: 'x' })
      .expect(201);
    await request(t.server)
      .patch(`/v1/support/tickets/${opened.body.id}`)
      .set(headers)
      .send({ status: 'solved' })
      .expect(200);
    clock.advance(365 * 24 * HOUR);
    expect(await t.app.get(SupportAutoCloseService).closeDue()).toBe(0);
    // (Read from the database: a year on, the test's access tokens have expired.)
    const ticket = await t
      .em()
      .findOneOrFail(Ticket, { id: opened.body.id }, { schema: org.tenant.schemaName });
    expect(ticket.status).toBe('solved');
    const entry = await t.em().findOneOrFail(SupportQueueEntry, { ticketId: opened.body.id });
    expect(entry.status).toBe('solved');
  });
});
