import { MikroORM } from '@mikro-orm/core';
import { quoteIdent } from './schema-names';

export interface SchemaDiff {
  up: string[];
  down: string[];
}

const statements = (sql: string): string[] =>
  sql
    .split(/;\n/)
    .map((s) => s.trim().replace(/;$/, ''))
    .filter(Boolean);

/** What the platform schema lacks compared with the platform entities. */
export async function platformSchemaDiff(orm: MikroORM): Promise<SchemaDiff> {
  const { up, down } = await orm.getSchemaGenerator().getUpdateSchemaMigrationSQL({ wrap: false });
  return { up: statements(up), down: statements(down) };
}

/**
 * What `schemaName` lacks compared with the tenant (`schema: '*'`) entities,
 * as unqualified statements: tenant migrations run with the search path set
 * to the schema being migrated.
 */
export async function tenantSchemaDiff(orm: MikroORM, schemaName: string): Promise<SchemaDiff> {
  const { up, down } = await orm
    .getSchemaGenerator()
    .getUpdateSchemaMigrationSQL({ wrap: false, schema: schemaName });
  const prefix = `${quoteIdent(schemaName)}.`;
  const unqualify = (sql: string): string[] =>
    statements(sql)
      .filter((s) => !/^(create|drop) schema /i.test(s))
      .map((s) => s.split(prefix).join(''));
  return { up: unqualify(up), down: unqualify(down) };
}
