import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { EntityManager } from '@mikro-orm/postgresql';
import request from 'supertest';
import { tenantMigrations } from '../../migrations/tenant';
import { Keyring } from '../../src/common/crypto/keyring';
import { parseEncryptionKeys } from '../../src/config/app-config';
import { BackupError } from '../../src/database/backup/backup.error';
import { exportTenant, importTenant } from '../../src/database/backup/tenant-archive';
import { tenantSchemaName } from '../../src/database/schema-names';
import { TenantSchemaMigrator } from '../../src/database/tenant-schema-migrator';
import { totpCodeAt } from '../../src/identity/totp';
import { AttachmentStorage } from '../../src/support/attachments/storage';
import { createTestDatabase, TestDatabase } from '../support/database';
import { createUser, TEST_PASSWORD } from '../support/factories';
import { sqlMigration } from '../support/migrations';
import { bareEnv, buildOnce, ServerProcess } from '../support/server-process';
import { bootTestApp, TestApp } from '../support/test-app';
import { archiveText, rewriteArchive, tenantFingerprint } from './archive-helpers';
import { SeededOrg, seedOrg } from './seed';

/** The keyring an instance reads its encrypted columns with. */
const keyringOf = (t: TestApp) => Keyring.fromConfig(t.config.secrets.dataEncryptionKeys);

const EXTRA_MIGRATION = 'Migration29990101000000_ticket_channel_note';
// Passport keeps one JWT strategy per process: apps side by side share its secret.
const ENV = { JWT_SECRET: 'archive-test-secret-0123456789abcdef0123456789' };

/**
 * One organisation exported from one instance and imported into another:
 * every platform row and tenant table arrives unchanged, the organisation
 * works there, and every refusal leaves the target as it was.
 */
