import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Provider, Type } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { Test, TestingModuleBuilder } from '@nestjs/testing';
import { AppModule, AppModuleOptions } from '../../src/app.module';
import { APP_OPTIONS, configureApp, createAdapter } from '../../src/app.factory';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { withDatabaseUrl } from '../../src/database/database-server';
import { createTestDatabase, TestDatabase } from './database';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  db: TestDatabase;
  orm: MikroORM;
  /** A fork of the global EntityManager, for assertions. */
  em(): EntityManager;
  /** The raw HTTP server, for supertest: `request(t.server)`. */
  server: ReturnType<NestFastifyApplication['getHttpServer']>;
  close(): Promise<void>;
}

export interface TestAppOptions extends AppModuleOptions {
  env?: Record<string, string>;
  /** Replace providers (e.g. a migrator with an extra migration). */
  override?: (builder: TestingModuleBuilder) => TestingModuleBuilder;
  /** An existing database instead of a fresh one (the caller drops it). */
  database?: TestDatabase;
  /** Test-only controllers and providers mounted beside the real ones. */
  controllers?: Type[];
  providers?: Provider[];
}

export function testConfig(env: Record<string, string> = {}): AppConfig {
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'groundwork-test-data-')),
    // Suites such as tenant isolation send thousands of requests a minute from
    // 127.0.0.1: the API's budgets are off unless a test sets them (ADR 0020).
    RATE_LIMIT_IP_PER_MINUTE: '0',
    RATE_LIMIT_USER_PER_MINUTE: '0',
    RATE_LIMIT_TENANT_PER_MINUTE: '0',
    ...env,
  });
}

const databaseKeys = new Map<string, string>();

/**
 * Encrypted data belongs with its keys: apps booted on the same test database
 * (a restart, a second replica) share one random key ring unless the test
 * names another; apps on different databases hold different keys.
 */
function keysOfDatabase(db: TestDatabase): string {
  let keys = databaseKeys.get(db.name);
  if (!keys) {
    keys = `k1:${randomBytes(32).toString('base64')}`;
    databaseKeys.set(db.name, keys);
  }
  return keys;
}

/** An app's DATA_ENCRYPTION_KEYS as the environment spells it: for a command or server on its database. */
export function encryptionKeysOf(t: Pick<TestApp, 'config'>): string {
  return t.config.secrets.dataEncryptionKeys.map((k) => `${k.id}:${k.key.reveal()}`).join(',');
}

/** The whole application on a fresh database of its own, through the real HTTP pipeline. */
export async function bootTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.database ?? (await createTestDatabase());
  const config = withDatabaseUrl(
    testConfig({ DATA_ENCRYPTION_KEYS: keysOfDatabase(db), ...options.env }),
    db.url,
  );
  let builder = Test.createTestingModule({
    imports: [AppModule.forRoot(config, options)],
    controllers: options.controllers ?? [],
    providers: options.providers ?? [],
  });
  if (options.override) builder = options.override(builder);
  const moduleRef = await builder.compile();
  const app = await configureApp(
    moduleRef.createNestApplication<NestFastifyApplication>(createAdapter(config), APP_OPTIONS),
  );
  await app.getHttpAdapter().getInstance().ready();
  const orm = app.get(MikroORM);
  return {
    app,
    config,
    db,
    orm,
    em: () => orm.em.fork() as EntityManager,
    server: app.getHttpServer(),
    close: async () => {
      await app.close();
      rmSync(config.dataDir, { recursive: true, force: true });
      if (!options.database) await db.drop();
    },
  };
}
