import type { EntityManager, MetadataStorage } from '@mikro-orm/core';
import { EncryptedString, keyringOf } from './encrypted-string.type';
import type { Keyring } from './keyring';

/** The encrypted columns of one table, as the entities declare them. */
export interface EncryptedTable {
  /** `platform`, or `tenant` for a table in every tenant schema. */
  schema: 'platform' | 'tenant';
  table: string;
  /** Database column names of the EncryptedString properties. */
  columns: string[];
  /** Database column names of the primary key. */
  primaryKey: string[];
}

/**
 * Every table with EncryptedString columns, read from the ORM metadata, so a
 * column becomes rotated and archived correctly the moment its entity says so.
 */
export function encryptedTables(metadata: MetadataStorage): EncryptedTable[] {
  const tables: EncryptedTable[] = [];
  for (const meta of Object.values(metadata.getAll())) {
    if (meta.embeddable || meta.virtual || !meta.tableName) continue;
    const columns = meta.props
      .filter((prop) => prop.customType instanceof EncryptedString)
      .flatMap((prop) => prop.fieldNames);
    if (columns.length === 0) continue;
    tables.push({
      schema: meta.schema === '*' ? 'tenant' : 'platform',
      table: meta.tableName,
      columns,
      primaryKey: meta.getPrimaryProps().flatMap((prop) => prop.fieldNames),
    });
  }
  return tables.sort((a, b) => `${a.schema}.${a.table}`.localeCompare(`${b.schema}.${b.table}`));
}

/**
 * Row transforms for code that moves raw rows (tenant archives): `decrypt` turns
 * the encrypted columns of a row into plaintext, `encrypt` puts them under this
 * app's active key, so rows move between instances that hold different keys.
 */
export function rowCrypto(em: EntityManager): {
  keyring: Keyring;
  decrypt(schema: 'platform' | 'tenant', table: string, row: Record<string, unknown>): void;
  encrypt(schema: 'platform' | 'tenant', table: string, row: Record<string, unknown>): void;
} {
  const keyring = keyringOf(em.getPlatform());
  const byTable = new Map(
    encryptedTables(em.getMetadata()).map((t) => [`${t.schema}.${t.table}`, t.columns]),
  );
  const each = (
    schema: string,
    table: string,
    row: Record<string, unknown>,
    fn: (value: string) => string,
  ) => {
    for (const column of byTable.get(`${schema}.${table}`) ?? []) {
      const value = row[column];
      if (typeof value === 'string') row[column] = fn(value);
    }
  };
  return {
    keyring,
    decrypt: (schema, table, row) => each(schema, table, row, (v) => keyring.decrypt(v)),
    encrypt: (schema, table, row) =>
      each(schema, table, row, (v) => keyring.encrypt(keyring.decrypt(v))),
  };
}
