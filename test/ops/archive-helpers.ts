import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Client } from 'pg';
import type { Keyring } from '../../src/common/crypto/keyring';
import { quoteIdent, tenantSchemaName } from '../../src/database/schema-names';

/**
 * Row count and digest of every platform row that belongs to a tenant, and
 * of every table of its schema: computed here, independently of the
 * archive's own selection, so a row the exporter forgot shows as a difference.
 * Encrypted columns differ as ciphertext between instances (other keys, fresh
 * IVs): they are digested apart, as plaintext read with the instance's `keyring`.
 */
export async function tenantFingerprint(
  url: string,
  tenantId: string,
  keyring: Keyring,
): Promise<Record<string, { rows: number; md5: string }>> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`set timezone = 'UTC'`);
    const result: Record<string, { rows: number; md5: string }> = {};
    const digest = async (from: string, where: string, params: unknown[] = []) => {
      const encrypted = ENCRYPTED_COLUMNS[from] ?? [];
      const row = encrypted.length
        ? `(to_jsonb(t) ${encrypted.map((c) => `- '${c}'`).join(' ')})::text`
        : 't::text';
      const { rows } = await client.query<{ rows: number; md5: string | null }>(
        `select count(*)::int as rows,
                md5(string_agg(md5(${row}), '' order by md5(${row}) collate "C")) as md5
           from ${from} t where ${where}`,
        params,
      );
      for (const column of encrypted) {
        const { rows: values } = await client.query<{ v: string | null }>(
          `select ${quoteIdent(column)} as v from ${from} t where ${where}`,
          params,
        );
        const plain = values.map(({ v }) => (v === null ? '\\N' : keyring.decrypt(v))).sort();
        result[`${from}.${column} (plaintext)`] = {
          rows: values.length,
          md5: createHash('md5').update(JSON.stringify(plain)).digest('hex'),
        };
      }
      return { rows: rows[0].rows, md5: rows[0].md5 ?? '' };
    };
    // schema_version follows the build's migrations: checked on its own by the tests.
    const { rows: tenant } = await client.query<{ md5: string }>(
      `select md5((to_jsonb(t) - 'schema_version')::text) as md5 from platform.tenant t where t.id = $1`,
      [tenantId],
    );
    result['platform.tenant'] = { rows: tenant.length, md5: tenant[0]?.md5 ?? '' };
    const owned = [
      'membership',
      'invitation',
      'api_key',
      'billing_customer',
      'payment_method',
      'subscription',
      'invoice',
      'invoice_line',
      'payment_attempt',
      'support_queue',
      'platform_audit_event',
      'dunning_campaign',
    ];
    for (const table of owned) {
      result[`platform.${table}`] = await digest(`platform.${table}`, 't.tenant_id = $1', [
        tenantId,
      ]);
    }
    result['platform.user_account'] = await digest(
      'platform.user_account',
      't.id in (select user_id from platform.membership where tenant_id = $1)',
      [tenantId],
    );
    for (const table of ['user_two_factor', 'two_factor_recovery_code']) {
      result[`platform.${table}`] = await digest(
        `platform.${table}`,
        't.user_id in (select user_id from platform.membership where tenant_id = $1)',
        [tenantId],
      );
    }
    const schema = tenantSchemaName(tenantId);
    const { rows: tables } = await client.query<{ name: string }>(
      `select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
        where n.nspname = $1 and c.relkind = 'r' and c.relname <> 'schema_migration' order by 1`,
      [schema],
    );
    for (const { name } of tables) {
      result[`tenant.${name}`] = await digest(`${quoteIdent(schema)}.${quoteIdent(name)}`, 'true');
    }
    const { rows: migrations } = await client.query<{ names: string }>(
      `select string_agg(name, ',' order by name) as names from ${quoteIdent(schema)}.schema_migration`,
    );
    result['tenant.schema_migration names'] = { rows: 0, md5: migrations[0].names };
    const { rows: seq } = await client.query<{ state: string }>(
      `select last_value::text || ':' || is_called::text as state from ${quoteIdent(schema)}.ticket_number_seq`,
    );
    result['tenant.ticket_number_seq'] = { rows: 1, md5: seq[0].state };
    return result;
  } finally {
    await client.end();
  }
}

/** The EncryptedString columns of the tables digested above. */
const ENCRYPTED_COLUMNS: Record<string, string[]> = {
  'platform.user_account': ['name'],
  'platform.billing_customer': ['name'],
  'platform.user_two_factor': ['secret'],
};

type ArchiveLine = [string, Record<string, unknown>];

/** Decodes an archive, lets `edit` change its lines, and writes it back with a valid checksum. */
export function rewriteArchive(
  from: string,
  to: string,
  edit: (lines: ArchiveLine[]) => ArchiveLine[],
): void {
  const lines = gunzipSync(readFileSync(from))
    .toString()
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as ArchiveLine);
  const body = edit(lines.filter(([kind]) => kind !== 'end'));
  const text = body.map((line) => `${JSON.stringify(line)}\n`).join('');
  const end = lines.find(([kind]) => kind === 'end')![1];
  const sha256 = createHash('sha256').update(text).digest('hex');
  writeFileSync(to, gzipSync(text + `${JSON.stringify(['end', { ...end, sha256 }])}\n`));
}

/** The archive's lines, decoded. */
export function archiveText(file: string): string {
  return gunzipSync(readFileSync(file)).toString();
}
