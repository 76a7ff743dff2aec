import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { EntityManager } from '@mikro-orm/postgresql';
import request from 'supertest';
import { exportTenant, importTenant } from '../../src/database/backup/tenant-archive';
import { TenantSchemaMigrator } from '../../src/database/tenant-schema-migrator';
import { createOrg, type Org } from '../support/factories';
import { bootTestApp, TestApp } from '../support/test-app';

const ENV = { JWT_SECRET: 'feedback-archive-secret-0123456789abcdef0123456789' };

/** An organisation's feedback travels in its archive (`tenant:export` / `tenant:import`). */
describe('feedback in tenant archives', () => {
  let source: TestApp;
  let target: TestApp;
  let x: Org;
  let y: Org;
  let dir: string;

  const feedbackOf = (t: TestApp, tenantId: string) =>
    t
      .em()
      .execute(
        'select id, tenant_id, user_id, kind, score, category, message, context, created_at from platform.feedback where tenant_id = ? order by id',
        [tenantId],
      );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'groundwork-feedback-archive-'));
    source = await bootTestApp({ env: ENV });
    target = await bootTestApp({ env: ENV });
    x = await createOrg(source.app);
    y = await createOrg(source.app);
    for (const [org, body] of [
      [x, { kind: 'rating', score: 4, message: 'Nice, "really"', context: { page: '/' } }],
      [x, { kind: 'nps', score: 9, category: 'billing' }],
      [y, { kind: 'nps', score: 2, message: 'Not for export' }],
    ] as const) {
      await request(source.server).post('/v1/feedback').set(org.headers).send(body).expect(201);
    }
  });
  afterAll(async () => {
    await source?.close();
    await target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("exports the organisation's feedback only, and imports it unchanged", async () => {
    const file = join(dir, 'x.tenant.gz');
    const result = await exportTenant(source.app.get(EntityManager), {
      tenant: x.tenant.slug,
      output: file,
    });
    expect(result.tables['platform.feedback']).toBe(2);
    const text = gunzipSync(readFileSync(file)).toString('utf8');
    expect(text).not.toContain('Not for export');

    const before = await feedbackOf(source, x.tenant.id);
    expect(before).toHaveLength(2);
    await importTenant(target.app.get(EntityManager), target.app.get(TenantSchemaMigrator), {
      input: file,
    });
    expect(await feedbackOf(target, x.tenant.id)).toEqual(before);
    expect(await feedbackOf(target, y.tenant.id)).toEqual([]);
  });
});
