import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlatformRole } from '../../src/access/roles';
import { User } from '../../src/identity/entities/user.entity';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { createTestDatabase, TestDatabase } from '../support/database';
import { bareEnv, buildOnce, ServerProcess } from '../support/server-process';
import { bootTestApp, encryptionKeysOf, TestApp } from '../support/test-app';

/** The commands a developer or a Kubernetes Job runs, against a database of their own. */
describe('commands', () => {
  let db: TestDatabase;
  let t: TestApp;
  const run = async (script: string, ...args: string[]) => {
    const cli = new ServerProcess(
      script,
      args,
      bareEnv({
        DATABASE_URL: db.url,
        DATA_DIR: mkdtempSync(join(tmpdir(), 'groundwork-cli-')),
        // The database's keys: the commands read and write its encrypted columns.
        DATA_ENCRYPTION_KEYS: encryptionKeysOf(t),
      }),
    );
    const code = await cli.exited;
    return { code, out: cli.text() };
  };

  beforeAll(async () => {
    buildOnce();
    db = await createTestDatabase();
    t = await bootTestApp({ database: db });
  });
  afterAll(async () => {
    await t.close();
    await db.drop();
  });

  it('migrate: applies nothing twice, migrates one tenant on request, and fails clearly on an unknown one', async () => {
    const first = await run('cli/migrate.js');
    expect(first.code).toBe(0);
    expect(first.out).toContain('Platform: up to date');
    const created = await run('cli/tenant-create.js', '--slug', 'cli-co', '--name', 'CLI Co');
    expect(created.code).toBe(0);
    const one = await run('cli/migrate.js', '--tenant', 'cli-co', '--all');
    expect(one).toMatchObject({ code: 0 });
    expect(one.out).toMatch(/Tenants: 1 looked at, 0 migrated, 0 failed/);
    const unknown = await run('cli/migrate.js', '--tenant', 'no-such-org');
    expect(unknown.code).toBe(1);
    expect(unknown.out).toContain('No organisation "no-such-org"');
    const bad = await run('cli/migrate.js', '--concurrency', '0');
    expect(bad.code).toBe(2);
    expect(await t.em().count(Tenant, { slug: 'cli-co' })).toBe(1);
  });

  it('admin:create: creates a platform admin with a generated password, or promotes an existing user', async () => {
    const res = await run('cli/admin-create.js', '--email', 'Root@Example.com', '--name', 'Root');
    expect(res.code).toBe(0);
    const password = /Password \(shown once\): (\S+)/.exec(res.out)?.[1];
    expect(password).toBeDefined();
    const user = await t.em().findOneOrFail(User, { email: 'root@example.com' });
    expect(user.platformRole).toBe(PlatformRole.Admin);

    const again = await run('cli/admin-create.js', '--email', 'root@example.com', '--support');
    expect(again).toMatchObject({ code: 0, out: expect.stringContaining('now platform_support') });
    expect((await t.em().findOneOrFail(User, { email: 'root@example.com' })).platformRole).toBe(
      PlatformRole.Support,
    );

    expect((await run('cli/admin-create.js')).code).toBe(2);
    const weak = await run(
      'cli/admin-create.js',
      '--email',
      'weak@example.com',
      '--password',
      'password',
    );
    expect(weak.code).toBe(2);
    expect(weak.out).toContain('The password must be at least 12 characters long');
  });
});
