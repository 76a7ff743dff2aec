import { DynamicModule, Global, Module } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/core';
import { MikroOrmModule } from '@mikro-orm/nestjs';
import { EntityManager, PostgreSqlDriver } from '@mikro-orm/postgresql';
import { tenantMigrations } from '../../migrations/tenant';
import { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { buildOrmOptions, OrmOverrides } from './orm.config';
import { PlatformMigrator } from './platform-migrator';
import { TenantSchemaMigrator } from './tenant-schema-migrator';

@Global()
@Module({})
export class DatabaseModule {
  static forRoot(overrides: OrmOverrides = {}): DynamicModule {
    return {
      module: DatabaseModule,
      imports: [
        MikroOrmModule.forRootAsync({
          driver: PostgreSqlDriver,
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => buildOrmOptions(config, overrides),
        }),
      ],
      providers: [
        {
          provide: PlatformMigrator,
          inject: [MikroORM],
          useFactory: (orm: MikroORM) => new PlatformMigrator(orm),
        },
        {
          provide: TenantSchemaMigrator,
          inject: [MikroORM],
          useFactory: (orm: MikroORM) =>
            new TenantSchemaMigrator(orm.em as EntityManager, tenantMigrations),
        },
      ],
      exports: [PlatformMigrator, TenantSchemaMigrator],
    };
  }
}
