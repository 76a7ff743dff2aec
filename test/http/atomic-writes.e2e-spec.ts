import { Injectable } from '@nestjs/common';
import request from 'supertest';
import { AuditEntry, AuditService } from '../../src/tenancy/audit/audit.service';
import { AuditEvent } from '../../src/tenancy/audit/audit-event.entity';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { EntityManager } from '@mikro-orm/postgresql';
import { createOrg, Org } from '../support/factories';
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

  async function expectUntouched(org: Org): Promise<void> {
    const { tenant } = org;
    const row = await t.em().findOneOrFail(Tenant, { id: tenant.id });
    expect(row.name).toBe(tenant.name);
    expect(row.updatedAt.toISOString()).toBe(tenant.updatedAt.toISOString());
    const served = await request(t.server).get('/v1/tenant').set(org.headers).expect(200);
    expect(served.body.name).toBe(tenant.name);
    const log = await request(t.server).get('/v1/tenant/audit-log').set(org.headers).expect(200);
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
    const org = await createOrg(t.app, { name: 'Original' });
    const res = await request(t.server).patch('/v1/tenant').set(org.headers).send(body);
    expectProblem(res, 400, 'validation_failed');
    await expectUntouched(org);
  });

  it('PATCH /v1/tenant with malformed JSON', async () => {
    const org = await createOrg(t.app, { name: 'Original' });
    const res = await request(t.server)
      .patch('/v1/tenant')
      .set(org.headers)
      .set('Content-Type', 'application/json')
      .send('{"name": "Half');
    expectProblem(res, 400, 'malformed_json');
    await expectUntouched(org);
  });

  it('PATCH /v1/tenant that fails after the change and its event were staged rolls both back', async () => {
    const org = await createOrg(t.app, { name: 'Original' });
    const res = await request(t.server)
      .patch('/v1/tenant')
      .set(org.headers)
      .send({ name: FAIL_AFTER_RECORDING });
    expectProblem(res, 500, 'internal_error');
    await expectUntouched(org);
  });

  it('a valid PATCH on the same app still commits the change and one event (control)', async () => {
    const org = await createOrg(t.app, { name: 'Original' });
    await request(t.server)
      .patch('/v1/tenant')
      .set(org.headers)
      .send({ name: 'Renamed' })
      .expect(200);
    const row = await t.em().findOneOrFail(Tenant, { id: org.tenant.id });
    expect(row.name).toBe('Renamed');
    const log = await request(t.server).get('/v1/tenant/audit-log').set(org.headers).expect(200);
    expect(log.body.items).toEqual([expect.objectContaining({ action: 'tenant.updated' })]);
  });
});
