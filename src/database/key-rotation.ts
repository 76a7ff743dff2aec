import type { EntityManager } from '@mikro-orm/postgresql';
import { encryptedTables, EncryptedTable } from '../common/crypto/encrypted-columns';
import { keyringOf } from '../common/crypto/encrypted-string.type';
import { PLATFORM_SCHEMA, quoteIdent } from './schema-names';

/** Files outside the database to re-encrypt: the rows of `table` (in every tenant schema) name them in `column`. */
export interface RotatedFiles {
  table: string;
  column: string;
  storage: {
    /** Re-encrypts one file under the active key; false when it already was. */
    rotate(key: string): Promise<boolean>;
  };
}

export interface RotationOptions {
  /** Ticket attachments (or any stored files the rows name); unset: rows only. */
  files?: RotatedFiles;
  /** Rows or files per batch (one transaction per batch of rows). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: RotationProgress) => void;
}

export interface RotationProgress {
  /** Rows and files looked at so far, out of `total` (rows still to rotate + every file). */
  done: number;
  total: number;
  rotated: number;
  failed: number;
}

export interface RotationReport {
  activeKeyId: string;
  rows: { rotated: number; failed: number };
  files: { looked: number; rotated: number; failed: number };
  /** What could not be re-encrypted (unreadable value, missing file), without values. */
  failures: string[];
  /** True when the signal stopped it early: run it again to resume. */
  interrupted: boolean;
}

const DEFAULT_BATCH = 200;

/**
 * Re-encrypts every EncryptedString column (platform and every tenant schema)
 * and every stored file under the keyring's active key. Resumable by design:
 * a row whose every value already names the active key is never selected, a
 * file whose header names it is left alone, so a rerun after a crash or a
 * Ctrl+C picks up where it stopped and a run after a finished one changes
 * nothing. Rows are updated only if unchanged since they were read, so a
 * concurrent write by the app (already under the active key) is never lost.
 */
