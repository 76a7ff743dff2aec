import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { Clock, ManualClock } from '../../src/common/clock';
import { OutboxMessage } from '../../src/notifications/entities/outbox-message.entity';
import { SlaBreachService } from '../../src/support/queue/sla-breach.service';
import { SupportQueueEntry } from '../../src/support/queue/support-queue-entry.entity';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { LogCapture } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const PRO_MONTH = '0193a000-0000-7000-8001-000000000031';
const HOUR = 3600_000;

/** A missed SLA target mails the ticket's assignee once, in the breach job's transaction. */
describe('SLA breach mail', () => {
  let t: TestApp;
  let agent: Actor;
  const logs = new LogCapture();
  // Tuesday 10:00 UTC: inside the default calendar's business hours.
  const clock = new ManualClock(new Date('2031-03-04T10:00:00.000Z'));

  beforeAll(async () => {
    t = await bootTestApp({
      env: { LOG_LEVEL: 'warn' },
      logDestination: logs,
      override: (b) => b.overrideProvider(Clock).useValue(clock),
    });
    agent = await createUser(t.app, { platformRole: PlatformRole.Support });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

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

  const breachMails = (to: string, template?: string) =>
    t
      .em()
      .find(
        OutboxMessage,
        template ? { to, template } : { to, template: { $like: 'support.sla_breached.%' } },
        { orderBy: { createdAt: 'asc', id: 'asc' } },
      );

  it('mails the assignee once per breached target, never again; an unassigned ticket only logs', async () => {
    const { org, member } = await proOrg();
    const open = (subject: string) =>
      api()
        .post('/v1/support/tickets')
        .set(member.headers)
        .send({ subject, description: 'x', priority: 'urgent' })
        .expect(201);
    const assigned = (await open('Down for everyone')).body as { id: string; number: number };
    const unassigned = (await open('Also down')).body as { id: string; number: number };
    await api().post(`/v1/admin/support/queue/${assigned.id}/claim`).set(agent.headers).expect(200);
    const breaches = t.app.get(SlaBreachService);

    // Pro urgent: first response within 1 business hour, resolution within 8.
    clock.advance(5 * HOUR); // Tuesday 15:00
    await breaches.markBreaches();
    await breaches.markBreaches(); // a second run (or the cron racing this test) marks nothing new
    const first = await breachMails(agent.user.email);
    expect(first.map((m) => m.template)).toEqual(['support.sla_breached.first_response']);
    expect(first[0]).toMatchObject({ tenantId: org.tenant.id });
    expect(first[0].subject).toBe(
      `SLA breached: first response on ticket #${assigned.number} is overdue`,
    );
    expect(first[0].text).toContain(`/support/tickets/${assigned.id}`);
    // The mail names the ticket by number only: the breach job never reads the tenant's words.
    expect(first[0].subject).not.toContain('Down for everyone');
    const entry = await t.em().findOneOrFail(SupportQueueEntry, { ticketId: assigned.id });
    expect(entry.firstResponseBreachedAt).toEqual(expect.any(Date));
    expect(entry.resolutionBreachedAt).toBeNull();

    // Nobody to mail for the unassigned one: a warning names it instead.
    const line = await logs.waitFor(
      (e) =>
        e.msg === 'SLA breached on a ticket with no assignee to mail' &&
        e.ticketId === unassigned.id,
    );
    expect(line).toMatchObject({ tenantId: org.tenant.id, targets: ['first_response'] });
    expect(
      await t.em().count(OutboxMessage, { template: { $like: 'support.sla_breached.%' } }),
    ).toBe(1);

    // Wednesday 12:00: the resolution target (Wednesday 10:00) has passed too.
    clock.set(new Date('2031-03-05T12:00:00.000Z'));
    await breaches.markBreaches();
    await breaches.markBreaches();
    expect((await breachMails(agent.user.email)).map((m) => m.template)).toEqual([
      'support.sla_breached.first_response',
      'support.sla_breached.resolution',
    ]);
    expect(
      await t.em().count(OutboxMessage, { template: { $like: 'support.sla_breached.%' } }),
    ).toBe(2);
  });

  it('mails both targets when one run finds both passed', async () => {
    clock.set(new Date('2031-03-11T10:00:00.000Z')); // a Tuesday, 10:00 UTC
    const { org, member } = await proOrg();
    const tenantAgent = await createUser(t.app, {
      tenant: org.tenant,
      role: TenantRole.SupportAgent,
    });
    const ticket = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Broken', description: 'x', priority: 'urgent' })
      .expect(201);
    await api()
      .patch(`/v1/support/tickets/${ticket.body.id}`)
      .set(tenantAgent.headers)
      .send({ assigneeId: tenantAgent.user.id })
      .expect(200);
    clock.advance(3 * 24 * HOUR); // Friday: both targets long gone
    await t.app.get(SlaBreachService).markBreaches();
    expect((await breachMails(tenantAgent.user.email)).map((m) => m.template).sort()).toEqual([
      'support.sla_breached.first_response',
      'support.sla_breached.resolution',
    ]);
  });
});
