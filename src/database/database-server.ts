import { join } from 'node:path';
import { Client } from 'pg';
import { AppConfig } from '../config/app-config';
import { Secret } from '../config/secret';
import { startEmbeddedPostgres } from './embedded-postgres';

export interface DatabaseServer {
  url: string;
  embedded: boolean;
  stop: () => Promise<void>;
}

const EMBEDDED_DATABASE = 'groundwork';

/**
 * `DATABASE_URL` when set; otherwise an embedded PostgreSQL with its data in
 * `<DATA_DIR>/postgres`, kept across restarts.
 */
export async function openDatabaseServer(
  config: AppConfig,
  onLog?: (line: string) => void,
): Promise<DatabaseServer> {
  if (config.database.url) {
    return { url: config.database.url.reveal(), embedded: false, stop: () => Promise.resolve() };
  }
  const server = await startEmbeddedPostgres({
    dataDir: join(config.dataDir, 'postgres'),
    persistent: true,
    onLog,
  });
  try {
    await ensureDatabase(server.url, EMBEDDED_DATABASE);
  } catch (error) {
    await server.stop();
    throw error;
  }
  const url = new URL(server.url);
  url.pathname = `/${EMBEDDED_DATABASE}`;
  return { url: url.toString(), embedded: true, stop: server.stop };
}

/** Creates `name` on the server of `adminUrl` unless it exists. */
export async function ensureDatabase(adminUrl: string, name: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (!rowCount) await client.query(`create database "${name.replace(/"/g, '""')}"`);
  } finally {
    await client.end();
  }
}

export function withDatabaseUrl(config: AppConfig, url: string): AppConfig {
  return { ...config, database: { ...config.database, url: new Secret(url) } };
}
