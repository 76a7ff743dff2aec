import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MikroORM } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { tenantMigrations } from '../../migrations/tenant';
import { PROJECT_ROOT } from '../common/paths';
import { ensureDatabase, openDatabaseServer, withDatabaseUrl } from '../database/database-server';
import { buildOrmOptions } from '../database/orm.config';
import { PlatformMigrator } from '../database/platform-migrator';
import { platformSchemaDiff, SchemaDiff, tenantSchemaDiff } from '../database/schema-diff';
import { TenantSchemaMigrator } from '../database/tenant-schema-migrator';
import { loadConfigOrExit, runMain } from '../common/entrypoint';

const USAGE = `Usage: npm run migrate:create -- (--platform | --tenant) [--name add_invoices] [--blank]

Writes migrations/<kind>/Migration<timestamp>_<name>.ts with the SQL that brings
a database migrated to the current head up to the entities, and registers it in
migrations/<kind>/index.ts. --blank writes an empty migration for hand-written SQL.`;

const SCRATCH_TENANT = 'tenant_00000000000000000000000000000000';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      platform: { type: 'boolean' },
      tenant: { type: 'boolean' },
      name: { type: 'string' },
      blank: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help || values.platform === values.tenant) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const kind = values.platform ? 'platform' : 'tenant';
  const name = (values.name ?? (values.blank ? 'manual' : 'schema')).replace(/[^A-Za-z0-9_]/g, '_');

  const config = loadConfigOrExit();
  const server = await openDatabaseServer(config);
  // A scratch database migrated to the current head: the diff is exactly what is new.
  const scratch = `groundwork_scratch_${randomBytes(4).toString('hex')}`;
  const scratchUrl = new URL(server.url);
  scratchUrl.pathname = `/${scratch}`;
  const adminUrl = new URL(server.url);
  adminUrl.pathname = '/postgres';
  let orm: MikroORM | undefined;
  try {
    await ensureDatabase(adminUrl.toString(), scratch);
    orm = await MikroORM.init(buildOrmOptions(withDatabaseUrl(config, scratchUrl.toString())));
    await new PlatformMigrator(orm).up();
    let diff: SchemaDiff = { up: [], down: [] };
    if (!values.blank && kind === 'platform') diff = await platformSchemaDiff(orm);
    if (!values.blank && kind === 'tenant') {
      // Created after the platform diff, which would otherwise see it as unknown.
      await new TenantSchemaMigrator(orm.em as EntityManager, tenantMigrations).migrateSchema(
        SCRATCH_TENANT,
        {
          create: true,
        },
      );
      diff = await tenantSchemaDiff(orm, SCRATCH_TENANT);
    }
    if (!values.blank && diff.up.length === 0) {
      process.stdout.write(`No ${kind} changes: the entities match the migrations.\n`);
      return 0;
    }
    const file = writeMigration(kind, name, diff);
    process.stdout.write(
      `Created ${file}\n${diff.up.map((s) => `  ${s}`).join('\n')}\nReview it before committing.\n`,
    );
    return 0;
  } finally {
    await orm?.close();
    const admin = new Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    await admin
      .query(`drop database if exists "${scratch}" with (force)`)
      .finally(() => admin.end());
    await server.stop();
  }
}

function writeMigration(kind: 'platform' | 'tenant', name: string, diff: SchemaDiff): string {
  const stamp = new Date().toISOString().replace(/\D/g, '').slice(0, 14);
  const className = `Migration${stamp}_${name}`;
  const dir = join(PROJECT_ROOT, 'migrations', kind);
  const sql = (list: string[]) =>
    list.length
      ? list
          // A JS string literal of the statement (quotes, backslashes and newlines escaped).
          .map((s) => `    this.addSql(${toSingleQuoted(s)});`)
          .join('\n')
      : '    // Write the SQL here.';
  const header =
    kind === 'tenant'
      ? '// Tenant migration: runs once per tenant schema, with the search path set to it.\n'
      : '// Platform migration.\n';
  writeFileSync(
    join(dir, `${className}.ts`),
    `${header}import { Migration } from '@mikro-orm/migrations';

export class ${className} extends Migration {
  override up(): void {
${sql(diff.up)}
  }

  override down(): void {
${sql(diff.down)}
  }
}
`,
  );
  const index = join(dir, 'index.ts');
  const listName = kind === 'platform' ? 'platformMigrations' : 'tenantMigrations';
  let source = readFileSync(index, 'utf8');
  source = source.replace(
    /(import type \{ MigrationObject \} from '@mikro-orm\/core';\n)/,
    `$1import { ${className} } from './${className}';\n`,
  );
  source = source.replace(
    new RegExp(`(export const ${listName}: MigrationObject\\[\\] = \\[)([\\s\\S]*?)(\\];)`),
    (_m, open: string, body: string, close: string) =>
      `${open}${body.trimEnd()}\n  { name: '${className}', class: ${className} },\n${close}`,
  );
  writeFileSync(index, source);
  // House style, so the new files pass `prettier --check` as written (a development-only command).
  execFileSync('npx', ['prettier', '--write', join(dir, `${className}.ts`), index], {
    cwd: PROJECT_ROOT,
    stdio: 'ignore',
  });
  return join('migrations', kind, `${className}.ts`);
}

runMain(main);

function toSingleQuoted(sql: string): string {
  const json = JSON.stringify(sql); // escapes backslashes, double quotes, newlines
  return `'${json.slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}
