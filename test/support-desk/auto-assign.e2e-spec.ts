import { EntityManager } from '@mikro-orm/postgresql';
import request from 'supertest';
import { PlatformRole, TenantRole } from '../../src/access/roles';
import { createOrg, createUser } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

/** `SUPPORT_AUTO_ASSIGN=round_robin`: new tickets go to the operator's agents in turn. */
describe('round-robin auto-assignment', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp({ env: { SUPPORT_AUTO_ASSIGN: 'round_robin' } });
  });
  afterAll(() => t.close());

  const api = () => request(t.server);

  it('assigns each new ticket, concurrent ones to different agents, and says so in the history', async () => {
    // At least this many agents exist; the pool also holds other tests' support users.
    const count = 6;
    for (let i = 0; i < count; i += 1) {
      await createUser(t.app, { platformRole: PlatformRole.Support });
    }
    const org = await createOrg(t.app);
    const member = await createUser(t.app, { tenant: org.tenant, role: TenantRole.Member });

    const created = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        api()
          .post('/v1/support/tickets')
          .set(member.headers)
          .send({ subject: `Help ${i}`, description: 'Please.' })
          .expect(201),
      ),
    );
    const assignees = created.map((res) => res.body.assigneeId as string | null);
    expect(assignees.every((id) => typeof id === 'string')).toBe(true);
    // Each pick waits for the previous one's queue row: nobody gets two while others wait.
    expect(new Set(assignees).size).toBe(count);

    const detail = await api()
      .get(`/v1/support/tickets/${created[0].body.id}`)
      .set(member.headers)
      .expect(200);
    expect(detail.body.history).toEqual([
      expect.objectContaining({ field: 'assigneeId', from: null, to: assignees[0], actorId: null }),
    ]);
    const agent = await createUser(t.app, { platformRole: PlatformRole.Support });
    const queue = await api()
      .get('/v1/admin/support/queue')
      .query({ tenantId: org.tenant.id })
      .set(agent.headers)
      .expect(200);
    expect(new Set(queue.body.map((row: { assigneeId: string }) => row.assigneeId))).toEqual(
      new Set(assignees),
    );
  });

  it('gives the next ticket to an agent who has had none yet', async () => {
    // Someone who has had no ticket yet exists, so the turn must be theirs (or another such agent's).
    await createUser(t.app, { platformRole: PlatformRole.Support });
    const org = await createOrg(t.app);
    const res = await api()
      .post('/v1/support/tickets')
      .set(org.headers)
      .send({ subject: 'First for someone', description: 'Please.' })
      .expect(201);
    const assigneeId = res.body.assigneeId as string;
    const em = t.app.get(EntityManager).fork();
    const [row] = await em.execute<{ n: string }[]>(
      'select count(*) as n from platform.support_queue where assignee_id = ? and ticket_id <> ?',
      [assigneeId, res.body.id],
    );
    expect(Number(row.n)).toBe(0);
  });
});
