import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { Clock, ManualClock } from '../../src/common/clock';
import { OutboxMessage } from '../../src/notifications/entities/outbox-message.entity';
import { SupportQueueEntry } from '../../src/support/queue/support-queue-entry.entity';
import { SlaBreachService } from '../../src/support/queue/sla-breach.service';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

const PRO_MONTH = '0193a000-0000-7000-8001-000000000031';
const HOUR = 3600_000;

/** A member's ticket from opening to rating, with the operator's agent working it from the queue. */
describe('support tickets', () => {
  let t: TestApp;
  let agent: Actor;
  // Tuesday 10:00 UTC: inside the default calendar's business hours.
  const clock = new ManualClock(new Date('2031-03-04T10:00:00.000Z'));

  beforeAll(async () => {
    t = await bootTestApp({ override: (b) => b.overrideProvider(Clock).useValue(clock) });
    agent = await createUser(t.app, { platformRole: PlatformRole.Support });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  const asAgentIn = (org: Org) => ({ ...agent.headers, 'X-Tenant-Id': org.tenant.id });

  async function proOrg(): Promise<{ org: Org; member: Actor }> {
    const org = await createOrg(t.app);
    await api()
      .post('/v1/billing/payment-methods')
      .set(org.headers)
      .send({ paymentMethodId: 'pm_card_visa' })
      .expect(201);
    await api()
      .post('/v1/billing/subscription')
      .set(org.headers)
      .send({ priceId: PRO_MONTH, quantity: 5 })
      .expect(201);
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    return { org, member };
  }

  it('opens, is claimed from the queue, answered, noted, reopened by the member, solved and rated', async () => {
    const { org, member } = await proOrg();
    const opened = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Export fails', description: 'The CSV export times out.', tags: ['export'] })
      .expect(201);
    expect(opened.body).toMatchObject({ number: 1, status: 'new', requesterId: member.user.id });
    const id = opened.body.id as string;
    // The list reads plain rows, not entities: each item is the same summary, field for field.
    const listed = await api().get('/v1/support/tickets').set(member.headers).expect(200);
    expect(listed.body.items).toEqual([opened.body]);
    expect(listed.body.items[0]).toMatchObject({ tags: ['export'], assigneeId: null });
    expect(listed.body.items[0].createdAt).toMatch(/^\d{4}-\d\d-\d\dT.*Z$/);

    // The agent finds it in the queue, with its SLA due times (Pro: priority support, 4 business hours).
    const queue = await api()
      .get('/v1/admin/support/queue')
      .query({ tenantId: org.tenant.id })
      .set(agent.headers)
      .expect(200);
    expect(queue.body).toEqual([
      expect.objectContaining({
        ticketId: id,
        status: 'new',
        firstResponseDueAt: '2031-03-04T14:00:00.000Z',
        nextDueAt: '2031-03-04T14:00:00.000Z',
      }),
    ]);
    expect(JSON.stringify(queue.body)).not.toContain('CSV export');
    await api().post(`/v1/admin/support/queue/${id}/claim`).set(agent.headers).expect(200);

    clock.advance(HOUR);
    const reply = await api()
      .post(`/v1/support/tickets/${id}/replies`)
      .set(asAgentIn(org))
      .send({ body: 'Looking into it.' })
      .expect(201);
    const note = await api()
      .post(`/v1/support/tickets/${id}/notes`)
      .set(asAgentIn(org))
      .send({ body: 'Customer DB is huge.' })
      .expect(201);
    await api()
      .patch(`/v1/support/tickets/${id}`)
      .set(asAgentIn(org))
      .send({ status: 'pending' })
      .expect(200);

    const seen = await api().get(`/v1/support/tickets/${id}`).set(member.headers).expect(200);
    expect(seen.body.assigneeId).toBe(agent.user.id);
    expect(seen.body.messages.map((m: { body: string }) => m.body)).toEqual(['Looking into it.']);
    expect(JSON.stringify(seen.body)).not.toContain('Customer DB');
    const agentView = await api().get(`/v1/support/tickets/${id}`).set(asAgentIn(org)).expect(200);
    // The page reads its messages as plain rows: each is what the write answered, field for field.
    expect(agentView.body.messages).toEqual([reply.body, note.body]);
    expect(agentView.body.history[0]).toEqual({
      field: expect.any(String),
      from: null,
      to: expect.any(String),
      actorId: expect.any(String),
      at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });

    // The member answers: a pending ticket reopens.
    await api()
      .post(`/v1/support/tickets/${id}/replies`)
      .set(member.headers)
      .send({ body: 'Still failing.' })
      .expect(201);
    expect(
      (await api().get(`/v1/support/tickets/${id}`).set(member.headers).expect(200)).body.status,
    ).toBe('open');

    await api()
      .patch(`/v1/support/tickets/${id}`)
      .set(asAgentIn(org))
      .send({ status: 'solved' })
      .expect(200);
    // Mail went through the outbox: the member heard of the agent's reply, the agent of the member's.
    const mails = async (to: string) =>
      (await t.em().find(OutboxMessage, { to, template: 'support.ticket_replied' })).length;
    expect(await mails(member.user.email)).toBe(1);
    expect(await mails(agent.user.email)).toBe(1);

    const rated = await api()
      .post(`/v1/support/tickets/${id}/rating`)
      .set(member.headers)
      .send({ score: 5, comment: 'Thanks' })
      .expect(200);
    expect(rated.body.status).toBe('solved');
    const history = (await api().get(`/v1/support/tickets/${id}`).set(asAgentIn(org)).expect(200))
      .body.history;
    expect(history.map((h: { field: string; to: string }) => `${h.field}:${h.to}`)).toEqual([
      `assigneeId:${agent.user.id}`,
      'status:open',
      'status:pending',
      'status:open',
      'status:solved',
    ]);
  });

  it('flags an SLA breach as business time passes, and the queue sorts by time to breach', async () => {
    const { org, member } = await proOrg();
    const urgent = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Down!', description: 'All down', priority: 'urgent' })
      .expect(201);
    const low = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Question', description: 'How to?', priority: 'low' })
      .expect(201);
    const queue = await api()
      .get('/v1/admin/support/queue')
      .query({ tenantId: org.tenant.id })
      .set(agent.headers)
      .expect(200);
    expect(queue.body.map((e: { ticketId: string }) => e.ticketId)).toEqual([
      urgent.body.id,
      low.body.id,
    ]);
    // Pro urgent: first response within 1 business hour.
    expect(
      (
        await api()
          .get('/v1/admin/support/queue')
          .query({ tenantId: org.tenant.id, breachingWithinMinutes: 30 })
          .set(agent.headers)
          .expect(200)
      ).body,
    ).toEqual([]);
    clock.advance(2 * HOUR);
    const breaching = await api()
      .get('/v1/admin/support/queue')
      .query({ tenantId: org.tenant.id, breachingWithinMinutes: 1 })
      .set(agent.headers)
      .expect(200);
    expect(breaching.body.map((e: { ticketId: string }) => e.ticketId)).toEqual([urgent.body.id]);
    expect(Date.parse(breaching.body[0].nextDueAt)).toBeLessThan(clock.now().getTime());
  });

  it('marks breaches once and counts them; waiting on the requester stops the clock', async () => {
    clock.set(new Date('2031-03-11T10:00:00.000Z')); // a Tuesday, 10:00 UTC
    const { org, member } = await proOrg();
    const breaches = t.app.get(SlaBreachService);
    const urgent = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Down', description: 'x', priority: 'urgent' })
      .expect(201);
    const normal = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Slow', description: 'y' })
      .expect(201);
    // The agent asks the requester something on the normal one: its clock stops.
    await api()
      .patch(`/v1/support/tickets/${normal.body.id}`)
      .set(asAgentIn(org))
      .send({ status: 'pending' })
      .expect(200);
    const entry = async (id: string) => t.em().findOneOrFail(SupportQueueEntry, { ticketId: id });
    expect((await entry(normal.body.id)).firstResponseDueAt).toBeNull();

    clock.advance(5 * HOUR); // 15:00: the urgent ticket's hour is long gone
    // (Other tests' open tickets breach too: the job works across tenants.)
    expect(await breaches.markBreaches()).toBeGreaterThanOrEqual(1);
    expect(await breaches.markBreaches()).toBe(0);
    expect((await entry(urgent.body.id)).firstResponseBreachedAt).toEqual(clock.now());
    const counts = await api()
      .get('/v1/admin/support/queue/sla')
      .query({ tenantId: org.tenant.id })
      .set(agent.headers)
      .expect(200);
    expect(counts.body).toEqual({
      firstResponseBreached: 1,
      resolutionBreached: 0,
      breachingWithinHour: 0,
      open: 2,
    });

    // The requester answers at 15:00: 4 business hours from now, Mon–Fri 09:00–17:00 UTC → Wednesday 11:00.
    await api()
      .post(`/v1/support/tickets/${normal.body.id}/replies`)
      .set(member.headers)
      .send({ body: 'Here you go' })
      .expect(201);
    expect((await entry(normal.body.id)).firstResponseDueAt).toEqual(
      new Date('2031-03-12T11:00:00.000Z'),
    );
  });

  it('merges a duplicate: its messages move, it closes with a pointer, both histories say so', async () => {
    const { org, member } = await proOrg();
    const open = (subject: string) =>
      api()
        .post('/v1/support/tickets')
        .set(member.headers)
        .send({ subject, description: subject })
        .expect(201);
    const keep = await open('Login broken');
    const dup = await open('Cannot log in');
    await api()
      .post(`/v1/support/tickets/${dup.body.id}/replies`)
      .set(member.headers)
      .send({ body: 'Any news?' })
      .expect(201);
    const merged = await api()
      .post(`/v1/support/tickets/${dup.body.id}/merge`)
      .set(asAgentIn(org))
      .send({ intoTicketId: keep.body.id })
      .expect(200);
    expect(merged.body.id).toBe(keep.body.id);
    const source = await api()
      .get(`/v1/support/tickets/${dup.body.id}`)
      .set(asAgentIn(org))
      .expect(200);
    expect(source.body).toMatchObject({
      status: 'closed',
      mergedIntoId: keep.body.id,
      messages: [],
    });
    const target = await api()
      .get(`/v1/support/tickets/${keep.body.id}`)
      .set(asAgentIn(org))
      .expect(200);
    expect(target.body.messages.map((m: { body: string }) => m.body)).toEqual([
      'Any news?',
      `Ticket #${dup.body.number} ("Cannot log in") was merged into this one.`,
    ]);
    expect(target.body.history.map((h: { field: string }) => h.field)).toContain('merged');
    // The member sees the moved reply, not the agents' note.
    const seen = await api()
      .get(`/v1/support/tickets/${keep.body.id}`)
      .set(member.headers)
      .expect(200);
    expect(seen.body.messages.map((m: { body: string }) => m.body)).toEqual(['Any news?']);
    expect((await t.em().findOneOrFail(SupportQueueEntry, { ticketId: dup.body.id })).status).toBe(
      'closed',
    );
    // Refused: into itself, from or into a closed ticket, by a member.
    expect(
      (
        await api()
          .post(`/v1/support/tickets/${keep.body.id}/merge`)
          .set(asAgentIn(org))
          .send({ intoTicketId: keep.body.id })
          .expect(422)
      ).body.code,
    ).toBe('ticket_merge_invalid');
    expect(
      (
        await api()
          .post(`/v1/support/tickets/${keep.body.id}/merge`)
          .set(asAgentIn(org))
          .send({ intoTicketId: dup.body.id })
          .expect(409)
      ).body.code,
    ).toBe('ticket_closed');
    await api()
      .post(`/v1/support/tickets/${keep.body.id}/merge`)
      .set(member.headers)
      .send({ intoTicketId: dup.body.id })
      .expect(403);
  });

  it('keeps members to their own tickets and notes to agents', async () => {
    const { org, member } = await proOrg();
    const other = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    const ticket = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Mine', description: 'Private words' })
      .expect(201);
    await api().get(`/v1/support/tickets/${ticket.body.id}`).set(other.headers).expect(404);
    expect(
      (await api().get('/v1/support/tickets').set(other.headers).expect(200)).body.items,
    ).toEqual([]);
    await api()
      .post(`/v1/support/tickets/${ticket.body.id}/replies`)
      .set(other.headers)
      .send({ body: 'hi' })
      .expect(404);
    await api()
      .post(`/v1/support/tickets/${ticket.body.id}/notes`)
      .set(member.headers)
      .send({ body: 'x' })
      .expect(403);
    await api()
      .patch(`/v1/support/tickets/${ticket.body.id}`)
      .set(member.headers)
      .send({ status: 'solved' })
      .expect(403);
    // Owners see every ticket of the organisation.
    const owner = await api().get('/v1/support/tickets').set(org.headers).expect(200);
    expect(owner.body.items.map((i: { id: string }) => i.id)).toContain(ticket.body.id);
  });

  it('enforces transitions and refuses bad input with problems', async () => {
    const { org, member } = await proOrg();
    const ticket = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Flow', description: 'x' })
      .expect(201);
    const id = ticket.body.id as string;
    await api()
      .patch(`/v1/support/tickets/${id}`)
      .set(asAgentIn(org))
      .send({ status: 'closed' })
      .expect(200);
    const reopen = await api()
      .patch(`/v1/support/tickets/${id}`)
      .set(asAgentIn(org))
      .send({ status: 'open' })
      .expect(409);
    expect(reopen.body.code).toBe('ticket_transition_not_allowed');
    expect(
      (
        await api()
          .post(`/v1/support/tickets/${id}/replies`)
          .set(member.headers)
          .send({ body: 'hello?' })
          .expect(409)
      ).body.code,
    ).toBe('ticket_closed');
    await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'x', description: '' })
      .expect(400);
    await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Ok subject', description: 'd', priority: 'asap' })
      .expect(400);
    const early = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Rate me', description: 'd' })
      .expect(201);
    expect(
      (
        await api()
          .post(`/v1/support/tickets/${early.body.id}/rating`)
          .set(member.headers)
          .send({ score: 4 })
          .expect(409)
      ).body.code,
    ).toBe('rating_not_open');
    await api()
      .post(`/v1/support/tickets/${early.body.id}/rating`)
      .set(member.headers)
      .send({ score: 9 })
      .expect(400);
    await api()
      .post('/v1/admin/support/queue/01900000-0000-7000-8000-000000000000/claim')
      .set(agent.headers)
      .expect(404);
    await api().get('/v1/admin/support/queue').set(member.headers).expect(403);
    expect(await t.em().count(SupportQueueEntry, { tenantId: org.tenant.id })).toBe(2);
  });
});
