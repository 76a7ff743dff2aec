import { join } from 'node:path';
import { LoggerNamespace, PoolConfig } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { defineConfig, Options } from '@mikro-orm/postgresql';
import { platformMigrations } from '../../migrations/platform';
import { PROJECT_ROOT } from '../common/paths';
import { AppConfig } from '../config/app-config';
import { keyringExtension } from '../common/crypto/encrypted-string.type';
import { Keyring } from '../common/crypto/keyring';
import { TENANT_MIGRATION_TABLE } from './tenant-schema-migrator';
import { AuditEvent } from '../tenancy/audit/audit-event.entity';
import { Tenant } from '../tenancy/entities/tenant.entity';
import { ApiKey } from '../identity/entities/api-key.entity';
import { EmailToken } from '../identity/entities/email-token.entity';
import { LoginChallenge } from '../identity/entities/login-challenge.entity';
import { RecoveryCode } from '../identity/entities/recovery-code.entity';
import { TwoFactor } from '../identity/entities/two-factor.entity';
import { RefreshToken } from '../identity/entities/refresh-token.entity';
import { User } from '../identity/entities/user.entity';
import { Invitation } from '../tenancy/entities/invitation.entity';
import { PlatformAuditEvent } from '../tenancy/audit/platform-audit-event.entity';
import { Membership } from '../tenancy/entities/membership.entity';
import { TenantMilestone } from '../tenancy/onboarding/tenant-milestone.entity';
import { OutboxMessage } from '../notifications/entities/outbox-message.entity';
import { IdempotencyRecord } from '../common/http/idempotency-record.entity';
import { BillingCounter } from '../billing/entities/billing-counter.entity';
import { BillingCustomer } from '../billing/entities/billing-customer.entity';
import { Feature } from '../billing/entities/feature.entity';
import { GatewayEvent } from '../billing/entities/gateway-event.entity';
import { Invoice, InvoiceLine } from '../billing/entities/invoice.entity';
import { PaymentAttempt } from '../billing/entities/payment-attempt.entity';
import { PaymentMethod } from '../billing/entities/payment-method.entity';
import { Plan } from '../billing/entities/plan.entity';
import { Price } from '../billing/entities/price.entity';
import { Subscription } from '../billing/entities/subscription.entity';
import { DunningCampaign, DunningStepRun } from '../billing/entities/dunning-campaign.entity';
import { RecoveryPolicy } from '../billing/entities/recovery-policy.entity';
import { KbArticle, KbCategory, KbDeflection, KbRevision } from '../knowledge-base/entities';
import { SupportMacro } from '../support/macros/support-macro.entity';
import { TicketAttachment } from '../support/attachments/entities/ticket-attachment.entity';
import { SupportQueueEntry } from '../support/queue/support-queue-entry.entity';
import { Ticket } from '../support/tickets/entities/ticket.entity';
import { TicketEvent } from '../support/tickets/entities/ticket-event.entity';
import { TicketMessage } from '../support/tickets/entities/ticket-message.entity';
import { Feedback } from '../feedback/feedback.entity';
import { FEATURE_ENTITIES } from '../features/entities';

/** Every entity, platform and tenant alike; a module adding one lists it here. */
export const ENTITIES = [
  Tenant,
  AuditEvent,
  OutboxMessage,
  User,
  RefreshToken,
  ApiKey,
  Membership,
  Invitation,
  TenantMilestone,
  PlatformAuditEvent,
  EmailToken,
  TwoFactor,
  RecoveryCode,
  LoginChallenge,
  IdempotencyRecord,
  Feature,
  Plan,
  Price,
  BillingCustomer,
  PaymentMethod,
  Subscription,
  Invoice,
  InvoiceLine,
  PaymentAttempt,
  GatewayEvent,
  BillingCounter,
  RecoveryPolicy,
  DunningCampaign,
  DunningStepRun,
  KbCategory,
  KbArticle,
  KbRevision,
  KbDeflection,
  Ticket,
  TicketMessage,
  TicketEvent,
  TicketAttachment,
  SupportQueueEntry,
  SupportMacro,
  Feedback,
  ...FEATURE_ENTITIES,
];

