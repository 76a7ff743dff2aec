import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { Keyring } from '../../src/common/crypto/keyring';
import { rotateEncryptionKeys } from '../../src/database/key-rotation';
import { AttachmentStorage, EncryptedStorage } from '../../src/support/attachments/storage';
import { expectProblem } from '../support/http-helpers';
import { bareEnv, ServerProcess } from '../support/server-process';
import { bootTestApp, TestApp } from '../support/test-app';
import { SeededOrg, seedOrg } from '../ops/seed';

/**
 * Encryption at rest, seen from outside: what the database and the disk hold
 * is ciphertext, the API still answers in plaintext, `keys:rotate` moves
 * everything to a new key, and a tampered value is refused with a clear problem.
 */
const material = () => randomBytes(32).toString('base64');
const A = `ka:${material()}`;
const B = `kb:${material()}`;
const C = `kc:${material()}`;
// Passport keeps one JWT strategy per process: apps side by side share its secret.
const JWT_SECRET = 'encryption-test-secret-0123456789abcdef0123456789';
const PREFIX = 'zebrafinch';

const ringOf = (keys: string) =>
  new Keyring(
    keys.split(',').map((entry) => {
      const [id, key] = entry.split(':');
      return { id, key: Buffer.from(key, 'base64') };
    }),
  );

