import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { OutboxMessage } from '../../src/notifications/entities/outbox-message.entity';
import { SupportQueueEntry } from '../../src/support/queue/support-queue-entry.entity';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { erroredFields, expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

/** Inputs that used to reach the database unchecked (500s) or cross an organisation's edge. */
describe('support desk input checks', () => {
  let t: TestApp;
  let admin: Actor;
  let agent: Actor;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    agent = await createUser(t.app, { platformRole: PlatformRole.Support });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  const asAgentIn = (org: Org) => ({ ...agent.headers, 'X-Tenant-Id': org.tenant.id });

  async function ticketIn(org: Org): Promise<{ id: string; member: Actor }> {
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    const res = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Private subject', description: 'x' })
      .expect(201);
    return { id: res.body.id as string, member };
  }

  it.each([['status'], ['priority'], ['tags']])(
    'PATCH a ticket with %s: null is a 400 naming the field, not a 500',
    async (field) => {
      const org = await createOrg(t.app);
      const { id } = await ticketIn(org);
      const res = await api()
        .patch(`/v1/support/tickets/${id}`)
        .set(asAgentIn(org))
        .send({ [field]: null });
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual([field]);
    },
  );

  it('assigns only to support staff or the organisation’s own agents', async () => {
    const org = await createOrg(t.app);
    const other = await createOrg(t.app);
    const { id, member } = await ticketIn(org);
    const tenantAgent = await createUser(t.app, {
      tenant: org.tenant,
      role: TenantRole.SupportAgent,
    });
    const patch = (assigneeId: string) =>
      api().patch(`/v1/support/tickets/${id}`).set(asAgentIn(org)).send({ assigneeId });

    // Another organisation's owner would be mailed this ticket's subject: refused, nothing sent.
    const foreign = expectProblem(await patch(other.user.id), 422, 'assignee_invalid');
    expect(foreign.assigneeId).toBe(other.user.id);
    expect(await t.em().count(OutboxMessage, { to: other.user.email })).toBe(0);
    // A plain member does not handle tickets; an unknown id is nobody.
    expectProblem(await patch(member.user.id), 422, 'assignee_invalid');
    expectProblem(await patch('01900000-0000-7000-8000-000000000000'), 422, 'assignee_invalid');
    expect((await t.em().findOneOrFail(SupportQueueEntry, { ticketId: id })).assigneeId).toBeNull();

    // The organisation's agent, its owner and the operator's staff are fine; null unassigns.
    await patch(tenantAgent.user.id).expect(200);
    await patch(org.user.id).expect(200);
    await patch(admin.user.id).expect(200);
    await api()
      .patch(`/v1/support/tickets/${id}`)
      .set(asAgentIn(org))
      .send({ assigneeId: null })
      .expect(200);

    // The admin queue's assign goes through the same check.
    expectProblem(
      await api()
        .post(`/v1/admin/support/queue/${id}/assign`)
        .set(agent.headers)
        .send({ assigneeId: other.user.id }),
      422,
      'assignee_invalid',
    );
    const assigned = await api()
      .post(`/v1/admin/support/queue/${id}/assign`)
      .set(agent.headers)
      .send({ assigneeId: agent.user.id })
      .expect(200);
    expect(assigned.body.assigneeId).toBe(agent.user.id);
  });

  it('a subject with line breaks does not block replies (mail subjects are one line)', async () => {
    const org = await createOrg(t.app);
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });
    const opened = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Export\r\nfails   again', description: 'x' })
      .expect(201);
    await api()
      .post(`/v1/support/tickets/${opened.body.id}/replies`)
      .set(asAgentIn(org))
      .send({ body: 'On it' })
      .expect(201);
    const [mail] = await t.em().find(OutboxMessage, {
      to: member.user.email,
      template: 'support.ticket_replied',
    });
    expect(mail.subject).toBe(`New reply on ticket #${opened.body.number}: Export fails again`);
  });

  it.each([['name'], ['body'], ['addTags']])(
    'PATCH a macro with %s: null is a 400 naming the field, not a 500',
    async (field) => {
      const created = await api()
        .post('/v1/admin/support/macros')
        .set(admin.headers)
        .send({ name: `Macro ${field} ${Date.now()}`, body: 'Hello' })
        .expect(201);
      const res = await api()
        .patch(`/v1/admin/support/macros/${created.body.id}`)
        .set(admin.headers)
        .send({ [field]: null });
      expect(erroredFields(expectProblem(res, 400, 'validation_failed'))).toEqual([field]);
    },
  );
});
