import { Injectable } from '@nestjs/common';
import request from 'supertest';
import { AuditEntry, AuditService } from '../../src/tenancy/audit/audit.service';
import { AuditEvent } from '../../src/tenancy/audit/audit-event.entity';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { EntityManager } from '@mikro-orm/postgresql';
import { createTenant } from '../support/factories';
import { expectProblem } from '../support/http-helpers';
import { bootTestApp, TestApp } from '../support/test-app';

const FAIL_AFTER_RECORDING = 'Audit store fails after this';

/** The real audit service, except that it fails right after recording one particular rename. */
@Injectable()
class FailingAuditService extends AuditService {
  override record(entry: AuditEntry, em?: EntityManager): AuditEvent {
    const event = super.record(entry, em);
    const after = entry.data?.after as { name?: string } | undefined;
    if (after?.name === FAIL_AFTER_RECORDING) throw new Error('audit store unavailable');
    return event;
  }
}

/** A failed write leaves nothing behind: neither the change nor its audit event. */
describe('failed writes change nothing', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp({
      override: (b) => b.overrideProvider(AuditService).useClass(FailingAuditService),
    });
  });
  afterAll(() => t.close());

  async function expectUntouched(tenant: Tenant): Promise<void> {
    const row = await t.em().findOneOrFail(Tenant, { id: tenant.id });
    expect(row.name).toBe(tenant.name);
    expect(row.updatedAt.toISOString()).toBe(tenant.updatedAt.toISOString());
    const served = await request(t.server)
      .get('/v1/tenant')
      .set('X-Tenant-Id', tenant.slug)
      .expect(200);
    expect(served.body.name).toBe(tenant.name);
    const log = await request(t.server)
      .get('/v1/tenant/audit-events')
      .set('X-Tenant-Id', tenant.slug)
      .expect(200);
    expect(log.body.items).toEqual([]);
    // Straight from the tenant's schema too, not only through the API.
    const [{ count }] = await t
      .em()
      .getConnection()
      .execute<{ count: string }[]>(
        `select count(*) as count from "${tenant.schemaName}".audit_event`,
      );
    expect(Number(count)).toBe(0);
  }

  it.each([
    ['a name too long', { name: 'n'.repeat(201) }],
    ['a name that is not a string', { name: ['Acme'] }],
    ['an unknown field beside a valid name', { name: 'Valid new name', status: 'deleted' }],
  ])('PATCH /v1/tenant with %s', async (_label, body) => {
    const tenant = await createTenant(t.app, { name: 'Original' });
    const res = await request(t.server)
      .patch('/v1/tenant')
      .set('X-Tenant-Id', tenant.slug)
      .send(body);
    expectProblem(res, 400, 'validation_failed');
    await expectUntouched(tenant);
  });

  it('PATCH /v1/tenant with malformed JSON', async () => {
    const tenant = await createTenant(t.app, { name: 'Original' });
    const res = await request(t.server)
      .patch('/v1/tenant')
      .set('X-Tenant-Id', tenant.slug)
      .set('Content-Type', 'application/json')
      .send('{"name": "Half');
    expectProblem(res, 400, 'malformed_json');
    await expectUntouched(tenant);
  });

  it('PATCH /v1/tenant that fails after the change and its event were staged rolls both back', async () => {
    const tenant = await createTenant(t.app, { name: 'Original' });
    const res = await request(t.server)
      .patch('/v1/tenant')
      .set('X-Tenant-Id', tenant.slug)
      .send({ name: FAIL_AFTER_RECORDING });
    expectProblem(res, 500, 'internal_error');
    await expectUntouched(tenant);
  });

  it('a valid PATCH on the same app still commits the change and one event (control)', async () => {
    const tenant = await createTenant(t.app, { name: 'Original' });
    await request(t.server)
      .patch('/v1/tenant')
      .set('X-Tenant-Id', tenant.slug)
      .send({ name: 'Renamed' })
      .expect(200);
    const row = await t.em().findOneOrFail(Tenant, { id: tenant.id });
    expect(row.name).toBe('Renamed');
    const log = await request(t.server)
      .get('/v1/tenant/audit-events')
      .set('X-Tenant-Id', tenant.slug)
      .expect(200);
    expect(log.body.items).toEqual([expect.objectContaining({ action: 'tenant.updated' })]);
  });
});
