import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import request from 'supertest';
import { ChecksumManifest } from '../../src/database/backup/database-backup';
import { Checksums, databaseChecksums, totalRows } from '../../src/database/backup/checksums';
import { migrateOnStart } from '../../src/lifecycle';
import { TestDatabase, urlFor, withAdmin } from '../support/database';
import { TEST_PASSWORD } from '../support/factories';
import { bareEnv, buildOnce, ServerProcess } from '../support/server-process';
import { bootTestApp } from '../support/test-app';
import { findBackupTarget } from './backup-target';
import { SeededOrg, seedOrg } from './seed';

const target = findBackupTarget();
if (!target.ok) {
  // Said once per run, beside jest's own count of skipped tests.
  process.stderr.write(`Whole-database backup tests skipped: ${target.reason}\n`);
}
const describeWithTools = target.ok ? describe : describe.skip;

/**
 * The disaster drill as a test: a database with real tenants is backed up
 * with the command operators run, destroyed, restored with the command, and
 * every table (and sequence) is compared by row count and checksum.
 */
// A restored database is readable with the keys of its time only: both apps hold the same ring.
const KEYS = { DATA_ENCRYPTION_KEYS: `k1:${randomBytes(32).toString('base64')}` };

describeWithTools('npm run backup / npm run restore', () => {
  const adminUrl = target.ok ? target.adminUrl : '';
  let db: TestDatabase;
  let dir: string;
  let orgs: SeededOrg[];
  let before: Checksums;
  let backup: string;

  const run = async (script: string, ...args: string[]) => {
    const cli = new ServerProcess(
      script,
      args,
      bareEnv({
        DATABASE_URL: db.url,
        PG_BIN_DIR: target.ok ? target.binDir : '',
        DATA_DIR: mkdtempSync(join(tmpdir(), 'groundwork-cli-')),
      }),
    );
    const code = await cli.exited;
    return { code, out: cli.text() };
  };
  const checksums = async (): Promise<Checksums> => {
    const client = new Client({ connectionString: db.url });
    await client.connect();
    try {
      return await databaseChecksums(client);
    } finally {
      await client.end();
    }
  };
  const recreateEmpty = () =>
    withAdmin(async (c) => {
      await c.query(`drop database if exists "${db.name}" with (force)`);
      await c.query(`create database "${db.name}"`);
    }, adminUrl);

  beforeAll(async () => {
    buildOnce();
    dir = mkdtempSync(join(tmpdir(), 'groundwork-backup-'));
    const name = `gw_backup_${randomBytes(6).toString('hex')}`;
    await withAdmin((c) => c.query(`create database "${name}"`), adminUrl);
    db = {
      name,
      url: urlFor(name, adminUrl),
      drop: () =>
        withAdmin((c) => c.query(`drop database if exists "${name}" with (force)`), adminUrl).then(
          () => undefined,
        ),
    };
    // Migrated from nothing, as a production start does; the job queue's schema too.
    const t = await bootTestApp({ database: db, env: KEYS });
    try {
      await migrateOnStart(t.app, t.config);
      orgs = [await seedOrg(t, 'alpha'), await seedOrg(t, 'beta')];
    } finally {
      await t.close();
    }
    before = await checksums();
    backup = join(dir, 'drill.dump');
  });
  afterAll(async () => {
    await db?.drop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up to a complete custom-format file with the checksums of every table', async () => {
    const res = await run('cli/backup.js', '--output', backup, '--verify');
    expect(res.out).toMatch(
      /Backup written: .*drill\.dump \([\d.]+ \w+, \d+ tables in \d+ schemas/,
    );
    expect(res.code).toBe(0);
    expect(readFileSync(backup).subarray(0, 5).toString()).toBe('PGDMP');
    // A replacement that fails half-way (a cut file) keeps the old database whole.
    const cut = join(dir, 'cut.dump');
    const bytes = readFileSync(backup);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const failed = await run('cli/restore.js', '--input', cut, '--yes', '--clean');
    expect(failed.code).toBe(1);
    expect(await checksums()).toEqual(before);

    const manifest = JSON.parse(
      readFileSync(`${backup}.checksums.json`, 'utf8'),
    ) as ChecksumManifest;
    expect(manifest.checksums).toEqual(before);
    // The drill is about real data: both tenants' schemas and billing rows are in it.
    for (const org of orgs) {
      const schema = `tenant_${org.tenantId.replace(/-/g, '')}`;
      expect(before[`${schema}.ticket`].rows).toBe(1);
    }
    expect(before['platform.invoice'].rows).toBeGreaterThanOrEqual(2);
    expect(totalRows(before)).toBeGreaterThan(50);
    // No half-written file is left beside it.
    expect(readdirSync(dir).filter((f) => f.includes('partial'))).toEqual([]);
  });

  it('refuses to overwrite a backup, and explains bad arguments', async () => {
    const again = await run('cli/backup.js', '--output', backup);
    expect(again).toMatchObject({ code: 1, out: expect.stringContaining('already exists') });
    expect((await run('cli/backup.js', '--keep', '0')).code).toBe(2);
    expect((await run('cli/backup.js', '--output', backup, '--dir', dir)).code).toBe(2);
    expect((await run('cli/restore.js', '--input', backup)).out).toContain('--yes is required');
  });

  it('restores a destroyed database to the same rows in every table, verified against the manifest', async () => {
    await recreateEmpty();
    expect(totalRows(await checksums())).toBe(0);

    const res = await run('cli/restore.js', '--input', backup, '--yes', '--verify');
    expect(res.out).toMatch(/Restored \d+ tables in \d+ schemas .* match the backup's checksums/);
    expect(res.code).toBe(0);
    expect(await checksums()).toEqual(before);
  });

  it('serves the restored data: an owner signs in and reads the ticket', async () => {
    const t = await bootTestApp({ database: db, env: KEYS });
    try {
      const [alpha] = orgs;
      const login = await request(t.server)
        .post('/v1/auth/login')
        .send({ email: alpha.email, password: TEST_PASSWORD })
        .expect(200);
      const ticket = await request(t.server)
        .get(`/v1/support/tickets/${alpha.ticketId}`)
        .set({ Authorization: `Bearer ${login.body.accessToken}`, 'X-Tenant-Id': alpha.tenantId })
        .expect(200);
      expect(ticket.body.subject).toBe('alpha: export fails');
    } finally {
      await t.close();
    }
    // Signing in writes a session: the baseline for the next tests moves with it.
    before = await checksums();
  });

  it('leaves a non-empty database untouched unless --clean, and --clean replaces it', async () => {
    const refused = await run('cli/restore.js', '--input', backup, '--yes');
    expect(refused).toMatchObject({
      code: 1,
      out: expect.stringContaining('database is not empty'),
    });
    expect(await checksums()).toEqual(before);

    const manifest = JSON.parse(
      readFileSync(`${backup}.checksums.json`, 'utf8'),
    ) as ChecksumManifest;
    const cleaned = await run('cli/restore.js', '--input', backup, '--yes', '--clean', '--verify');
    expect(cleaned).toMatchObject({ code: 0, out: expect.stringContaining('match') });
    expect(await checksums()).toEqual(manifest.checksums);
  });

  it('refuses a truncated or missing backup and changes nothing', async () => {
    await recreateEmpty();
    const truncated = join(dir, 'truncated.dump');
    const bytes = readFileSync(backup);
    writeFileSync(truncated, bytes.subarray(0, Math.floor(bytes.length / 3)));
    const res = await run('cli/restore.js', '--input', truncated, '--yes');
    expect(res.code).toBe(1);
    expect(res.out).toMatch(/Restore failed: .*(not a readable backup|pg_restore failed)/);
    expect(totalRows(await checksums())).toBe(0);
    const missing = await run('cli/restore.js', '--input', join(dir, 'nope.dump'), '--yes');
    expect(missing).toMatchObject({ code: 1, out: expect.stringContaining('does not exist') });
  });

  it('keeps the newest backups of a folder with --keep and touches no other file', async () => {
    const folder = join(dir, 'nightly');
    const restored = await run('cli/restore.js', '--input', backup, '--yes');
    expect(restored.code).toBe(0);
    await run('cli/backup.js', '--dir', folder); // creates the folder
    writeFileSync(join(folder, 'groundwork-20000101T000000Z.dump'), 'old');
    writeFileSync(join(folder, 'groundwork-20000101T000000Z.dump.checksums.json'), '{}');
    writeFileSync(join(folder, 'notes.txt'), 'keep me');
    await new Promise((resolve) => setTimeout(resolve, 1100)); // names have one-second resolution
    const res = await run('cli/backup.js', '--dir', folder, '--keep', '1');
    expect(res.code).toBe(0);
    const left = readdirSync(folder).sort();
    expect(left.filter((f) => f.endsWith('.dump'))).toHaveLength(1);
    expect(left).toContain('notes.txt');
    expect(existsSync(join(folder, 'groundwork-20000101T000000Z.dump'))).toBe(false);
    expect(existsSync(join(folder, 'groundwork-20000101T000000Z.dump.checksums.json'))).toBe(false);
  });
});