describe('tenant export and import', () => {
  let source: TestApp;
  let target: TestApp;
  let x: SeededOrg;
  let y: SeededOrg;
  let dir: string;
  let archive: string;
  let recoveryCodes: string[];

  const migratorOf = (t: TestApp) => t.app.get(TenantSchemaMigrator);
  const filesOf = (t: TestApp) => ({
    table: 'ticket_attachment',
    column: 'storage_key',
    storage: t.app.get(AttachmentStorage),
  });
  /** Attachment files a tenant has in an app's storage. */
  const storedFiles = (t: TestApp, tenantId: string) =>
    existsSync(join(t.config.attachments.dir, tenantId))
      ? readdirSync(join(t.config.attachments.dir, tenantId))
      : [];
  const emOf = (t: TestApp) => t.app.get(EntityManager);
  const exportX = (file: string) =>
    exportTenant(emOf(source), { tenant: x.slug, output: file, files: filesOf(source) });
  const schemaExists = async (t: TestApp, tenantId: string) =>
    (
      await t
        .em()
        .execute<{ n: number }[]>('select count(*)::int as n from pg_namespace where nspname = ?', [
          tenantSchemaName(tenantId),
        ])
    )[0].n === 1;
  const tenantRows = async (t: TestApp, tenantId: string) =>
    (
      await t.em().execute<{ n: number }[]>(
        `select (select count(*) from platform.tenant where id = ?)
                + (select count(*) from platform.membership where tenant_id = ?)
                + (select count(*) from platform.invoice where tenant_id = ?) as n`,
        [tenantId, tenantId, tenantId],
      )
    )[0].n;

  /** A target the import must leave untouched. */
  const expectNothingImported = async (t: TestApp) => {
    expect(Number(await tenantRows(t, x.tenantId))).toBe(0);
    expect(await schemaExists(t, x.tenantId)).toBe(false);
    expect(storedFiles(t, x.tenantId)).toEqual([]);
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'groundwork-archive-'));
    source = await bootTestApp({ env: ENV });
    // A newer build: one more tenant migration than the source has applied.
    target = await bootTestApp({
      env: ENV,
      override: (b) =>
        b.overrideProvider(TenantSchemaMigrator).useFactory({
          factory: (em: EntityManager) =>
            new TenantSchemaMigrator(em, [
              ...tenantMigrations,
              sqlMigration(
                EXTRA_MIGRATION,
                `alter table ticket add column channel_note text not null default 'migrated'`,
              ),
            ]),
          inject: [EntityManager],
        }),
    });
    x = await seedOrg(source, 'xco');
    y = await seedOrg(source, 'yco');
    // X's owner signs in with a second factor: the account must keep it elsewhere.
    const setup = await request(source.server)
      .post('/v1/auth/2fa/setup')
      .set(x.headers)
      .send({ password: TEST_PASSWORD })
      .expect(200);
    const confirmed = await request(source.server)
      .post('/v1/auth/2fa/confirm')
      .set(x.headers)
      .send({ code: totpCodeAt(setup.body.secret as string, Date.now()) })
      .expect(200);
    recoveryCodes = confirmed.body.recoveryCodes as string[];
    archive = join(dir, 'x.tenant.gz');
    await exportX(archive);
  });
  afterAll(async () => {
    await source?.close();
    await target?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("holds the tenant's rows and nothing of another tenant", () => {
    const text = archiveText(archive);
    expect(text).toContain(x.tenantId);
    expect(text).toContain(x.email);
    expect(text).not.toContain(y.tenantId);
    expect(text).not.toContain(y.email);
    expect(text).not.toContain(y.slug);
    // Sessions never travel.
    expect(text).not.toContain('"refresh_token"');
    const header = JSON.parse(text.split('\n')[0]) as [string, { tenantMigrations: string[] }];
    expect(header[1].tenantMigrations).toEqual(tenantMigrations.map((m) => m.name).sort());
  });

  it('imports into another instance with every row unchanged, then runs the newer build’s migrations', async () => {
    const before = await tenantFingerprint(source.db.url, x.tenantId, keyringOf(source));
    expect(before['platform.invoice'].rows).toBeGreaterThan(0);
    expect(before['platform.payment_attempt'].rows).toBeGreaterThan(0);
    expect(before['platform.api_key'].rows).toBe(1);
    expect(before['tenant.ticket'].rows).toBe(1);
    expect(before['platform.user_two_factor'].rows).toBe(1);
    expect(before['platform.two_factor_recovery_code'].rows).toBe(10);
    expect(before['tenant.ticket_message'].rows).toBeGreaterThan(0);

    const summary = await importTenant(emOf(target), migratorOf(target), {
      input: archive,
      files: filesOf(target),
    });
    expect(summary.tenant.id).toBe(x.tenantId);

    const after = await tenantFingerprint(target.db.url, x.tenantId, keyringOf(target));
    // The newer build's migration changed the ticket table and the migration record, nothing else.
    const {
      ['tenant.ticket']: ticketAfter,
      ['tenant.schema_migration names']: namesAfter,
      ...restAfter
    } = after;
    const {
      ['tenant.ticket']: ticketBefore,
      ['tenant.schema_migration names']: namesBefore,
      ...restBefore
    } = before;
    expect(restAfter).toEqual(restBefore);
    expect(ticketAfter.rows).toBe(ticketBefore.rows);
    expect(namesAfter.md5).toBe([namesBefore.md5, EXTRA_MIGRATION].sort().join(','));
    const [tenant] = await target
      .em()
      .execute<{ schema_version: string }[]>(
        'select schema_version from platform.tenant where id = ?',
        [x.tenantId],
      );
    expect(tenant.schema_version).toBe(EXTRA_MIGRATION);
    const [ticket] = await target
      .em()
      .execute<{ channel_note: string }[]>(
        `select channel_note from ${tenantSchemaName(x.tenantId)}.ticket`,
      );
    expect(ticket.channel_note).toBe('migrated');
  });

  it('works on the new instance: the owner signs in and finds the ticket, the subscription and the next ticket number', async () => {
    const api = () => request(target.server);
    // The password alone is not enough: the second factor came along with the account.
    const first = await api()
      .post('/v1/auth/login')
      .send({ email: x.email, password: TEST_PASSWORD })
      .expect(200);
    expect(first.body).toMatchObject({ twoFactorRequired: true });
    expect(first.body.accessToken).toBeUndefined();
    const login = await api()
      .post('/v1/auth/login/2fa')
      .send({ challenge: first.body.challenge, recoveryCode: recoveryCodes[0] })
      .expect(200);
    const headers = {
      Authorization: `Bearer ${login.body.accessToken}`,
      'X-Tenant-Id': x.tenantId,
    };
    const ticket = await api().get(`/v1/support/tickets/${x.ticketId}`).set(headers).expect(200);
    expect(ticket.body.subject).toBe('xco: export fails');
    const subscription = await api().get('/v1/billing/subscription').set(headers).expect(200);
    expect(subscription.body.subscription.status).toBe('active');
    const next = await api()
      .post('/v1/support/tickets')
      .set(headers)
      .send({ subject: 'After the move', description: 'Numbers go on.' })
      .expect(201);
    expect(next.body.number).toBe(ticket.body.number + 1);
    // The attachment's bytes came along, into this instance's own storage.
    expect(target.config.attachments.dir).not.toBe(source.config.attachments.dir);
    const download = await api()
      .get(`/v1/support/tickets/${x.ticketId}/attachments/${x.attachmentId}`)
      .set(headers)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      })
      .expect(200);
    expect(Buffer.compare(download.body as Buffer, x.attachment)).toBe(0);
  });

  it('refuses an organisation that exists, writing nothing', async () => {
    const before = await tenantFingerprint(target.db.url, x.tenantId, keyringOf(target));
    await expect(
      importTenant(emOf(target), migratorOf(target), { input: archive, files: filesOf(target) }),
    ).rejects.toThrow(/already exists here/);
    expect(await tenantFingerprint(target.db.url, x.tenantId, keyringOf(target))).toEqual(before);
  });

  it('refuses to export while a platform table of user rows is not placed (tenant_id tables are taken as they come)', async () => {
    await source
      .em()
      .execute('create table platform.future_notes (id uuid primary key, user_id uuid)');
    try {
      await expect(exportX(join(dir, 'unplaced.gz'))).rejects.toThrow(
        /platform tables future_notes hold user rows that tenant archives do not place/,
      );
      expect(existsSync(join(dir, 'unplaced.gz'))).toBe(false);
    } finally {
      await source.em().execute('drop table platform.future_notes');
    }
  });

  describe('refusals on a fresh instance', () => {
    let fresh: TestApp;
    beforeAll(async () => {
      fresh = await bootTestApp({ env: ENV });
    });
    afterAll(async () => {
      await fresh?.close();
    });
    const importInto = (file: string) =>
      importTenant(emOf(fresh), migratorOf(fresh), { input: file, files: filesOf(fresh) });

    it('refuses a damaged, truncated, foreign or missing file before writing anything', async () => {
      const edited = join(dir, 'edited.gz');
      const text = archiveText(archive).replace('xco: export fails', 'xco: export works');
      writeFileSync(edited, gzipSync(text));
      await expect(importInto(edited)).rejects.toThrow(/checksum mismatch/);

      const bytes = readFileSync(archive);
      const truncated = join(dir, 'truncated.gz');
      writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await expect(importInto(truncated)).rejects.toThrow(BackupError);

      const cut = join(dir, 'cut.gz');
      const lines = gunzipSync(bytes).toString().trimEnd().split('\n');
      writeFileSync(cut, gzipSync(`${lines.slice(0, -1).join('\n')}\n`));
      await expect(importInto(cut)).rejects.toThrow(/ends early/);

      const foreign = join(dir, 'foreign.gz');
      writeFileSync(foreign, gzipSync('["header",{"format":"something-else"}]\n'));
      await expect(importInto(foreign)).rejects.toThrow(/not a Groundwork tenant archive/);

      await expect(importInto(join(dir, 'missing.gz'))).rejects.toThrow(/does not exist/);
      await expectNothingImported(fresh);
    });

    it('refuses an archive from a newer build (tenant migration, platform migration or column unknown here)', async () => {
      const newerTenant = join(dir, 'newer-tenant.gz');
      rewriteArchive(archive, newerTenant, (lines) =>
        lines.map(([kind, body]) =>
          kind === 'header'
            ? [
                kind,
                {
                  ...body,
                  tenantMigrations: [
                    ...(body.tenantMigrations as string[]),
                    'Migration29990101000000_future',
                  ],
                },
              ]
            : [kind, body],
        ),
      );
      await expect(importInto(newerTenant)).rejects.toThrow(/migrations this build does not/);

      const newerPlatform = join(dir, 'newer-platform.gz');
      rewriteArchive(archive, newerPlatform, (lines) =>
        lines.map(([kind, body]) =>
          kind === 'header'
            ? [
                kind,
                {
                  ...body,
                  platformMigrations: [
                    ...(body.platformMigrations as string[]),
                    'Migration29990101000000_future',
                  ],
                },
              ]
            : [kind, body],
        ),
      );
      await expect(importInto(newerPlatform)).rejects.toThrow(/newer platform schema/);

      const newerColumn = join(dir, 'newer-column.gz');
      rewriteArchive(archive, newerColumn, (lines) =>
        lines.map(([kind, body]) =>
          kind === 'table' && body.table === 'ticket'
            ? [kind, { ...body, columns: [...(body.columns as string[]), 'sentiment'] }]
            : [kind, body],
        ),
      );
      await expect(importInto(newerColumn)).rejects.toThrow(
        /ticket\.sentiment this database lacks/,
      );
      await expectNothingImported(fresh);
    });

    it('refuses an archive with stored files when no storage is given', async () => {
      await expect(
        importTenant(emOf(fresh), migratorOf(fresh), { input: archive }),
      ).rejects.toThrow(/no storage was given/);
      await expectNothingImported(fresh);
    });

    it('rolls back rows and removes the files it wrote when the last step (a later migration) fails', async () => {
      const failing = new TenantSchemaMigrator(emOf(fresh), [
        ...tenantMigrations,
        sqlMigration('Migration29990101000001_fails', 'select 1 / 0'),
      ]);
      await expect(
        importTenant(emOf(fresh), failing, { input: archive, files: filesOf(fresh) }),
      ).rejects.toThrow(/division by zero/);
      await expectNothingImported(fresh);
    });

    it("refuses when a member's email belongs to another account here, writing nothing", async () => {
      await createUser(fresh.app, { email: x.email });
      await expect(importInto(archive)).rejects.toThrow(/belong to other accounts here/);
      await expectNothingImported(fresh);
    });
  });

  describe('commands', () => {
    let db: TestDatabase;
    beforeAll(() => buildOnce());
    afterAll(async () => {
      await db?.drop();
    });
    /** A command on the database of `url`, with that instance's attachments folder. */
    const run = async (
      instance: { url: string; attachments: string; keys?: string },
      script: string,
      ...args: string[]
    ) => {
      const cli = new ServerProcess(
        script,
        args,
        bareEnv({
          DATABASE_URL: instance.url,
          ATTACHMENTS_DIR: instance.attachments,
          DATA_DIR: mkdtempSync(join(tmpdir(), 'groundwork-cli-')),
          // The instance's keys: its encrypted columns and files are unreadable without them.
          ...(instance.keys ? { DATA_ENCRYPTION_KEYS: instance.keys } : {}),
        }),
      );
      const code = await cli.exited;
      return { code, out: cli.text() };
    };

    const sourceKeys = () =>
      source.config.secrets.dataEncryptionKeys.map((k) => `${k.id}:${k.key.reveal()}`).join(',');
    const from = () => ({
      url: source.db.url,
      attachments: source.config.attachments.dir,
      keys: sourceKeys(),
    });

    it('tenant:export and tenant:import move an organisation with its files; bad arguments exit 2, refusals 1', async () => {
      const file = join(dir, 'cli.tenant.gz');
      const exported = await run(
        from(),
        'cli/tenant-export.js',
        '--tenant',
        y.slug,
        '--output',
        file,
      );
      expect(exported.out).toMatch(/Exported yco-\w+: \d+ rows/);
      expect(exported.code).toBe(0);
      expect(existsSync(file)).toBe(true);

      const again = await run(from(), 'cli/tenant-export.js', '--tenant', y.slug, '--output', file);
      expect(again).toMatchObject({ code: 1, out: expect.stringContaining('already exists') });
      const unknown = await run(
        from(),
        'cli/tenant-export.js',
        '--tenant',
        'no-such-org',
        '--output',
        join(dir, 'none.gz'),
      );
      expect(unknown).toMatchObject({
        code: 1,
        out: expect.stringContaining('no tenant with id or slug'),
      });
      expect(existsSync(join(dir, 'none.gz'))).toBe(false);
      expect((await run(from(), 'cli/tenant-export.js', '--tenant', y.slug)).code).toBe(2);

      // A missing attachment file stops the export: an archive never silently lacks one.
      const broken = {
        url: source.db.url,
        attachments: mkdtempSync(join(tmpdir(), 'gw-empty-')),
        keys: sourceKeys(),
      };
      const missing = await run(
        broken,
        'cli/tenant-export.js',
        '--tenant',
        y.slug,
        '--output',
        join(dir, 'no-files.gz'),
      );
      expect(missing).toMatchObject({ code: 1, out: expect.stringContaining('cannot be read') });
      expect(existsSync(join(dir, 'no-files.gz'))).toBe(false);

      db = await createTestDatabase();
      const to = {
        url: db.url,
        attachments: mkdtempSync(join(tmpdir(), 'gw-imported-')),
        keys: `k1:${randomBytes(32).toString('base64')}`,
      };
      const imported = await run(to, 'cli/tenant-import.js', '--input', file);
      expect(imported.out).toContain(`Imported ${y.slug} (${y.tenantId})`);
      expect(imported.code).toBe(0);
      expect(
        await tenantFingerprint(
          db.url,
          y.tenantId,
          Keyring.fromConfig(parseEncryptionKeys(to.keys)),
        ),
      ).toEqual(await tenantFingerprint(source.db.url, y.tenantId, keyringOf(source)));
      const [stored] = readdirSync(join(to.attachments, y.tenantId));
      // Encrypted under the importing instance's own key.
      const raw = readFileSync(join(to.attachments, y.tenantId, stored));
      const toKeyring = Keyring.fromConfig(parseEncryptionKeys(to.keys));
      expect(toKeyring.keyIdOfBytes(raw)).toBe('k1');
      expect(toKeyring.decryptBytes(raw)).toEqual(y.attachment);
      const twice = await run(to, 'cli/tenant-import.js', '--input', file);
      expect(twice).toMatchObject({ code: 1, out: expect.stringContaining('already exists here') });
      expect((await run(to, 'cli/tenant-import.js')).code).toBe(2);
    });
  });
});
