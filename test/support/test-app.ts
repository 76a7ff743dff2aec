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
    ...env,
  });
}

/** The whole application on a fresh database of its own, through the real HTTP pipeline. */
export async function bootTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.database ?? (await createTestDatabase());
  const config = withDatabaseUrl(testConfig(options.env), db.url);
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
