import { availableParallelism } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { cleanEnv, EnvError, EnvMissingError, makeValidator, str } from 'envalid';
import { ConfigError } from './config.error';
import { GeneratedSecretName, loadOrCreateDevSecrets } from './dev-secrets';
import { Secret } from './secret';

export type NodeEnv = 'development' | 'test' | 'production';
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** One data-encryption key; the first key of the ring encrypts, every key decrypts. */
export interface EncryptionKey {
  id: string;
  key: Secret;
}

/** The whole typed configuration, built once at boot from the environment. */
export interface AppConfig {
  env: NodeEnv;
  /** Absolute path of the local data folder (embedded PostgreSQL, generated secrets). */
  dataDir: string;
  http: {
    port: number;
    host: string;
    publicUrl: string;
    bodyLimitBytes: number;
    /** How long readiness reports 503 before the server stops taking requests. */
    shutdownDelayMs: number;
    /** Which proxies' X-Forwarded-For to believe (Fastify's `trustProxy`). */
    trustProxy: boolean | number | string[];
    /** Exact origins (`https://app.example.com`) browsers may call the API from; empty: none. */
    corsOrigins: string[];
  };
  /** Requests per minute for the whole API, per budget; 0 turns that budget off. */
  rateLimits: {
    /** Per client address (after TRUST_PROXY), before authentication. */
    ipPerMinute: number;
    /** Per user or API key, once authenticated. */
    userPerMinute: number;
    /** Per organisation acted for, whoever calls. */
    tenantPerMinute: number;
  };
  log: { level: LogLevel };
  database: {
    /** Unset: an embedded PostgreSQL is started under `<dataDir>/postgres`. */
    url?: Secret;
    /** Connections this process's ORM pool may hold at once. */
    poolMax: number;
    /** An idle pooled connection is closed after this. */
    poolIdleTimeoutMs: number;
    /** A pooled connection is replaced once it is this old (0: never), as it is next taken. */
    connectionMaxLifetimeMs: number;
    /** Give up opening a connection after this. */
    connectTimeoutMs: number;
    /** PostgreSQL cancels one statement after this (0: no limit); long commands lift it. */
    statementTimeoutMs: number;
    migrateOnStart: boolean;
    migrationConcurrency: number;
    healthTimeoutMs: number;
  };
  /** Unset: rate limits live in each process, cache invalidations travel through PostgreSQL. */
  redis: { url?: Secret };
  caches: {
    /** Lifetime of request-path cache entries while invalidations are known to reach every replica. */
    ttlMs: number;
    /** How invalidations travel between replicas (ADR 0026); `none`: each process alone, short lifetimes. */
    channel: 'redis' | 'postgres' | 'none';
  };
  secrets: {
    jwtSecret: Secret;
    dataEncryptionKeys: EncryptionKey[];
  };
  mail: {
    /** Unset: mail stays in the outbox as `held`, readable but never sent. */
    smtpUrl?: Secret;
    /** The From header of every message. */
    from: string;
    /** How often the outbox worker looks for due messages. */
    outboxPollMs: number;
    /** Whether this process delivers the outbox (with SMTP_URL); commands set it false. */
    deliver: boolean;
  };
  billing: {
    /** `stripe` when STRIPE_SECRET_KEY is set, else the offline `simulated` gateway. */
    gateway: 'stripe' | 'simulated';
    stripe: {
      secretKey?: Secret;
      /** Another Stripe API base (stripe-mock, a local test server); unset: api.stripe.com. */
      apiUrl?: string;
    };
    /** Signs (simulated) and verifies (both) `POST /webhooks/stripe`. */
    webhookSecret: Secret;
    /** Admin test clocks that move a tenant's billing time (never in production). */
    testClocks: boolean;
    /** When the scheduled billing run looks for due renewals (cron, UTC). */
    runCron: string;
  };
  jobs: {
    /** Whether this process works the durable job queues; commands set it false. */
    work: boolean;
  };
  attachments: {
    /** Absolute path of the ticket attachments folder; never served over HTTP. */
    dir: string;
    /** Largest file accepted, in bytes. */
    maxBytes: number;
  };
  backup: {
    /** Where `npm run backup` writes when given no `--output`/`--dir`. */
    dir: string;
  };
  metrics: {
    /** When set, `GET /metrics` on the API port answers only `Authorization: Bearer <token>`. */
    token?: Secret;
    /** When set, `/metrics` is also served on this separate port (not exposed by the Service). */
    port?: number;
  };
  support: {
    /** `round_robin`: each new ticket goes to the platform support user whose last one is oldest. */
    autoAssign: 'round_robin' | 'off';
    /** Hours after which a solved ticket closes by itself (the `support.auto-close` job); 0: never. */
    autoCloseHours: number;
  };
}

