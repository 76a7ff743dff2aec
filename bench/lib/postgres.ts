import { join } from 'node:path';
import { Client } from 'pg';
import { ensureDatabase } from '../../src/database/database-server';
import { startEmbeddedPostgres } from '../../src/database/embedded-postgres';

/**
 * The PostgreSQL server a bench run uses: `DATABASE_URL`'s server when set,
 * else an embedded one under the run's scratch folder. Each scenario gets a
 * database of its own, dropped afterwards, so scenarios never see each other's
 * data (or catalog growth).
 */
export class BenchPostgres {
  private constructor(
    /** URL of the server's maintenance database (no scenario data). */
    readonly adminUrl: string,
    readonly embedded: boolean,
    private readonly stopServer: () => Promise<void>,
  ) {}

  static async open(scratch: string): Promise<BenchPostgres> {
    if (process.env.DATABASE_URL) {
      return new BenchPostgres(process.env.DATABASE_URL, false, () => Promise.resolve());
    }
    const server = await startEmbeddedPostgres({
      dataDir: join(scratch, 'postgres'),
      persistent: false,
    });
    return new BenchPostgres(server.url, true, server.stop);
  }

  /** Creates a fresh database `groundwork_bench_<name>` and returns its URL. */
  async create(name: string): Promise<string> {
    const database = this.databaseName(name);
    await this.drop(name);
    await ensureDatabase(this.adminUrl, database);
    return this.urlOf(database);
  }

  urlOf(database: string): string {
    const url = new URL(this.adminUrl);
    url.pathname = `/${database}`;
    return url.toString();
  }

  databaseName(name: string): string {
    return `groundwork_bench_${name.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
  }

  async drop(name: string): Promise<void> {
    await this.sql(`drop database if exists "${this.databaseName(name)}" with (force)`);
  }

  /** Runs one statement on the maintenance database. */
  async sql(statement: string, params: unknown[] = []): Promise<void> {
    const client = new Client({ connectionString: this.adminUrl });
    await client.connect();
    try {
      await client.query(statement, params);
    } finally {
      await client.end();
    }
  }

  async close(): Promise<void> {
    await this.stopServer();
  }
}