export interface OrmOverrides {
  /** Receives every SQL statement (used by tests that inspect what runs). */
  onQuery?: (sql: string) => void;
  /** false: build the metadata without connecting (the OpenAPI writer needs no database). */
  connect?: boolean;
}

export function buildOrmOptions(config: AppConfig, overrides: OrmOverrides = {}): Options {
  const url = config.database.url;
  if (!url)
    throw new Error('The database URL must be resolved before the ORM starts (see bootstrap).');
  return defineConfig({
    clientUrl: url.reveal(),
    connect: overrides.connect ?? true,
    entities: ENTITIES,
    discovery: { requireEntitiesArray: true, disableDynamicFileAccess: true },
    pool: poolOptions(config.database),
    driverOptions: {
      // Give up on a connection attempt or a pool wait instead of hanging a
      // request (or a shutdown) behind an unreachable database.
      acquireConnectionTimeout: 10_000,
      connection: {
        connectionTimeoutMillis: config.database.connectTimeoutMs,
        application_name: 'groundwork',
        ssl: sslFromUrl(url.reveal()),
        // A startup parameter, not a session SET: it binds this connection
        // only, and never leaks to another client through a pooler. PgBouncer
        // refuses unknown startup parameters: there it is ignored and set on
        // the role instead (docs/deployment.md). pg sends nothing for 0.
        statement_timeout: config.database.statementTimeoutMs,
      },
    },
    forceUtcTimezone: true,
    // A tenant entity used through an EntityManager without a schema must fail,
    // never silently run against the global context.
    allowGlobalContext: false,
    ensureDatabase: false,
    // The tenant migrator's bookkeeping table is not an entity.
    schemaGenerator: { skipTables: [TENANT_MIGRATION_TABLE] },
    // EncryptedString columns reach this app's keyring through the ORM (never a global).
    extensions: [Migrator, keyringExtension(Keyring.fromConfig(config.secrets.dataEncryptionKeys))],
    migrations: {
      tableName: 'platform.mikro_orm_migrations',
      path: join(PROJECT_ROOT, 'migrations/platform'),
      pathTs: join(PROJECT_ROOT, 'migrations/platform'),
      migrationsList: platformMigrations,
      // migrate:create diffs against a scratch database at the current head, not a snapshot file.
      snapshot: false,
      emit: 'ts',
      allOrNothing: true,
      silent: true,
    },
    debug: overrides.onQuery ? (['query'] as LoggerNamespace[]) : false,
    logger: overrides.onQuery
      ? (line: string) => overrides.onQuery!(line)
      : (line: string) => process.stdout.write(`${line}\n`),
    colors: false,
  });
}

/**
 * The ORM's pool (knex's tarn). knex replaces a connection older than
 * `maxConnectionLifetimeMillis` when it is next taken; the jitter (a tenth
 * of the lifetime) keeps a pool's connections from all reconnecting at once.
 */
export function poolOptions(database: AppConfig['database']): PoolConfig & {
  maxConnectionLifetimeMillis?: number;
  maxConnectionLifetimeJitterMillis?: number;
} {
  const lifetime = database.connectionMaxLifetimeMs;
  return {
    min: 0,
    max: database.poolMax,
    idleTimeoutMillis: database.poolIdleTimeoutMs,
    ...(lifetime > 0
      ? {
          maxConnectionLifetimeMillis: lifetime,
          maxConnectionLifetimeJitterMillis: Math.floor(lifetime / 10),
        }
      : {}),
  };
}

/**
 * MikroORM reads only host, port, user, password and database from the URL;
 * `sslmode` (as managed PostgreSQL services hand it out) is honoured here.
 */
export function sslFromUrl(url: string): false | { rejectUnauthorized: boolean } {
  const mode = new URL(url).searchParams.get('sslmode');
  switch (mode) {
    case 'require':
    case 'prefer':
      return { rejectUnauthorized: false };
    case 'verify-ca':
    case 'verify-full':
      return { rejectUnauthorized: true };
    default:
      return false;
  }
}