const int = (min: number, max: number) =>
  makeValidator<number>((raw) => {
    const value = Number(raw);
    if (!/^-?\d+$/.test(String(raw).trim()) || value < min || value > max) {
      throw new EnvError(`expected a whole number from ${min} to ${max}, got "${raw}"`);
    }
    return value;
  });

const flag = makeValidator<boolean>((raw) => {
  const value = String(raw).trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(value)) return true;
  if (['false', '0', 'no', 'off'].includes(value)) return false;
  throw new EnvError(`expected true or false, got "${raw}"`);
});

const UNITS: Record<string, number> = { b: 1, kb: 1024, kib: 1024, mb: 1024 ** 2, mib: 1024 ** 2 };
const byteSize = makeValidator<number>((raw) => {
  const match = /^(\d+)\s*(b|kb|kib|mb|mib)?$/i.exec(String(raw).trim());
  const bytes = match ? Number(match[1]) * UNITS[(match[2] ?? 'b').toLowerCase()] : NaN;
  if (!Number.isSafeInteger(bytes) || bytes < 1024 || bytes > 100 * 1024 ** 2) {
    throw new EnvError(`expected a size from 1kb to 100mb such as "1mb" or "262144", got "${raw}"`);
  }
  return bytes;
});

const httpUrl = makeValidator<string>((raw) => {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new EnvError(`expected an http(s) URL such as "https://app.example.com", got "${raw}"`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EnvError(`expected an http(s) URL, got protocol "${url.protocol}"`);
  }
  return url.toString().replace(/\/$/, '');
});

const trustProxy = makeValidator<boolean | number | string[]>((raw) => {
  const value = String(raw).trim();
  if (/^(true|false)$/i.test(value)) return value.toLowerCase() === 'true';
  if (/^\d{1,2}$/.test(value)) return Number(value);
  const ranges = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (ranges.length > 0 && ranges.every((r) => /^[0-9a-fA-F:./]+$/.test(r))) return ranges;
  throw new EnvError(
    `expected true, false, a hop count, or addresses/CIDRs such as "10.0.0.0/8,127.0.0.1", got "${raw}"`,
  );
});

const postgresUrl = makeValidator<string>((raw) => {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !['postgres:', 'postgresql:'].includes(url.protocol) || !url.hostname) {
    // Never echo the value: it usually carries a password.
    throw new EnvError('expected a URL such as postgres://user:password@host:5432/database');
  }
  return raw;
});

const redisUrl = makeValidator<string>((raw) => {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !['redis:', 'rediss:'].includes(url.protocol)) {
    throw new EnvError(
      'expected a URL such as redis://host:6379 or rediss://user:password@host:6380',
    );
  }
  return raw;
});

/**
 * Comma-separated exact origins (scheme, host, optional port), as browsers
 * send them in `Origin`: no path, no wildcard, no `null`.
 */
