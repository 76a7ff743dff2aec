import { randomUUID } from 'node:crypto';
import { EntityManager } from '@mikro-orm/postgresql';
import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { PlatformAuditEvent } from '../../src/tenancy/audit/platform-audit-event.entity';
import { createOrg, createUser, type Actor, type Org } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

/** A solved ticket's answer becomes an internal KB draft, with who asked left out. */
describe('ticket to knowledge-base draft', () => {
  let t: TestApp;
  let admin: Actor;
  let agent: Actor;
  let categoryId: string;

  beforeAll(async () => {
    t = await bootTestApp();
    admin = await createUser(t.app, { platformRole: PlatformRole.Admin });
    agent = await createUser(t.app, { platformRole: PlatformRole.Support });
    const category = await api()
      .post('/v1/admin/kb/categories')
      .set(admin.headers)
      .send({ slug: `from-tickets-${randomUUID().slice(0, 8)}`, name: 'From tickets' })
      .expect(201);
    categoryId = category.body.id as string;
  });
  afterAll(() => t.close());

  const api = () => request(t.server);
  const asAgentIn = (org: Org) => ({ ...agent.headers, 'X-Tenant-Id': org.tenant.id });

  /** A member's ticket, answered by the agent, noted internally, replied to by the member. */
  async function answeredTicket(org: Org, solve = true) {
    const word = randomUUID().slice(0, 8);
    const member = await createUser(t.app, {
      tenant: org.tenant,
      role: TenantRole.Member,
      name: 'Ada Lovelace',
      email: `ada-${word}@example.com`,
    });
    const opened = await api()
      .post('/v1/support/tickets')
      .set(member.headers)
      .send({
        subject: `Export fails ${word}`,
        description: `Hi, Ada here (${member.user.email}): the CSV export times out.`,
      })
      .expect(201);
    const id = opened.body.id as string;
    const post = (path: string, headers: Record<string, string>, body: string) =>
      api().post(`/v1/support/tickets/${id}/${path}`).set(headers).send({ body }).expect(201);
    await post('replies', asAgentIn(org), 'Hi Ada, pick a shorter date range.');
    await post('notes', asAgentIn(org), 'Internal: customer is on the slow shard.');
    await post('replies', member.headers, 'Thanks, Lovelace household is happy.');
    await post('replies', asAgentIn(org), 'Fixed for good in 2.3.');
    if (solve) {
      await api()
        .patch(`/v1/support/tickets/${id}`)
        .set(asAgentIn(org))
        .send({ status: 'solved' })
        .expect(200);
    }
    return { id, member, word };
  }

  it('drafts an internal article from the question and the agents’ answers, identity removed', async () => {
    const org = await createOrg(t.app);
    const { id, member, word } = await answeredTicket(org);
    const res = await api()
      .post(`/v1/support/tickets/${id}/kb-draft`)
      .set(asAgentIn(org))
      .send({ categoryId })
      .expect(201);
    expect(res.body).toEqual({
      articleId: expect.any(String),
      slug: `export-fails-${word}`,
      ticketId: id,
    });

    const article = await api()
      .get(`/v1/admin/kb/articles/${res.body.articleId}`)
      .set(admin.headers)
      .expect(200);
    expect(article.body).toMatchObject({
      title: `Export fails ${word}`,
      status: 'draft',
      visibility: 'internal',
      locale: 'en',
      authorId: agent.user.id,
    });
    const body = article.body.bodyMarkdown as string;
    expect(body).toContain('Hi, [name] here ([email]): the CSV export times out.');
    expect(body).toContain('Hi [name], pick a shorter date range.');
    expect(body).toContain('Fixed for good in 2.3.');
    for (const leak of ['Ada', 'Lovelace', member.user.email, 'slow shard', 'household']) {
      expect(body).not.toContain(leak);
    }

    const em = t.app.get(EntityManager).fork();
    const audit = await em.findOne(PlatformAuditEvent, {
      action: 'kb.article.drafted_from_ticket',
      tenantId: org.tenant.id,
    });
    expect(audit).toMatchObject({
      actorId: agent.user.id,
      data: { articleId: res.body.articleId, ticketId: id },
    });
  });

  it('takes a visibility and locale', async () => {
    const org = await createOrg(t.app);
    const { id } = await answeredTicket(org);
    const res = await api()
      .post(`/v1/support/tickets/${id}/kb-draft`)
      .set({ ...admin.headers, 'X-Tenant-Id': org.tenant.id })
      .send({ categoryId, visibility: 'signed_in', locale: 'pt-BR' })
      .expect(201);
    const article = await api()
      .get(`/v1/admin/kb/articles/${res.body.articleId}`)
      .set(admin.headers)
      .expect(200);
    expect(article.body).toMatchObject({
      visibility: 'signed_in',
      locale: 'pt-br',
      status: 'draft',
    });
  });

  it('refuses a ticket that is not solved', async () => {
    const org = await createOrg(t.app);
    const { id } = await answeredTicket(org, false);
    const res = await api()
      .post(`/v1/support/tickets/${id}/kb-draft`)
      .set(asAgentIn(org))
      .send({ categoryId })
      .expect(409);
    expect(res.body.code).toBe('ticket_not_solved');
  });

  it('400s a bad body, 404s an unknown ticket or category', async () => {
    const org = await createOrg(t.app);
    const { id } = await answeredTicket(org);
    await api()
      .post(`/v1/support/tickets/${id}/kb-draft`)
      .set(asAgentIn(org))
      .send({ visibility: 'everyone' })
      .expect(400);
    const noTicket = await api()
      .post(`/v1/support/tickets/${randomUUID()}/kb-draft`)
      .set(asAgentIn(org))
      .send({ categoryId })
      .expect(404);
    expect(noTicket.body.code).toBe('ticket_not_found');
    const noCategory = await api()
      .post(`/v1/support/tickets/${id}/kb-draft`)
      .set(asAgentIn(org))
      .send({ categoryId: randomUUID() })
      .expect(404);
    expect(noCategory.body.code).toBe('kb_category_not_found');
  });

  it("is for the operator's staff only: not the tenant's agent, owner or member", async () => {
    const org = await createOrg(t.app);
    const { id, member } = await answeredTicket(org);
    const own = await createUser(t.app, { tenant: org.tenant, role: TenantRole.SupportAgent });
    for (const headers of [own.headers, org.headers, member.headers]) {
      const res = await api()
        .post(`/v1/support/tickets/${id}/kb-draft`)
        .set(headers)
        .send({ categoryId })
        .expect(403);
      expect(res.body.code).toBe('forbidden');
    }
  });

  it("finds no other organisation's ticket", async () => {
    const org = await createOrg(t.app);
    const { id } = await answeredTicket(org);
    const other = await createOrg(t.app);
    const res = await api()
      .post(`/v1/support/tickets/${id}/kb-draft`)
      .set(asAgentIn(other))
      .send({ categoryId })
      .expect(404);
    expect(res.body.code).toBe('ticket_not_found');
  });
});
