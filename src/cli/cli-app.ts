import 'reflect-metadata';
import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from '../app.module';
import { AppConfig } from '../config/app-config';
import { DatabaseServer, openDatabaseServer, withDatabaseUrl } from '../database/database-server';
import { describeError, loadConfigOrExit } from '../common/entrypoint';

export interface CliApp {
  app: INestApplicationContext;
  config: AppConfig;
  database: DatabaseServer;
}

/**
 * Runs a command-line task inside the same modules as the server (no HTTP),
 * against `DATABASE_URL` or the embedded database, and always cleans up.
 */
export async function runCli(task: (cli: CliApp) => Promise<number>): Promise<void> {
  // Commands print their own progress; the framework's start-up chatter is noise here.
  const loaded = loadConfigOrExit({ LOG_LEVEL: 'warn', ...process.env }, 2);
  // A one-off command never delivers the outbox: the servers do. Its statements
  // (migrations over every schema, backups, imports) are not request queries:
  // no statement timeout.
  const config = {
    ...loaded,
    database: { ...loaded.database, statementTimeoutMs: 0 },
    mail: { ...loaded.mail, deliver: false },
    jobs: { work: false },
  };
  let database: DatabaseServer;
  try {
    database = await openDatabaseServer(config);
  } catch (error) {
    // E.g. the embedded database is held by a running server: one clear line.
    process.stderr.write(
      `Cannot open the database: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  }
  let code = 1;
  let app: INestApplicationContext | undefined;
  try {
    app = await NestFactory.createApplicationContext(
      AppModule.forRoot(withDatabaseUrl(config, database.url)),
      {
        bufferLogs: true,
      },
    );
    app.useLogger(app.get(Logger));
    code = await task({ app, config, database });
  } catch (error) {
    process.stderr.write(`${describeError(error)}\n`);
  } finally {
    await app?.close().catch(() => undefined);
    await database.stop();
  }
  process.exit(code);
}