export function parseCorsOrigins(raw: string): string[] {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) {
    throw new EnvError('expected origins such as "https://app.example.com", or leave it unset');
  }
  return [
    ...new Set(
      entries.map((entry) => {
        if (entry.includes('*')) {
          throw new EnvError(`"${entry}": wildcards are not allowed; list each origin exactly`);
        }
        let url: URL | undefined;
        try {
          url = new URL(entry);
        } catch {
          url = undefined;
        }
        if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
          throw new EnvError(
            `"${entry}" is not an http(s) origin such as "https://app.example.com"`,
          );
        }
        if (url.origin !== entry.replace(/\/$/, '').toLowerCase()) {
          throw new EnvError(
            `"${entry}" is not an origin: only scheme, host and port (did you mean "${url.origin}"?)`,
          );
        }
        return url.origin;
      }),
    ),
  ];
}
const corsOrigins = makeValidator<string[]>((raw) => parseCorsOrigins(String(raw)));

/**
 * Low-effort secrets production refuses: few distinct characters ("aaaa…",
 * "abcabc…") or a placeholder word. Random material never trips this.
 */
export function weakSecretReason(raw: string): string | undefined {
  const distinct = new Set(raw).size;
  if (distinct < Math.min(8, Math.ceil(raw.length / 4))) {
    return `has only ${distinct} distinct characters; use random data (openssl rand -hex 32)`;
  }
  const word =
    /change.?me|changeit|secret|passw(or)?d|example|default|placeholder|replace.?me/i.exec(raw);
  if (word) return `contains "${word[0]}", a placeholder; use random data (openssl rand -hex 32)`;
  return undefined;
}

const metricsToken = makeValidator<string>((raw) => {
  if (raw.length < 16 || /\s/.test(raw)) {
    throw new EnvError('expected at least 16 characters of random data, no spaces');
  }
  return raw;
});

const jwtSecret = makeValidator<string>((raw) => {
  if (raw.length < 32) throw new EnvError('expected at least 32 characters of random data');
  return raw;
});

const smtpUrl = makeValidator<string>((raw) => {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !['smtp:', 'smtps:'].includes(url.protocol) || !url.hostname) {
    // Never echo the value: it usually carries a password.
    throw new EnvError(
      'expected a URL such as smtp://user:password@host:587 or smtps://user:password@host:465',
    );
  }
  return raw;
});

/** `Name <address>` or a bare address; never a line break (it would inject headers). */
const mailbox = makeValidator<string>((raw) => {
  const value = raw.trim();
  if (
    /[\r\n]/.test(value) ||
    !/^(?:[^<>]*<[^\s<>@]+@[^\s<>@]+>|[^\s<>@]+@[^\s<>@]+)$/.test(value)
  ) {
    throw new EnvError(
      `expected an address such as "Groundwork <no-reply@example.com>", got ${JSON.stringify(raw)}`,
    );
  }
  return value;
});

/** `id:base64key[,id:base64key…]`, each key 32 bytes (AES-256); the first one is active. */
export function parseEncryptionKeys(raw: string): EncryptionKey[] {
  const entries = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (entries.length === 0) throw new EnvError('expected at least one key as "id:base64key"');
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const [id, material, ...rest] = entry.split(':');
    const key = material ? Buffer.from(material, 'base64') : Buffer.alloc(0);
    if (!id || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || rest.length > 0 || key.length !== 32) {
      throw new EnvError(
        `key ${index + 1} must look like "id:base64key" with a 32-byte key (openssl rand -base64 32)`,
      );
    }
    if (seen.has(id)) throw new EnvError(`key id "${id}" appears twice`);
    seen.add(id);
    return { id, key: new Secret(material) };
  });
}
const encryptionKeys = makeValidator<string>((raw) => {
  parseEncryptionKeys(raw);
  return raw;
});

const stripeKey = makeValidator<string>((raw) => {
  if (!/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/.test(raw.trim())) {
    // Never echo the value.
    throw new EnvError('expected a Stripe secret or restricted key (sk_live_…, sk_test_…, rk_…)');
  }
  return raw.trim();
});

const webhookSecret = makeValidator<string>((raw) => {
  if (!/^whsec_[A-Za-z0-9+/=_-]{16,}$/.test(raw.trim())) {
    throw new EnvError('expected the endpoint signing secret Stripe shows (whsec_…)');
  }
  return raw.trim();
});

