import { EntityManager } from '@mikro-orm/postgresql';
import request from 'supertest';
import { AuditService } from '../../src/tenancy/audit/audit.service';
import { AuditEvent } from '../../src/tenancy/audit/audit-event.entity';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { TenantContextMissingError } from '../../src/tenancy/tenancy.exception';
import { TenantContext } from '../../src/tenancy/tenant-context';
import { createOrg, createTenant, Org } from '../support/factories';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const schemaRows = async (t: TestApp, tenant: Tenant) =>
  t
    .em()
    .execute<{ action: string; data: { after: { name: string } } }[]>(
      `select action, data from "${tenant.schemaName}".audit_event order by id`,
    );

describe('tenant isolation', () => {
  let t: TestApp;
  const statements: string[] = [];

  beforeAll(async () => {
    // Two pooled connections for many concurrent requests: tenants must share them.
    t = await bootTestApp({
      env: { DATABASE_POOL_MAX: '2' },
      orm: { onQuery: (line) => statements.push(line) },
    });
  });
  afterAll(() => t.close());

  it("keeps each tenant's audit events in its own schema under concurrent, interleaved requests", async () => {
    // Two organisations, each with its own owner: every request carries its owner's token.
    const a = await createOrg(t.app);
    const b = await createOrg(t.app);
    const rename = (org: Org, i: number) =>
      request(t.server)
        .patch('/v1/tenant')
        .set(org.headers)
        .set('X-Tenant-Id', org.tenant.slug)
        .send({ name: `${org.tenant.slug} #${i}` })
        .expect(200);
    const reads = (org: Org) =>
      request(t.server)
        .get('/v1/tenant/audit-log')
        .set(org.headers)
        .set('X-Tenant-Id', org.tenant.id)
        .expect(200);

    // 40 writes and 20 reads in flight at once, alternating between the tenants.
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        i % 3 === 2 ? reads(i % 2 ? a : b) : rename(i % 2 ? a : b, i),
      ),
    );
    for (const res of results) expect(res.status).toBe(200);

    for (const [{ tenant, headers }, { tenant: other }] of [
      [a, b],
      [b, a],
    ] as const) {
      const rows = await schemaRows(t, tenant);
      expect(rows.length).toBe(20);
      for (const row of rows) {
        expect(row.action).toBe('tenant.updated');
        expect(row.data.after.name.startsWith(`${tenant.slug} #`)).toBe(true);
        expect(row.data.after.name.startsWith(`${other.slug} #`)).toBe(false);
      }
      const api = await request(t.server)
        .get('/v1/tenant/audit-log?limit=100')
        .set(headers)
        .expect(200);
      expect(api.body.items).toHaveLength(20);
      for (const item of api.body.items) expect(item.targetId).toBe(tenant.id);
    }
  });

  it('lists only the requesting tenant’s events, and cannot page into another tenant’s with a cursor', async () => {
    const a = await createOrg(t.app);
    const b = await createOrg(t.app);
    await request(t.server).patch('/v1/tenant').set(b.headers).send({ name: 'B1' }).expect(200);
    const bEvents = await request(t.server).get('/v1/tenant/audit-log').set(b.headers).expect(200);
    const bEventId = bEvents.body.items[0].id as string;
    // Tenant A passes B's event id as a cursor: it only ever pages through A's own log.
    const viaCursor = await request(t.server)
      .get(`/v1/tenant/audit-log?cursor=${bEventId}`)
      .set(a.headers)
      .expect(200);
    expect(viaCursor.body.items).toEqual([]);
    // Nor can A's owner simply name B: not a member, so B does not exist for them.
    const named = await request(t.server)
      .get('/v1/tenant/audit-log')
      .set(a.headers)
      .set('X-Tenant-Id', b.tenant.slug);
    expectProblem(named, 404, 'tenant_not_found');
    // And A's rename never lands in B's schema.
    await request(t.server).patch('/v1/tenant').set(a.headers).send({ name: 'A1' }).expect(200);
    expect((await schemaRows(t, b.tenant)).map((r) => r.data.after.name)).toEqual(['B1']);
  });

  it('qualifies every SQL statement of a tenant-scoped request with a schema, and never sets search_path', async () => {
    const org = await createOrg(t.app);
    const { tenant } = org;
    statements.length = 0;
    await request(t.server)
      .patch('/v1/tenant')
      .set(org.headers)
      .send({ name: 'Logged' })
      .expect(200);
    await request(t.server).get('/v1/tenant/audit-log').set(org.headers).expect(200);

    const sql = statements.filter((line) => /\b(select|insert|update|delete)\b/i.test(line));
    expect(sql.length).toBeGreaterThanOrEqual(4);
    for (const line of statements) expect(line).not.toMatch(/search_path/i);
    for (const line of sql) {
      // Every table reference (after from/into/update/join) carries a schema.
      const tables = [
        ...line.matchAll(/\b(?:from|into|update|join)\s+("?[\w]+"?(?:\."?[\w]+"?)?)/gi),
      ].map((m) => m[1]);
      for (const table of tables) expect(table).toMatch(/^"?(platform|tenant_[0-9a-f]{32})"?\./);
    }
    expect(statements.some((l) => l.includes(`"${tenant.schemaName}"."audit_event"`))).toBe(true);
  });

  it('throws when tenant data is read without a tenant context', async () => {
    const context = t.app.get(TenantContext);
    expect(() => context.em).toThrow(TenantContextMissingError);
    expect(() => context.tenant).toThrow(TenantContextMissingError);
    expect(() => t.app.get(AuditService).record({ action: 'x.y' }, t.em())).toThrow(
      TenantContextMissingError,
    );
    // Even bypassing the context, an EntityManager without a tenant schema finds no tenant table.
    await expect(t.em().find(AuditEvent, {})).rejects.toThrow(/audit_event.*does not exist/);
  });

  it('runs code for one tenant outside HTTP through the same context (jobs, CLI)', async () => {
    const tenant = await createTenant(t.app);
    const context = t.app.get(TenantContext);
    const audit = t.app.get(AuditService);
    await context.run(tenant, async () => {
      const em: EntityManager = context.em;
      audit.record({ action: 'job.ran', data: { n: 1 } });
      await em.flush();
    });
    const rows = await t
      .em()
      .execute<{ action: string; actor_type: string; request_id: string | null }[]>(
        `select action, actor_type, request_id from "${tenant.schemaName}".audit_event`,
      );
    expect(rows).toEqual([{ action: 'job.ran', actor_type: 'system', request_id: null }]);
    // The context ends with the callback.
    expect(() => context.tenant).toThrow(TenantContextMissingError);
  });
});
