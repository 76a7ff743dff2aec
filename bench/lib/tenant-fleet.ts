import { INestApplicationContext } from '@nestjs/common';
import { MikroORM, type MigrationObject } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { tenantMigrations } from '../../migrations/tenant';
import { TenantRole } from '../../src/access/roles';
import type { AppConfig } from '../../src/config/app-config';
import { APP_CONFIG } from '../../src/config/config.module';
import { TenantSchemaMigrator } from '../../src/database/tenant-schema-migrator';
import { hashPassword } from '../../src/identity/credentials';
import { User } from '../../src/identity/entities/user.entity';
import { TokenService } from '../../src/identity/token.service';
import { Tenant } from '../../src/tenancy/entities/tenant.entity';
import { MembershipService } from '../../src/tenancy/members/membership.service';
import {
  TenantMigrationReport,
  TenantMigrationService,
} from '../../src/tenancy/tenant-migration.service';
import { TenantProvisioningService } from '../../src/tenancy/tenant-provisioning.service';
import { startAppContext } from './app-context';
import { BENCH_SECRETS } from './app-process';

/** Rows created per flush when seeding owners and sessions. */
const BATCH = 500;

/** A tenant's owner, signed in: the headers a tenant-scoped request carries. */
export interface SignedInOwner {
  tenantId: string;
  authorization: string;
}

/**
 * The app's own services in this process (`startAppContext`: production
 * config, the same secrets as `AppProcess`), for
 * what a scale scenario does through the app rather than over HTTP:
 * provisioning, migrating, seeding owners and issuing their tokens.
 */
export class TenantFleet {
  /** Every tenant provisioned so far, oldest first. */
  readonly tenants: Tenant[] = [];
  private readonly owners = new Map<string, User>();
  private passwordHash?: string;

  private constructor(
    private readonly app: INestApplicationContext,
    /** MIGRATION_CONCURRENCY as the app reads it: the default a deploy runs with. */
    readonly migrationConcurrency: number,
  ) {}

  static async open(databaseUrl: string, dataDir: string): Promise<TenantFleet> {
    const app = await startAppContext({ databaseUrl, dataDir });
    const config = app.get<AppConfig>(APP_CONFIG);
    return new TenantFleet(app, config.database.migrationConcurrency);
  }

  private get em(): EntityManager {
    return this.app.get(MikroORM).em as EntityManager;
  }

  /** Provisions `count` tenants one after another, as sign-ups arrive; returns the elapsed ms. */
  async provision(count: number): Promise<number> {
    const provisioning = this.app.get(TenantProvisioningService);
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const n = this.tenants.length;
      this.tenants.push(await provisioning.provision({ slug: `bench-${n}`, name: `Bench ${n}` }));
    }
    return performance.now() - started;
  }

  /**
   * Applies `migration` after every existing tenant migration to all tenant
   * schemas through TenantMigrationService with the app's default concurrency.
   */
  async migrate(
    migration: MigrationObject,
  ): Promise<{ elapsedMs: number; outcome: TenantMigrationReport }> {
    const migrator = new TenantSchemaMigrator(this.em, [...tenantMigrations, migration]);
    const service = new TenantMigrationService(this.em, migrator);
    const started = performance.now();
    const outcome = await service.migrate({ concurrency: this.migrationConcurrency });
    return { elapsedMs: performance.now() - started, outcome };
  }

  /** Every tenant migration's SQL, in order, as the migrator runs it. */
  async migrationStatements(): Promise<{ name: string; statements: string[] }[]> {
    const migrator = new TenantSchemaMigrator(this.em, tenantMigrations);
    const em = this.em.fork();
    return Promise.all(
      tenantMigrations.map(async (m) => ({
        name: m.name,
        statements: await migrator.statementsOf(em, m),
      })),
    );
  }

  /**
   * An owner for each tenant that has none yet (one user per organisation, as
   * sign-up makes them), then a fresh session for each of `tenants`: access
   * tokens live 15 minutes, so sign in right before the load that uses them.
   */
  async signIn(tenants: readonly Tenant[]): Promise<SignedInOwner[]> {
    this.passwordHash ??= await hashPassword(`bench ${BENCH_SECRETS.JWT_SECRET}`);
    const memberships = this.app.get(MembershipService);
    const tokens = this.app.get(TokenService);
    const signedIn: SignedInOwner[] = [];
    for (let from = 0; from < tenants.length; from += BATCH) {
      const em = this.em.fork();
      const now = new Date();
      for (const tenant of tenants.slice(from, from + BATCH)) {
        let owner = this.owners.get(tenant.id);
        if (!owner) {
          owner = em.create(User, {
            email: `owner@${tenant.slug}.bench.example.com`,
            name: `Owner of ${tenant.name}`,
            passwordHash: this.passwordHash,
            platformRole: null,
            createdAt: now,
            updatedAt: now,
          });
          memberships.add(em, tenant.id, owner.id, TenantRole.Owner);
          this.owners.set(tenant.id, owner);
        }
        const issued = tokens.issue(em, owner, tenant.id);
        signedIn.push({ tenantId: tenant.id, authorization: `Bearer ${issued.accessToken}` });
      }
      await em.flush();
    }
    return signedIn;
  }

  async close(): Promise<void> {
    await this.app.close();
  }
}