/** Five-field cron (minute hour day month weekday), as pg-boss schedules it. */
const cron = makeValidator<string>((raw) => {
  const value = raw.trim();
  if (!/^(\S+\s+){4}\S+$/.test(value)) {
    throw new EnvError(`expected a five-field cron expression such as "*/5 * * * *", got "${raw}"`);
  }
  return value;
});

/**
 * The default pool size: PostgreSQL's rule of thumb (twice the cores, plus
 * one for the disk) applied to the cores this process sees. A Node process
 * runs JavaScript on one thread, so more connections than that only queue
 * inside PostgreSQL (and multiply by replicas); fewer leave the database idle
 * while requests wait. At least 10 (the fixed default before it was sized): on
 * a small machine a request holding a transaction, the outbox, the jobs and
 * the SLA sweeps each take a connection at once, and the whole test suite and
 * every figure in docs/performance.md ran on 10.
 */
export function defaultPoolMax(cores = availableParallelism()): number {
  return Math.max(10, 2 * cores + 1);
}

const specs = {
  NODE_ENV: str({
    choices: ['development', 'test', 'production'] as const,
    default: 'development',
  }),
  PORT: int(1, 65535)({ default: 3000 }),
  HOST: str({ default: '0.0.0.0' }),
  PUBLIC_URL: httpUrl({ default: undefined }),
  LOG_LEVEL: str({ choices: LOG_LEVELS, default: 'info' }),
  DATA_DIR: str({ default: '.data' }),
  BODY_LIMIT: byteSize({ default: 1024 * 1024 }),
  SHUTDOWN_DELAY_MS: int(0, 120_000)({ default: 0 }),
  TRUST_PROXY: trustProxy({ default: false }),
  DATABASE_URL: postgresUrl({ default: undefined }),
  DATABASE_POOL_MAX: int(1, 500)({ default: defaultPoolMax() }),
  DATABASE_POOL_IDLE_TIMEOUT_MS: int(1000, 3_600_000)({ default: 30_000 }),
  // Each backend keeps the catalog entries of every relation it touched; with
  // thousands of tenant schemas that grows without bound, so connections are
  // recycled (30 minutes: a reconnect every few minutes per pool at most).
  DATABASE_CONNECTION_MAX_LIFETIME_MS: int(0, 86_400_000)({ default: 1_800_000 }),
  DATABASE_CONNECT_TIMEOUT_MS: int(100, 120_000)({ default: 5000 }),
  DATABASE_STATEMENT_TIMEOUT_MS: int(0, 3_600_000)({ default: 5000 }),
  MIGRATE_ON_START: flag({ default: true }),
  MIGRATION_CONCURRENCY: int(1, 64)({ default: 4 }),
  HEALTH_DB_TIMEOUT_MS: int(50, 60_000)({ default: 2000 }),
  REDIS_URL: redisUrl({ default: undefined }),
  CACHE_TTL_MS: int(1000, 3_600_000)({ default: 60_000 }),
  CACHE_CHANNEL: str({ choices: ['auto', 'redis', 'postgres', 'none'] as const, default: 'auto' }),
  JWT_SECRET: jwtSecret({ default: undefined }),
  DATA_ENCRYPTION_KEYS: encryptionKeys({ default: undefined }),
  SMTP_URL: smtpUrl({ default: undefined }),
  MAIL_FROM: mailbox({ default: 'Groundwork <no-reply@localhost>' }),
  OUTBOX_POLL_MS: int(10, 600_000)({ default: 1000 }),
  STRIPE_SECRET_KEY: stripeKey({ default: undefined }),
  STRIPE_WEBHOOK_SECRET: webhookSecret({ default: undefined }),
  STRIPE_API_URL: httpUrl({ default: undefined }),
  BILLING_GATEWAY: str({ choices: ['stripe', 'simulated'] as const, default: undefined }),
  BILLING_RUN_CRON: cron({ default: '* * * * *' }),
  ATTACHMENTS_DIR: str({ default: undefined }),
  ATTACHMENT_MAX_BYTES: byteSize({ default: 10 * 1024 ** 2 }),
  SUPPORT_AUTO_ASSIGN: str({ choices: ['round_robin', 'off'] as const, default: 'off' }),
  SUPPORT_AUTO_CLOSE_HOURS: int(0, 8760)({ default: 96 }),
  BACKUP_DIR: str({ default: undefined }),
  METRICS_TOKEN: metricsToken({ default: undefined }),
  METRICS_PORT: int(1, 65535)({ default: undefined }),
  CORS_ORIGINS: corsOrigins({ default: [] }),
  RATE_LIMIT_IP_PER_MINUTE: int(0, 1_000_000)({ default: 1200 }),
  RATE_LIMIT_USER_PER_MINUTE: int(0, 1_000_000)({ default: 600 }),
  RATE_LIMIT_TENANT_PER_MINUTE: int(0, 1_000_000)({ default: 3000 }),
};

