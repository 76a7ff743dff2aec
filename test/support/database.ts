import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/** Set by the global setup: a server where each test file may create databases. */
export const ADMIN_URL_VAR = 'GW_TEST_ADMIN_URL';
export const TEMPLATE_VAR = 'GW_TEST_TEMPLATE_DB';

export function adminUrl(): string {
  const url = process.env[ADMIN_URL_VAR];
  if (!url)
    throw new Error(`${ADMIN_URL_VAR} is not set: run e2e tests through jest (global setup)`);
  return url;
}

export function urlFor(database: string, base = adminUrl()): string {
  const url = new URL(base);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function withAdmin<T>(
  fn: (client: Client) => Promise<T>,
  url = adminUrl(),
): Promise<T> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * A fresh database for one test file, copied from the template that the global
 * setup migrated once (a file copy: milliseconds instead of a migration run).
 */
export async function createTestDatabase(
  options: { fromTemplate?: boolean } = {},
): Promise<TestDatabase> {
  const name = `gw_test_${randomBytes(6).toString('hex')}`;
  const template = options.fromTemplate === false ? 'template0' : process.env[TEMPLATE_VAR];
  await withAdmin((c) =>
    c.query(`create database "${name}"${template ? ` template "${template}"` : ''}`),
  );
  return {
    name,
    url: urlFor(name),
    drop: () =>
      withAdmin((c) => c.query(`drop database if exists "${name}" with (force)`)).then(
        () => undefined,
      ),
  };
}
