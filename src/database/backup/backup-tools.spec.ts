import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupFileName, backupsToPrune, isBackupFileName, partialPathFor } from './backup-files';
import { BackupError } from './backup.error';
import {
  candidateDirs,
  libpqConnection,
  majorOfServerVersionNum,
  parseToolVersion,
  pickTool,
  PgTool,
} from './pg-tools';
import { parentsFirst } from './tenant-archive';

const tool = (major: number, path = `/usr/lib/postgresql/${major}/bin/pg_dump`): PgTool => ({
  name: 'pg_dump',
  path,
  version: `${major}.1`,
  major,
});
const server = (major: number) => ({ num: major * 10_000 + 1, major, text: `${major}.1` });

describe('backup tools', () => {
  it('reads tool and server versions', () => {
    expect(parseToolVersion('pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)\n')).toEqual({
      version: '15.20 (Debian 15.20-0+deb12u1)',
      major: 15,
    });
    expect(parseToolVersion('pg_restore (PostgreSQL) 9.6.24')?.major).toBe(9);
    expect(parseToolVersion('something else')).toBeUndefined();
    expect(majorOfServerVersionNum(180001)).toBe(18);
    expect(majorOfServerVersionNum(90624)).toBe(9);
  });

  it('takes the first tool of the server major or newer, and names the package when none fits', () => {
    expect(pickTool('pg_dump', [tool(15), tool(18)], server(16), {}).major).toBe(18);
    expect(pickTool('pg_dump', [tool(18), tool(17)], server(17), {}).major).toBe(18);
    expect(() => pickTool('pg_dump', [tool(15)], server(18), {})).toThrow(BackupError);
    expect(() => pickTool('pg_dump', [tool(15)], server(18), {})).toThrow(
      /pg_dump 18 or newer is needed.*found pg_dump 15.*postgresql-client-18.*PG_BIN_DIR/,
    );
    expect(() => pickTool('pg_dump', [], server(18), { PG_BIN_DIR: '/opt/pg' })).toThrow(
      /PG_BIN_DIR=\/opt\/pg has no working pg_dump/,
    );
  });

  it('looks in PG_BIN_DIR alone when set, else PATH then versioned installs, newest first', () => {
    expect(candidateDirs({ PG_BIN_DIR: '/opt/pg/bin', PATH: '/usr/bin' })).toEqual(['/opt/pg/bin']);
    const root = mkdtempSync(join(tmpdir(), 'pg-versions-'));
    for (const v of ['15', '9', '18', 'common']) mkdirSync(join(root, v));
    expect(candidateDirs({ PATH: '/usr/bin:/bin' }, root)).toEqual([
      '/usr/bin',
      '/bin',
      join(root, '18', 'bin'),
      join(root, '15', 'bin'),
      join(root, '9', 'bin'),
    ]);
  });

  it('keeps the password out of the command line', () => {
    const { dbname, env } = libpqConnection('postgres://app:s%40cret@db.internal:5432/groundwork');
    expect(dbname).not.toContain('s@cret');
    expect(dbname).not.toContain('s%40cret');
    expect(env).toEqual({ PGPASSWORD: 's@cret' });
    expect(libpqConnection('postgres://app@db/groundwork').env).toEqual({});
  });
});

describe('backup files', () => {
  it('names backups by UTC time so that names sort in time order', () => {
    expect(backupFileName(new Date('2026-11-26T03:00:00.123Z'))).toBe(
      'groundwork-20261126T030000Z.dump',
    );
    expect(isBackupFileName('groundwork-20261126T030000Z.dump')).toBe(true);
    expect(isBackupFileName(partialPathFor('groundwork-20261126T030000Z.dump'))).toBe(false);
  });

  it('prunes only backups, oldest first, keeping the newest N', () => {
    const names = [
      'groundwork-20261124T030000Z.dump',
      'notes.txt',
      'groundwork-20261126T030000Z.dump',
      'groundwork-20261125T030000Z.dump',
      'groundwork-20261125T030000Z.dump.checksums.json',
    ];
    expect(backupsToPrune(names, 2)).toEqual(['groundwork-20261124T030000Z.dump']);
    expect(backupsToPrune(names, 5)).toEqual([]);
    expect(() => backupsToPrune(names, 0)).toThrow(RangeError);
  });
});

describe('tenant archive table order', () => {
  it('puts parents before children and refuses a cycle', () => {
    const parents = new Map([
      ['invoice_line', new Set(['invoice'])],
      ['invoice', new Set(['subscription'])],
      ['payment_attempt', new Set(['invoice'])],
    ]);
    const order = parentsFirst(
      ['payment_attempt', 'invoice_line', 'invoice', 'subscription'],
      parents,
    );
    expect(order.indexOf('subscription')).toBeLessThan(order.indexOf('invoice'));
    expect(order.indexOf('invoice')).toBeLessThan(order.indexOf('invoice_line'));
    expect(order.indexOf('invoice')).toBeLessThan(order.indexOf('payment_attempt'));
    expect(() =>
      parentsFirst(
        ['a', 'b'],
        new Map([
          ['a', new Set(['b'])],
          ['b', new Set(['a'])],
        ]),
      ),
    ).toThrow(/cycle/);
  });
});