export async function rotateEncryptionKeys(
  rootEm: EntityManager,
  options: RotationOptions = {},
): Promise<RotationReport> {
  const em = rootEm.fork();
  const keyring = keyringOf(em.getPlatform());
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const prefix = `gw1.${keyring.activeKeyId}.`;
  const report: RotationReport = {
    activeKeyId: keyring.activeKeyId,
    rows: { rotated: 0, failed: 0 },
    files: { looked: 0, rotated: 0, failed: 0 },
    failures: [],
    interrupted: false,
  };

  const tenantSchemas = (
    await em.execute<{ schema: string }[]>(
      `select t.schema_name as schema from ${PLATFORM_SCHEMA}.tenant t
        where exists (select 1 from pg_namespace n where n.nspname = t.schema_name)
        order by t.schema_name`,
    )
  ).map((r) => r.schema);
  const targets: { schema: string; table: EncryptedTable }[] = [];
  for (const table of encryptedTables(em.getMetadata())) {
    const schemas = table.schema === 'platform' ? [PLATFORM_SCHEMA] : tenantSchemas;
    for (const schema of schemas) targets.push({ schema, table });
  }
  const fileSchemas: string[] = [];
  if (options.files) {
    for (const schema of tenantSchemas) {
      const [{ present }] = await em.execute<{ present: boolean }[]>(
        'select to_regclass(?) is not null as present',
        [`${quoteIdent(schema)}.${quoteIdent(options.files.table)}`],
      );
      if (present) fileSchemas.push(schema);
    }
  }

  // The total: rows still to rotate, and every file (only its header tells).
  let total = 0;
  for (const { schema, table } of targets) {
    const [{ n }] = await em.execute<{ n: number }[]>(
      `select count(*)::int as n from ${quoteIdent(schema)}.${quoteIdent(table.table)} where ${stale(table)}`,
      table.columns.map(() => prefix),
    );
    total += n;
  }
  for (const schema of fileSchemas) {
    const [{ n }] = await em.execute<{ n: number }[]>(
      `select count(*)::int as n from ${quoteIdent(schema)}.${quoteIdent(options.files!.table)}`,
    );
    total += n;
  }

  let done = 0;
  const progress = () =>
    options.onProgress?.({
      done,
      total,
      rotated: report.rows.rotated + report.files.rotated,
      failed: report.rows.failed + report.files.failed,
    });
  progress();

  for (const { schema, table } of targets) {
    const qualified = `${quoteIdent(schema)}.${quoteIdent(table.table)}`;
    const pk = table.primaryKey.map(quoteIdent);
    const cols = table.columns.map(quoteIdent);
    let after: unknown[] | undefined;
    for (;;) {
      if (options.signal?.aborted) {
        report.interrupted = true;
        return report;
      }
      // Keyset over the primary key, so an unreadable row is passed, not reread forever.
      const rows = await em.execute<Record<string, string | null>[]>(
        `select ${pk.map((c) => `${c}::text as ${c}`).join(', ')}, ${cols.join(', ')}
           from ${qualified}
          where (${stale(table)})${after ? ` and (${pk.join(', ')}) > (${pk.map(() => '?').join(', ')})` : ''}
          order by ${pk.join(', ')}
          limit ?`,
        [...table.columns.map(() => prefix), ...(after ?? []), batchSize],
      );
      if (rows.length === 0) break;
      await em.transactional(async (tx) => {
        for (const row of rows) {
          const id = table.primaryKey.map((c) => row[c]);
          let next: (string | null)[];
          try {
            next = table.columns.map((c) => {
              const value = row[c];
              if (value === null || value.startsWith(prefix)) return value;
              return keyring.encrypt(keyring.decrypt(value));
            });
          } catch (error) {
            report.rows.failed++;
            report.failures.push(`${schema}.${table.table} ${id.join('/')}: ${reasonOf(error)}`);
            continue;
          }
          const changed = await tx.execute(
            `update ${qualified} set ${cols.map((c) => `${c} = ?`).join(', ')}
              where (${pk.join(', ')}) = (${pk.map(() => '?').join(', ')})
                and ${cols.map((c) => `${c} is not distinct from ?`).join(' and ')}`,
            [...next, ...id, ...table.columns.map((c) => row[c])],
            'run',
          );
          if ((changed as { affectedRows?: number }).affectedRows) report.rows.rotated++;
        }
      });
      done += rows.length;
      progress();
      after = table.primaryKey.map((c) => rows[rows.length - 1][c]);
      if (rows.length < batchSize) break;
    }
  }

  for (const schema of fileSchemas) {
    const { table, column, storage } = options.files!;
    const qualified = `${quoteIdent(schema)}.${quoteIdent(table)}`;
    let after: string | undefined;
    for (;;) {
      if (options.signal?.aborted) {
        report.interrupted = true;
        return report;
      }
      const rows = await em.execute<{ key: string }[]>(
        `select ${quoteIdent(column)} as key from ${qualified}
          ${after === undefined ? '' : `where ${quoteIdent(column)} > ?`}
          order by ${quoteIdent(column)} limit ?`,
        after === undefined ? [batchSize] : [after, batchSize],
      );
      if (rows.length === 0) break;
      for (const { key } of rows) {
        report.files.looked++;
        try {
          if (await storage.rotate(key)) report.files.rotated++;
        } catch (error) {
          report.files.failed++;
          const reason =
            (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file missing' : reasonOf(error);
          report.failures.push(`file ${key} (${schema}.${table}): ${reason}`);
        }
        done++;
      }
      progress();
      after = rows[rows.length - 1].key;
      if (rows.length < batchSize) break;
    }
  }
  return report;
}

/** SQL: some encrypted column of the row does not name the active key (one `?` per column, the prefix). */
function stale(table: EncryptedTable): string {
  return table.columns
    .map((c) => `(${quoteIdent(c)} is not null and not starts_with(${quoteIdent(c)}, ?))`)
    .join(' or ');
}

/** An error's message and its cause's (an EncryptionException keeps the key id there); never a value. */
function reasonOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  return error.cause instanceof Error ? `${error.message} (${error.cause.message})` : error.message;
}