/** Every file under a folder, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

describe('Encryption at rest (e2e)', () => {
  let first: TestApp;
  let org: SeededOrg;

  const rawUser = async (t: TestApp) =>
    (
      await t
        .em()
        .execute<{ id: string; name: string; row: string }[]>(
          'select id, name, row_to_json(u)::text as row from platform.user_account u where email = ?',
          [org.email],
        )
    )[0];
  const rawCustomer = async (t: TestApp) =>
    (
      await t
        .em()
        .execute<{ name: string; row: string }[]>(
          'select name, row_to_json(c)::text as row from platform.billing_customer c where tenant_id = ?',
          [org.tenantId],
        )
    )[0];
  const attachmentFile = (t: TestApp) => {
    const files = filesUnder(t.config.attachments.dir).filter((f) => f.includes(org.tenantId));
    expect(files).toHaveLength(1);
    return files[0];
  };
  const download = (t: TestApp) =>
    request(t.server)
      .get(`/v1/support/tickets/${org.ticketId}/attachments/${org.attachmentId}`)
      .set(org.headers)
      .buffer(true)
      .parse((res, done) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => done(null, Buffer.concat(chunks)));
      });

  beforeAll(async () => {
    first = await bootTestApp({ env: { JWT_SECRET, DATA_ENCRYPTION_KEYS: A } });
    org = await seedOrg(first, PREFIX);
  });

  afterAll(async () => {
    await first?.close();
  });

  it('keeps names, the billing name and attachment bytes as ciphertext in the database and on disk', async () => {
    const user = await rawUser(first);
    expect(user.name).toMatch(/^gw1\.ka\.[A-Za-z0-9_-]+$/);
    expect(user.row).not.toContain(`${PREFIX} Owner`);
    const customer = await rawCustomer(first);
    expect(customer.name).toMatch(/^gw1\.ka\./);
    expect(customer.row).not.toContain(`${PREFIX} Ltd`);
    const onDisk = readFileSync(attachmentFile(first));
    expect(onDisk.includes(Buffer.from(`${PREFIX} screenshot`))).toBe(false);
    expect(onDisk.includes(org.attachment.subarray(0, 8))).toBe(false);
    expect(ringOf(A).keyIdOfBytes(onDisk)).toBe('ka');
  });

  it('still answers in plaintext through the API', async () => {
    const me = await request(first.server).get('/v1/auth/me').set(org.headers).expect(200);
    expect(JSON.stringify(me.body)).toContain(`${PREFIX} Owner`);
    const members = await request(first.server)
      .get('/v1/tenant/members')
      .set({ ...org.headers, 'X-Tenant-Id': org.tenantId })
      .expect(200);
    expect(JSON.stringify(members.body)).toContain(`${PREFIX} Owner`);
    const file = await download(first).expect(200);
    expect(Buffer.compare(file.body as Buffer, org.attachment)).toBe(0);
  });

  it('reads a row written before encryption (legacy plaintext) as it is', async () => {
    const user = await rawUser(first);
    await first
      .em()
      .execute('update platform.user_account set name = ? where id = ?', ['Legacy Owner', user.id]);
    const me = await request(first.server).get('/v1/auth/me').set(org.headers).expect(200);
    expect(JSON.stringify(me.body)).toContain('Legacy Owner');
    // Back to what the API wrote, for the tests below.
    await first
      .em()
      .execute('update platform.user_account set name = ? where id = ?', [user.name, user.id]);
  });

  it('refuses a tampered ciphertext with a clear problem, without internals', async () => {
    const user = await rawUser(first);
    const [version, keyId, body] = user.name.split('.');
    const bytes = Buffer.from(body, 'base64url');
    bytes[bytes.length - 1] ^= 0x01;
    await first
      .em()
      .execute('update platform.user_account set name = ? where id = ?', [
        `${version}.${keyId}.${bytes.toString('base64url')}`,
        user.id,
      ]);
    try {
      const res = await request(first.server).get('/v1/auth/me').set(org.headers);
      const problem = expectProblem(res, 500, 'encrypted_value_unreadable');
      expect(problem.detail).toBe(
        'Stored data could not be decrypted: it was altered or is corrupt.',
      );
      expect(res.text).not.toMatch(/gw1|ka|stack|Error:|aes|auth(entication)? tag/i);
    } finally {
      await first
        .em()
        .execute('update platform.user_account set name = ? where id = ?', [user.name, user.id]);
    }
  });

  describe('keys:rotate', () => {
    let second: TestApp;
    const env = () => ({
      JWT_SECRET,
      DATA_ENCRYPTION_KEYS: `${B},${A}`,
      ATTACHMENTS_DIR: first.config.attachments.dir,
    });

    beforeAll(async () => {
      // The same database and files, booted with a new active key in front of the old one.
      second = await bootTestApp({ env: env(), database: first.db });
    });
    afterAll(async () => {
      await second?.close();
    });

    it('re-encrypts every column and file under the new key; everything still reads; a rerun changes nothing', async () => {
      // New writes already use the new key; old values still read.
      const me = await request(second.server).get('/v1/auth/me').set(org.headers).expect(200);
      expect(JSON.stringify(me.body)).toContain(`${PREFIX} Owner`);
      expect((await rawUser(second)).name).toMatch(/^gw1\.ka\./);
      // And a row still in plaintext from before encryption is encrypted too.
      const { id: legacyId } = await second
        .em()
        .execute<{ id: string }[]>(
          `insert into platform.user_account (id, email, name, password_hash, created_at, updated_at)
           values (gen_random_uuid(), ?, 'Plain Legacy', 'x', now(), now()) returning id`,
          [`legacy-${randomBytes(4).toString('hex')}@example.com`],
        )
        .then((rows) => rows[0]);

      const storage = second.app.get(AttachmentStorage);
      expect(storage).toBeInstanceOf(EncryptedStorage);
      const progress: number[] = [];
      const report = await rotateEncryptionKeys(second.em(), {
        files: {
          table: 'ticket_attachment',
          column: 'storage_key',
          storage: storage as EncryptedStorage,
        },
        batchSize: 2,
        onProgress: ({ done }) => progress.push(done),
      });
      expect(report).toMatchObject({ activeKeyId: 'kb', failures: [], interrupted: false });
      expect(report.rows.rotated).toBeGreaterThanOrEqual(3);
      expect(report.files.rotated).toBeGreaterThanOrEqual(1);
      expect(progress.at(-1)).toBeGreaterThanOrEqual(report.rows.rotated);

      const [legacy] = await second
        .em()
        .execute<{ name: string }[]>('select name from platform.user_account where id = ?', [
          legacyId,
        ]);
      expect(legacy.name).toMatch(/^gw1\.kb\./);
      const user = await rawUser(second);
      expect(user.name).toMatch(/^gw1\.kb\./);
      expect((await rawCustomer(second)).name).toMatch(/^gw1\.kb\./);
      const file = readFileSync(attachmentFile(second));
      expect(ringOf(B).keyIdOfBytes(file)).toBe('kb');
      // No value anywhere still names the old key.
      const [{ old }] = await second.em().execute<{ old: number }[]>(
        `select (select count(*) from platform.user_account where name not like 'gw1.kb.%')
                + (select count(*) from platform.billing_customer where name not like 'gw1.kb.%') as old`,
      );
      expect(Number(old)).toBe(0);

      // Everything reads through the API, with the new key alone doing the work.
      const after = await request(second.server).get('/v1/auth/me').set(org.headers).expect(200);
      expect(JSON.stringify(after.body)).toContain(`${PREFIX} Owner`);
      expect(
        Buffer.compare((await download(second).expect(200)).body as Buffer, org.attachment),
      ).toBe(0);
      expect(ringOf(B).decrypt(user.name)).toBe(`${PREFIX} Owner`);

      // A rerun finds nothing to do and changes nothing.
      const again = await rotateEncryptionKeys(second.em(), {
        files: {
          table: 'ticket_attachment',
          column: 'storage_key',
          storage: storage as EncryptedStorage,
        },
      });
      expect(again).toMatchObject({
        rows: { rotated: 0, failed: 0 },
        files: { rotated: 0, failed: 0 },
        failures: [],
      });
      expect((await rawUser(second)).name).toBe(user.name);
      expect(readFileSync(attachmentFile(second))).toEqual(file);
    });

    it('npm run keys:rotate does the same from the command line, with progress, and a rerun changes nothing', async () => {
      const run = async () => {
        const cli = new ServerProcess(
          'cli/keys-rotate.js',
          [],
          bareEnv({
            DATABASE_URL: second.db.url,
            ATTACHMENTS_DIR: first.config.attachments.dir,
            DATA_DIR: mkdtempSync(join(tmpdir(), 'groundwork-cli-')),
            DATA_ENCRYPTION_KEYS: `${C},${B},${A}`,
          }),
        );
        return { code: await cli.exited, out: cli.text() };
      };
      const once = await run();
      expect(once.out).toMatch(/Active key: kc \(also reading kb, ka\)/);
      expect(once.out).toMatch(/Rotating: \d+\/\d+ rows and files/);
      expect(once.out).toMatch(
        /files: \d+ looked at, [1-9]\d* re-encrypted, 0 failed; under key kc/,
      );
      expect(once.code).toBe(0);
      const user = await rawUser(second);
      expect(user.name).toMatch(/^gw1\.kc\./);
      expect((await rawCustomer(second)).name).toMatch(/^gw1\.kc\./);
      const file = readFileSync(attachmentFile(second));
      expect(ringOf(C).keyIdOfBytes(file)).toBe('kc');
      expect(ringOf(C).decryptBytes(file)).toEqual(org.attachment);

      const twice = await run();
      expect(twice.out).toMatch(
        /Rows: 0 re-encrypted, 0 failed; files: \d+ looked at, 0 re-encrypted/,
      );
      expect(twice.code).toBe(0);
      expect((await rawUser(second)).name).toBe(user.name);
      expect(readFileSync(attachmentFile(second))).toEqual(file);
    });

    it('reports a value it cannot read (here: a key removed too early) by table and id, never by value, and changes nothing', async () => {
      // `second` holds kb and ka only; the command above moved everything to kc.
      const user = await rawUser(second);
      expect(user.name).toMatch(/^gw1\.kc\./);
      const report = await rotateEncryptionKeys(second.em(), { batchSize: 1 });
      expect(report.rows.rotated).toBe(0);
      expect(report.rows.failed).toBeGreaterThanOrEqual(2);
      const line = report.failures.find((f) => f.includes(user.id));
      expect(line).toMatch(
        /^platform\.user_account [0-9a-f-]{36}: Stored data could not be decrypted/,
      );
      expect(line).toContain('"kc"');
      expect(report.failures.join('\n')).not.toContain(user.name);
      expect(report.failures.join('\n')).not.toContain(PREFIX);
      expect((await rawUser(second)).name).toBe(user.name);
      // The API says so clearly too, without internals.
      const res = await request(second.server).get('/v1/auth/me').set(org.headers);
      expectProblem(res, 500, 'encryption_key_unknown');
      expect(res.text).not.toMatch(/kc|gw1|stack/);
    });
  });
});