const SECRET_NAMES: GeneratedSecretName[] = [
  'JWT_SECRET',
  'DATA_ENCRYPTION_KEYS',
  'STRIPE_WEBHOOK_SECRET',
];

/**
 * Builds the configuration from an environment. Every problem is collected and
 * reported as one line naming the variable and what was expected, so a bad
 * deploy says exactly what to fix.
 */
export function loadConfig(environment: NodeJS.ProcessEnv = process.env): AppConfig {
  const env = cleanEnv(environment, specs, {
    reporter: ({ errors }) => {
      const problems = Object.entries(errors).map(([name, error]) =>
        error instanceof EnvMissingError || !(error as Error | undefined)?.message
          ? `${name}: is required but not set`
          : `${name}: ${error.message}`,
      );
      if (problems.length > 0) throw new ConfigError(problems);
    },
  });

  const production = env.NODE_ENV === 'production';
  const dataDir = isAbsolute(env.DATA_DIR) ? env.DATA_DIR : resolve(process.cwd(), env.DATA_DIR);
  const missing = SECRET_NAMES.filter((name) => !env[name]);
  const gateway = env.BILLING_GATEWAY ?? (env.STRIPE_SECRET_KEY ? 'stripe' : 'simulated');
  const problems: string[] = [];
  if (env.METRICS_PORT !== undefined && env.METRICS_PORT === env.PORT) {
    problems.push(`METRICS_PORT: must differ from PORT (${env.PORT}), or be unset`);
  }
  if (gateway === 'stripe' && !env.STRIPE_SECRET_KEY) {
    problems.push('STRIPE_SECRET_KEY: is required when BILLING_GATEWAY is stripe');
  }
  if (env.CACHE_CHANNEL === 'redis' && !env.REDIS_URL) {
    problems.push('CACHE_CHANNEL: is redis, but REDIS_URL is not set');
  }
  if (production) {
    problems.push(
      ...missing.map((name) => `${name}: is required in production (no secret is generated there)`),
    );
    // Money must not silently go nowhere: production states it wants the simulation.
    // (BILLING_GATEWAY=stripe without a key is already reported above, once.)
    if (!env.STRIPE_SECRET_KEY && env.BILLING_GATEWAY === undefined) {
      problems.push(
        'STRIPE_SECRET_KEY: is required in production (or set BILLING_GATEWAY=simulated for a demo)',
      );
    }
    // The embedded database is a development convenience (and not in the production image).
    if (!env.DATABASE_URL) problems.unshift('DATABASE_URL: is required in production');
    // Never echo the values: only why they are refused.
    const weak: [string, string | undefined][] = [
      ['JWT_SECRET', env.JWT_SECRET],
      ['METRICS_TOKEN', env.METRICS_TOKEN],
      // The part after `whsec_` is the key Stripe generated.
      ['STRIPE_WEBHOOK_SECRET', env.STRIPE_WEBHOOK_SECRET?.slice('whsec_'.length)],
    ];
    for (const [name, value] of weak) {
      const reason = value === undefined ? undefined : weakSecretReason(value);
      if (reason) problems.push(`${name}: ${reason}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const generated = loadOrCreateDevSecrets(dataDir, missing);
  const secret = (name: GeneratedSecretName): string => env[name] ?? generated[name]!;

  return {
    env: env.NODE_ENV,
    dataDir,
    http: {
      port: env.PORT,
      host: env.HOST,
      publicUrl: env.PUBLIC_URL ?? `http://localhost:${env.PORT}`,
      bodyLimitBytes: env.BODY_LIMIT,
      shutdownDelayMs: env.SHUTDOWN_DELAY_MS,
      trustProxy: env.TRUST_PROXY,
      corsOrigins: env.CORS_ORIGINS,
    },
    rateLimits: {
      ipPerMinute: env.RATE_LIMIT_IP_PER_MINUTE,
      userPerMinute: env.RATE_LIMIT_USER_PER_MINUTE,
      tenantPerMinute: env.RATE_LIMIT_TENANT_PER_MINUTE,
    },
    log: { level: env.LOG_LEVEL },
    database: {
      url: env.DATABASE_URL ? new Secret(env.DATABASE_URL) : undefined,
      poolMax: env.DATABASE_POOL_MAX,
      poolIdleTimeoutMs: env.DATABASE_POOL_IDLE_TIMEOUT_MS,
      connectionMaxLifetimeMs: env.DATABASE_CONNECTION_MAX_LIFETIME_MS,
      connectTimeoutMs: env.DATABASE_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: env.DATABASE_STATEMENT_TIMEOUT_MS,
      migrateOnStart: env.MIGRATE_ON_START,
      migrationConcurrency: env.MIGRATION_CONCURRENCY,
      healthTimeoutMs: env.HEALTH_DB_TIMEOUT_MS,
    },
    redis: { url: env.REDIS_URL ? new Secret(env.REDIS_URL) : undefined },
    caches: {
      ttlMs: env.CACHE_TTL_MS,
      channel:
        env.CACHE_CHANNEL === 'auto' ? (env.REDIS_URL ? 'redis' : 'postgres') : env.CACHE_CHANNEL,
    },
    secrets: {
      jwtSecret: new Secret(secret('JWT_SECRET')),
      dataEncryptionKeys: parseEncryptionKeys(secret('DATA_ENCRYPTION_KEYS')),
    },
    mail: {
      smtpUrl: env.SMTP_URL ? new Secret(env.SMTP_URL) : undefined,
      from: env.MAIL_FROM,
      outboxPollMs: env.OUTBOX_POLL_MS,
      deliver: true,
    },
    billing: {
      gateway,
      stripe: {
        secretKey: env.STRIPE_SECRET_KEY ? new Secret(env.STRIPE_SECRET_KEY) : undefined,
        apiUrl: env.STRIPE_API_URL,
      },
      webhookSecret: new Secret(secret('STRIPE_WEBHOOK_SECRET')),
      testClocks: !production,
      runCron: env.BILLING_RUN_CRON,
    },
    jobs: { work: true },
    attachments: {
      dir: env.ATTACHMENTS_DIR ? resolve(env.ATTACHMENTS_DIR) : join(dataDir, 'attachments'),
      maxBytes: env.ATTACHMENT_MAX_BYTES,
    },
    backup: {
      dir: env.BACKUP_DIR ? resolve(env.BACKUP_DIR) : join(dataDir, 'backups'),
    },
    metrics: {
      token: env.METRICS_TOKEN ? new Secret(env.METRICS_TOKEN) : undefined,
      port: env.METRICS_PORT,
    },
    support: {
      autoAssign: env.SUPPORT_AUTO_ASSIGN,
      autoCloseHours: env.SUPPORT_AUTO_CLOSE_HOURS,
    },
  };
}
