import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

/** Canned responses: admins write them, agents apply them to a ticket in one step. */
describe('support macros', () => {
  let t: TestApp;
  let admin: Actor;
  let agent: Actor;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    agent = await createUser(t.app, { platformRole: PlatformRole.Support, name: 'Grace Agent' });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  const asAgentIn = (org: Org) => ({ ...agent.headers, 'X-Tenant-Id': org.tenant.id });
  const unique = (name: string) => `${name} ${randomUUID().slice(0, 8)}`;

  async function macro(body: Record<string, unknown>): Promise<string> {
    const res = await api()
      .post('/v1/admin/support/macros')
      .set(admin.headers)
      .send({ name: unique('Macro'), ...body })
      .expect(201);
    return res.body.id as string;
  }

  async function ticketOf(org: Org): Promise<{ id: string; member: Actor }> {
    const member = await createUser(t.app, {
      tenant: org.tenant,
      role: TenantRole.Member,
      name: 'Ada Requester',
    });
    const res = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({ subject: 'Export fails', description: 'The CSV export times out.', tags: ['export'] })
      .expect(201);
    return { id: res.body.id as string, member };
  }

  describe('administration', () => {
    it('admins create, list, change and delete macros; support staff only read them', async () => {
      const name = unique('Ask for logs');
      const created = await api()
        .post('/v1/admin/support/macros')
        .set(admin.headers)
        .send({ name, body: 'Hi {{requester.name}}', setStatus: 'pending', addTags: ['logs'] })
        .expect(201);
      expect(created.body).toMatchObject({
        name,
        setStatus: 'pending',
        setPriority: null,
        addTags: ['logs'],
      });
      const id = created.body.id as string;

      const listed = await api().get('/v1/admin/support/macros').set(agent.headers).expect(200);
      expect(listed.body).toEqual(expect.arrayContaining([expect.objectContaining({ id, name })]));
      await api().get(`/v1/admin/support/macros/${id}`).set(agent.headers).expect(200);
      await api()
        .post('/v1/admin/support/macros')
        .set(agent.headers)
        .send({ name: unique('Nope'), body: 'x' })
        .expect(403);
      await api()
        .patch(`/v1/admin/support/macros/${id}`)
        .set(agent.headers)
        .send({ body: 'changed' })
        .expect(403);

      const changed = await api()
        .patch(`/v1/admin/support/macros/${id}`)
        .set(admin.headers)
        .send({ setStatus: null, setPriority: 'high' })
        .expect(200);
      expect(changed.body).toMatchObject({ setStatus: null, setPriority: 'high' });

      await api().delete(`/v1/admin/support/macros/${id}`).set(agent.headers).expect(403);
      await api().delete(`/v1/admin/support/macros/${id}`).set(admin.headers).expect(204);
      const gone = await api().get(`/v1/admin/support/macros/${id}`).set(admin.headers).expect(404);
      expect(gone.body.code).toBe('support_macro_not_found');
    });

    it('refuses unknown placeholders, bad fields and a taken name', async () => {
      const bad = await api()
        .post('/v1/admin/support/macros')
        .set(admin.headers)
        .send({ name: unique('Bad'), body: 'Hi {{requester.email}} {{ticket.number}}' })
        .expect(400);
      expect(bad.body).toMatchObject({
        code: 'support_macro_template_invalid',
        unknown: ['requester.email'],
      });
      await api()
        .post('/v1/admin/support/macros')
        .set(admin.headers)
        .send({ name: unique('Bad'), body: 'x', setStatus: 'archived' })
        .expect(400);
      const name = unique('Twice');
      await api()
        .post('/v1/admin/support/macros')
        .set(admin.headers)
        .send({ name, body: 'x' })
        .expect(201);
      const taken = await api()
        .post('/v1/admin/support/macros')
        .set(admin.headers)
        .send({ name, body: 'y' })
        .expect(409);
      expect(taken.body.code).toBe('support_macro_name_taken');
    });

    it('is not for tenant members, even owners', async () => {
      const org = await createOrg(t.app);
      await api().get('/v1/admin/support/macros').set(org.headers).expect(403);
    });
  });

  describe('applying to a ticket', () => {
    it('posts the rendered reply as the agent and makes the field changes', async () => {
      const org = await createOrg(t.app);
      const { id, member } = await ticketOf(org);
      const macroId = await macro({
        body: 'Hi {{requester.name}}, about #{{ticket.number}} ({{ ticket.subject }}, {{ticket.priority}}): send logs. — {{agent.name}}',
        setStatus: 'pending',
        setPriority: 'high',
        addTags: ['logs', 'export'],
      });

      const res = await api()
        .post(`/v1/support/tickets/${id}/macros/${macroId}`)
        .set(asAgentIn(org))
        .expect(200);
      expect(res.body.reply).toMatchObject({
        kind: 'reply',
        authorId: agent.user.id,
        authorRole: 'agent',
        body: 'Hi Ada Requester, about #1 (Export fails, high): send logs. — Grace Agent',
      });
      expect(res.body.ticket).toMatchObject({
        status: 'pending',
        priority: 'high',
        tags: ['export', 'logs'],
        firstResponseAt: expect.any(String),
      });

      // The member sees the reply; the history has each field's change once (new → pending, not via open).
      const seen = await api().get(`/v1/support/tickets/${id}`).set(member.headers).expect(200);
      expect(seen.body.messages).toEqual([expect.objectContaining({ body: res.body.reply.body })]);
      expect(seen.body.history).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ field: 'status', from: 'new', to: 'pending' }),
          expect.objectContaining({ field: 'priority', from: 'normal', to: 'high' }),
          expect.objectContaining({ field: 'tags', from: 'export', to: 'export,logs' }),
        ]),
      );
    });

    it("the tenant's own support agent applies them too", async () => {
      const org = await createOrg(t.app);
      const { id } = await ticketOf(org);
      const own = await createUser(t.app, { tenant: org.tenant, role: TenantRole.SupportAgent });
      const macroId = await macro({ body: 'On it.' });
      const res = await api()
        .post(`/v1/support/tickets/${id}/macros/${macroId}`)
        .set(own.headers)
        .expect(200);
      expect(res.body.ticket.status).toBe('open');
    });

    it('refuses a forbidden transition and changes nothing', async () => {
      const org = await createOrg(t.app);
      const { id } = await ticketOf(org);
      // After the reply the ticket is open, and open cannot go back to new.
      const macroId = await macro({ body: 'Reset', setStatus: 'new', setPriority: 'urgent' });
      const res = await api()
        .post(`/v1/support/tickets/${id}/macros/${macroId}`)
        .set(asAgentIn(org))
        .expect(409);
      expect(res.body.code).toBe('ticket_transition_not_allowed');
      const after = await api().get(`/v1/support/tickets/${id}`).set(asAgentIn(org)).expect(200);
      expect(after.body).toMatchObject({ status: 'new', priority: 'normal', messages: [] });
      expect(after.body.firstResponseAt).toBeNull();
    });

    it('refuses a closed ticket', async () => {
      const org = await createOrg(t.app);
      const { id } = await ticketOf(org);
      await api()
        .patch(`/v1/support/tickets/${id}`)
        .set(asAgentIn(org))
        .send({ status: 'closed' })
        .expect(200);
      const macroId = await macro({ body: 'Late' });
      const res = await api()
        .post(`/v1/support/tickets/${id}/macros/${macroId}`)
        .set(asAgentIn(org))
        .expect(409);
      expect(res.body.code).toBe('ticket_closed');
    });

    it('404s an unknown macro or ticket, 400s a malformed id', async () => {
      const org = await createOrg(t.app);
      const { id } = await ticketOf(org);
      const macroId = await macro({ body: 'x' });
      const noMacro = await api()
        .post(`/v1/support/tickets/${id}/macros/${randomUUID()}`)
        .set(asAgentIn(org))
        .expect(404);
      expect(noMacro.body.code).toBe('support_macro_not_found');
      const noTicket = await api()
        .post(`/v1/support/tickets/${randomUUID()}/macros/${macroId}`)
        .set(asAgentIn(org))
        .expect(404);
      expect(noTicket.body.code).toBe('ticket_not_found');
      await api()
        .post(`/v1/support/tickets/${id}/macros/not-a-uuid`)
        .set(asAgentIn(org))
        .expect(400);
    });

    it('is not for members, and not across tenants', async () => {
      const org = await createOrg(t.app);
      const { id, member } = await ticketOf(org);
      const macroId = await macro({ body: 'x' });
      await api()
        .post(`/v1/support/tickets/${id}/macros/${macroId}`)
        .set(member.headers)
        .expect(403);

      const other = await createOrg(t.app);
      const res = await api()
        .post(`/v1/support/tickets/${id}/macros/${macroId}`)
        .set(other.headers)
        .expect(404);
      expect(res.body.code).toBe('ticket_not_found');
      await api()
        .post(`/v1/support/tickets/${id}/macros/${macroId}`)
        .set(asAgentIn(other))
        .expect(404);
      const untouched = await api()
        .get(`/v1/support/tickets/${id}`)
        .set(member.headers)
        .expect(200);
      expect(untouched.body.messages).toEqual([]);
    });
  });
});
