import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { inspect } from 'node:util';
import { EnvError } from 'envalid';
import { availableParallelism } from 'node:os';
import { AppConfig, defaultPoolMax, loadConfig, parseEncryptionKeys } from './app-config';
import { ConfigError } from './config.error';

const KEY_A = Buffer.alloc(32, 1).toString('base64');
const KEY_B = Buffer.alloc(32, 2).toString('base64');
// Random-looking: production refuses low-effort secrets.
const JWT = 'q7Rk2vX9mL4tZ8wN1bY6cH3fJ5sD0gPa';
const KEYS = `k1:${KEY_A}`;
const WHSEC = 'whsec_T4nV8kQ2xR7mZ1pL9cW3yB6hF0dJ5sGe';
const STRIPE_KEY = `sk_live_${'s'.repeat(24)}`;
/** Every secret a run outside production would otherwise generate into secrets.json. */
const ALL_SECRETS = { JWT_SECRET: JWT, DATA_ENCRYPTION_KEYS: KEYS, STRIPE_WEBHOOK_SECRET: WHSEC };

let dataDir: string;

beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'groundwork-config-'));
});

afterEach(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

/** Loads with a temporary data folder so no test ever writes into the repository. */
const load = (env: NodeJS.ProcessEnv = {}): AppConfig => loadConfig({ DATA_DIR: dataDir, ...env });

/** The problems a failing load reports; fails the test when the load succeeds. */
function problemsOf(env: NodeJS.ProcessEnv): string[] {
  try {
    load(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

/** The single problem line reported for one variable. */
function problemFor(name: string, env: NodeJS.ProcessEnv): string {
  const lines = problemsOf(env).filter((line) => line.startsWith(`${name}: `));
  expect(lines).toHaveLength(1);
  return lines[0];
}

const secretsFile = (): string => join(dataDir, 'secrets.json');
const readSecretsFile = (): Record<string, string> =>
  JSON.parse(readFileSync(secretsFile(), 'utf8')) as Record<string, string>;

describe('loadConfig defaults', () => {
  it('fills every setting with its documented default when the environment is empty', () => {
    const config = load(ALL_SECRETS);

    expect(config.env).toBe('development');
    expect(config.dataDir).toBe(dataDir);
    expect(config.http).toEqual({
      port: 3000,
      host: '0.0.0.0',
      publicUrl: 'http://localhost:3000',
      bodyLimitBytes: 1024 * 1024,
      shutdownDelayMs: 0,
      trustProxy: false,
      corsOrigins: [],
    });
    expect(config.rateLimits).toEqual({
      ipPerMinute: 1200,
      userPerMinute: 600,
      tenantPerMinute: 3000,
    });
    expect(config.log).toEqual({ level: 'info' });
    expect(config.database).toEqual({
      url: undefined,
      poolMax: defaultPoolMax(availableParallelism()),
      poolIdleTimeoutMs: 30_000,
      connectionMaxLifetimeMs: 1_800_000,
      connectTimeoutMs: 5000,
      statementTimeoutMs: 5000,
      migrateOnStart: true,
      migrationConcurrency: 4,
      healthTimeoutMs: 2000,
    });
    expect(config.billing).toEqual({
      gateway: 'simulated',
      stripe: { secretKey: undefined, apiUrl: undefined },
      webhookSecret: expect.anything(),
      testClocks: true,
      runCron: '* * * * *',
    });
    expect(config.jobs).toEqual({ work: true });
    expect(config.support).toEqual({ autoAssign: 'off', autoCloseHours: 96 });
  });

  it.each([
    [1, 10],
    [2, 10],
    [4, 10],
    [8, 17],
    [16, 33],
  ])(
    'sizes the default pool for %i cores at %i connections (twice the cores plus one, at least 10)',
    (cores, max) => {
      expect(defaultPoolMax(cores)).toBe(max);
    },
  );

  it('derives the default PUBLIC_URL from PORT', () => {
    const config = load({ PORT: '8081', JWT_SECRET: JWT, DATA_ENCRYPTION_KEYS: KEYS });

    expect(config.http.port).toBe(8081);
    expect(config.http.publicUrl).toBe('http://localhost:8081');
  });

  it('uses an explicit PUBLIC_URL without its trailing slash', () => {
    const config = load({
      PUBLIC_URL: 'https://app.example.com/',
      JWT_SECRET: JWT,
      DATA_ENCRYPTION_KEYS: KEYS,
    });

    expect(config.http.publicUrl).toBe('https://app.example.com');
  });

  it('resolves a relative DATA_DIR against the working directory', () => {
    // Every secret is given, so nothing is generated into the repository.
    const relativeDir = `groundwork-relative-${process.pid}/dir`;
    const config = loadConfig({ DATA_DIR: relativeDir, ...ALL_SECRETS });

    expect(config.dataDir).toBe(resolve(process.cwd(), relativeDir));
    expect(existsSync(resolve(process.cwd(), relativeDir))).toBe(false);
  });
});

describe('loadConfig parsing of valid values', () => {
  const base = { JWT_SECRET: JWT, DATA_ENCRYPTION_KEYS: KEYS };

  it.each([
    ['1mb', 1024 * 1024],
    ['1MB', 1024 * 1024],
    ['1 mib', 1024 * 1024],
    ['256kb', 256 * 1024],
    ['2KiB', 2048],
    ['262144', 262144],
    ['1024b', 1024],
    ['100mb', 100 * 1024 * 1024],
  ])('reads BODY_LIMIT=%s as %d bytes', (raw, bytes) => {
    expect(load({ ...base, BODY_LIMIT: raw }).http.bodyLimitBytes).toBe(bytes);
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['yes', true],
    ['on', true],
    ['false', false],
    ['0', false],
    ['no', false],
    [' Off ', false],
  ])('reads MIGRATE_ON_START=%j as %s', (raw, value) => {
    expect(load({ ...base, MIGRATE_ON_START: raw }).database.migrateOnStart).toBe(value);
  });

  it.each(['1', '65535', ' 443 '])('accepts PORT=%j at or within the bounds', (raw) => {
    expect(load({ ...base, PORT: raw }).http.port).toBe(Number(raw));
  });

  it('reads every numeric setting and the log level', () => {
    const config = load({
      ...base,
      NODE_ENV: 'test',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      SHUTDOWN_DELAY_MS: '5000',
      DATABASE_POOL_MAX: '25',
      DATABASE_POOL_IDLE_TIMEOUT_MS: '10000',
      DATABASE_CONNECTION_MAX_LIFETIME_MS: '600000',
      DATABASE_CONNECT_TIMEOUT_MS: '2500',
      DATABASE_STATEMENT_TIMEOUT_MS: '15000',
      MIGRATION_CONCURRENCY: '8',
      HEALTH_DB_TIMEOUT_MS: '750',
    });

    expect(config.env).toBe('test');
    expect(config.http.host).toBe('127.0.0.1');
    expect(config.http.shutdownDelayMs).toBe(5000);
    expect(config.log.level).toBe('debug');
    expect(config.database.poolMax).toBe(25);
    expect(config.database.poolIdleTimeoutMs).toBe(10_000);
    expect(config.database.connectionMaxLifetimeMs).toBe(600_000);
    expect(config.database.connectTimeoutMs).toBe(2500);
    expect(config.database.statementTimeoutMs).toBe(15_000);
    expect(config.database.migrationConcurrency).toBe(8);
    expect(config.database.healthTimeoutMs).toBe(750);
  });

  it('reads 0 as "never" for the connection lifetime and "no limit" for the statement timeout', () => {
    const config = load({
      ...base,
      DATABASE_CONNECTION_MAX_LIFETIME_MS: '0',
      DATABASE_STATEMENT_TIMEOUT_MS: '0',
    });

    expect(config.database.connectionMaxLifetimeMs).toBe(0);
    expect(config.database.statementTimeoutMs).toBe(0);
  });

  it.each([
    ['0', 0],
    ['24', 24],
    ['8760', 8760],
  ])('reads SUPPORT_AUTO_CLOSE_HOURS=%s (0 turns auto-close off)', (raw, hours) => {
    expect(load({ ...base, SUPPORT_AUTO_CLOSE_HOURS: raw }).support.autoCloseHours).toBe(hours);
  });

  it.each(['postgres://u:p@db:5432/app', 'postgresql://db/app'])(
    'keeps DATABASE_URL=%s as a Secret',
    (url) => {
      const config = load({ ...base, DATABASE_URL: url });

      expect(config.database.url?.reveal()).toBe(url);
    },
  );
});

describe('loadConfig rejections', () => {
  it.each(['-1', '8761', '1.5', 'never'])('rejects SUPPORT_AUTO_CLOSE_HOURS=%j', (raw) => {
    expect(problemFor('SUPPORT_AUTO_CLOSE_HOURS', { SUPPORT_AUTO_CLOSE_HOURS: raw })).toBe(
      `SUPPORT_AUTO_CLOSE_HOURS: expected a whole number from 0 to 8760, got "${raw}"`,
    );
  });

  it.each(['abc', '3000.5', '0x10', '', '-1', '0'])(
    'rejects PORT=%j naming PORT and what was expected',
    (raw) => {
      expect(problemFor('PORT', { PORT: raw })).toBe(
        `PORT: expected a whole number from 1 to 65535, got "${raw}"`,
      );
    },
  );

  it('rejects PORT=70000 as out of range', () => {
    expect(problemFor('PORT', { PORT: '70000' })).toBe(
      'PORT: expected a whole number from 1 to 65535, got "70000"',
    );
  });

  it.each(['10gb', '1.5mb', 'lots', '1023', '101mb'])(
    'rejects BODY_LIMIT=%s naming BODY_LIMIT',
    (raw) => {
      expect(problemFor('BODY_LIMIT', { BODY_LIMIT: raw })).toBe(
        `BODY_LIMIT: expected a size from 1kb to 100mb such as "1mb" or "262144", got "${raw}"`,
      );
    },
  );

  it('rejects MIGRATE_ON_START=maybe naming MIGRATE_ON_START', () => {
    expect(problemFor('MIGRATE_ON_START', { MIGRATE_ON_START: 'maybe' })).toBe(
      'MIGRATE_ON_START: expected true or false, got "maybe"',
    );
  });

  it('rejects LOG_LEVEL=loud naming LOG_LEVEL and the value', () => {
    const line = problemFor('LOG_LEVEL', { LOG_LEVEL: 'loud' });

    expect(line).toMatch(/^LOG_LEVEL: /);
    expect(line).toContain('"loud"');
  });

  it('rejects an unknown NODE_ENV', () => {
    expect(problemFor('NODE_ENV', { NODE_ENV: 'staging' })).toContain('"staging"');
  });

  it.each([
    ['SHUTDOWN_DELAY_MS', '120001', 'expected a whole number from 0 to 120000, got "120001"'],
    ['DATABASE_POOL_MAX', '0', 'expected a whole number from 1 to 500, got "0"'],
    [
      'DATABASE_POOL_IDLE_TIMEOUT_MS',
      '999',
      'expected a whole number from 1000 to 3600000, got "999"',
    ],
    [
      'DATABASE_CONNECTION_MAX_LIFETIME_MS',
      '-1',
      'expected a whole number from 0 to 86400000, got "-1"',
    ],
    ['DATABASE_CONNECT_TIMEOUT_MS', '99', 'expected a whole number from 100 to 120000, got "99"'],
    ['DATABASE_STATEMENT_TIMEOUT_MS', '5s', 'expected a whole number from 0 to 3600000, got "5s"'],
    ['MIGRATION_CONCURRENCY', '65', 'expected a whole number from 1 to 64, got "65"'],
    ['HEALTH_DB_TIMEOUT_MS', '49', 'expected a whole number from 50 to 60000, got "49"'],
  ])('rejects %s=%s with its own bounds', (name, raw, message) => {
    expect(problemFor(name, { [name]: raw })).toBe(`${name}: ${message}`);
  });

  it('rejects a PUBLIC_URL that is not a URL', () => {
    expect(problemFor('PUBLIC_URL', { PUBLIC_URL: 'app.example.com' })).toBe(
      'PUBLIC_URL: expected an http(s) URL such as "https://app.example.com", got "app.example.com"',
    );
  });

  it('rejects a PUBLIC_URL that is not http(s)', () => {
    expect(problemFor('PUBLIC_URL', { PUBLIC_URL: 'ftp://files.example.com' })).toBe(
      'PUBLIC_URL: expected an http(s) URL, got protocol "ftp:"',
    );
  });

  it('rejects DATABASE_URL=mysql://x naming DATABASE_URL', () => {
    expect(problemFor('DATABASE_URL', { DATABASE_URL: 'mysql://x' })).toBe(
      'DATABASE_URL: expected a URL such as postgres://user:password@host:5432/database',
    );
  });

  it.each([
    'mysql://admin:hunter2-s3cret@db.internal:3306/app',
    'postgres://admin:hunter2-s3cret@/app',
    'admin:hunter2-s3cret@db.internal',
  ])('never echoes the password of a rejected DATABASE_URL (%s)', (url) => {
    let error: unknown;
    try {
      load({ DATABASE_URL: url });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.problems).toEqual([
      'DATABASE_URL: expected a URL such as postgres://user:password@host:5432/database',
    ]);
    expect(configError.message).not.toContain('hunter2');
    expect(inspect(configError)).not.toContain('hunter2');
  });

  it('rejects a JWT_SECRET shorter than 32 characters without echoing it', () => {
    const line = problemFor('JWT_SECRET', { JWT_SECRET: 'short-but-secret-31-characters!' });

    expect(line).toBe('JWT_SECRET: expected at least 32 characters of random data');
    expect(line).not.toContain('short-but-secret');
  });

  it('accepts a JWT_SECRET of exactly 32 characters', () => {
    expect(load({ JWT_SECRET: JWT, DATA_ENCRYPTION_KEYS: KEYS }).secrets.jwtSecret.reveal()).toBe(
      JWT,
    );
  });

  it('rejects malformed DATA_ENCRYPTION_KEYS without echoing the key material', () => {
    const line = problemFor('DATA_ENCRYPTION_KEYS', { DATA_ENCRYPTION_KEYS: KEY_A });

    expect(line).toBe(
      'DATA_ENCRYPTION_KEYS: key 1 must look like "id:base64key" with a 32-byte key (openssl rand -base64 32)',
    );
    expect(line).not.toContain(KEY_A);
  });

  it('rejects DATA_ENCRYPTION_KEYS with a duplicate id', () => {
    expect(
      problemFor('DATA_ENCRYPTION_KEYS', { DATA_ENCRYPTION_KEYS: `k1:${KEY_A},k1:${KEY_B}` }),
    ).toBe('DATA_ENCRYPTION_KEYS: key id "k1" appears twice');
  });

  it('rejects DATA_ENCRYPTION_KEYS whose second key has the wrong length, naming key 2', () => {
    const short = Buffer.alloc(16, 3).toString('base64');

    expect(
      problemFor('DATA_ENCRYPTION_KEYS', { DATA_ENCRYPTION_KEYS: `k1:${KEY_A},k2:${short}` }),
    ).toMatch(/^DATA_ENCRYPTION_KEYS: key 2 must look like "id:base64key" with a 32-byte key/);
  });

  it('reports several problems together, one line per variable', () => {
    const problems = problemsOf({
      PORT: 'abc',
      BODY_LIMIT: '10gb',
      MIGRATE_ON_START: 'maybe',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
      JWT_SECRET: 'short',
    });

    expect(problems.map((line) => line.slice(0, line.indexOf(':'))).sort()).toEqual([
      'BODY_LIMIT',
      'DATABASE_URL',
      'JWT_SECRET',
      'LOG_LEVEL',
      'MIGRATE_ON_START',
      'PORT',
    ]);
  });

  it('puts every problem line into the error message', () => {
    let error: unknown;
    try {
      load({ PORT: 'abc', LOG_LEVEL: 'loud' });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    const { message, problems, name } = error as ConfigError;
    expect(name).toBe('ConfigError');
    expect(message.startsWith('Invalid configuration:\n')).toBe(true);
    for (const line of problems) expect(message).toContain(`  ${line}`);
  });

  it('writes no secrets file when the configuration is invalid', () => {
    problemsOf({ PORT: 'abc' });

    expect(existsSync(secretsFile())).toBe(false);
  });
});

describe('loadConfig in production', () => {
  const DB = 'postgres://app:pw@db.internal:5432/groundwork';

  /** Everything production needs, so a test can leave out exactly one thing. */
  const PRODUCTION = {
    NODE_ENV: 'production',
    DATABASE_URL: DB,
    ...ALL_SECRETS,
    STRIPE_SECRET_KEY: STRIPE_KEY,
  };
  const without = (...names: (keyof typeof PRODUCTION)[]): NodeJS.ProcessEnv => {
    const env: NodeJS.ProcessEnv = { ...PRODUCTION };
    for (const name of names) delete env[name];
    return env;
  };

  it('requires DATABASE_URL, every secret and a Stripe key, naming each', () => {
    expect(problemsOf({ NODE_ENV: 'production' })).toEqual([
      'DATABASE_URL: is required in production',
      'JWT_SECRET: is required in production (no secret is generated there)',
      'DATA_ENCRYPTION_KEYS: is required in production (no secret is generated there)',
      'STRIPE_WEBHOOK_SECRET: is required in production (no secret is generated there)',
      'STRIPE_SECRET_KEY: is required in production (or set BILLING_GATEWAY=simulated for a demo)',
    ]);
    expect(existsSync(secretsFile())).toBe(false);
  });

  it.each(['JWT_SECRET', 'DATA_ENCRYPTION_KEYS', 'STRIPE_WEBHOOK_SECRET'] as const)(
    'names only the secret that is missing (%s)',
    (name) => {
      expect(problemsOf(without(name))).toEqual([
        `${name}: is required in production (no secret is generated there)`,
      ]);
      expect(existsSync(secretsFile())).toBe(false);
    },
  );

  it('uses the given secrets and writes no secrets file', () => {
    const config = load({ ...PRODUCTION, DATA_ENCRYPTION_KEYS: `k2:${KEY_B},k1:${KEY_A}` });

    expect(config.env).toBe('production');
    expect(config.secrets.jwtSecret.reveal()).toBe(JWT);
    expect(config.secrets.dataEncryptionKeys.map((k) => k.id)).toEqual(['k2', 'k1']);
    expect(config.secrets.dataEncryptionKeys[0].key.reveal()).toBe(KEY_B);
    expect(config.billing.webhookSecret.reveal()).toBe(WHSEC);
    expect(config.billing.stripe.secretKey?.reveal()).toBe(STRIPE_KEY);
    expect(existsSync(secretsFile())).toBe(false);
  });

  it('needs no embedded database: only DATABASE_URL is missing when the secrets are given', () => {
    expect(problemsOf(without('DATABASE_URL'))).toEqual([
      'DATABASE_URL: is required in production',
    ]);
  });

  it('refuses to run without STRIPE_SECRET_KEY, so payments cannot silently be simulated', () => {
    expect(problemsOf(without('STRIPE_SECRET_KEY'))).toEqual([
      'STRIPE_SECRET_KEY: is required in production (or set BILLING_GATEWAY=simulated for a demo)',
    ]);
  });

  it('runs without STRIPE_SECRET_KEY when BILLING_GATEWAY=simulated says so explicitly', () => {
    const config = load({ ...without('STRIPE_SECRET_KEY'), BILLING_GATEWAY: 'simulated' });

    expect(config.billing.gateway).toBe('simulated');
    expect(config.billing.stripe.secretKey).toBeUndefined();
    expect(config.billing.testClocks).toBe(false);
  });

  it('still needs the webhook secret with the simulated gateway (it signs its events)', () => {
    const env = { ...without('STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET') };

    expect(problemsOf({ ...env, BILLING_GATEWAY: 'simulated' })).toEqual([
      'STRIPE_WEBHOOK_SECRET: is required in production (no secret is generated there)',
    ]);
  });

  it('reports BILLING_GATEWAY=stripe without a key once, on STRIPE_SECRET_KEY', () => {
    expect(problemsOf({ ...without('STRIPE_SECRET_KEY'), BILLING_GATEWAY: 'stripe' })).toEqual([
      'STRIPE_SECRET_KEY: is required when BILLING_GATEWAY is stripe',
    ]);
  });

  it('uses Stripe when the key is given, with test clocks off', () => {
    const config = load(PRODUCTION);

    expect(config.billing.gateway).toBe('stripe');
    expect(config.billing.testClocks).toBe(false);
  });
});

describe('loadConfig secrets outside production', () => {
  it('generates missing secrets into <DATA_DIR>/secrets.json with mode 0600', () => {
    const config = load({ NODE_ENV: 'development' });

    expect(statSync(secretsFile()).mode & 0o777).toBe(0o600);
    const stored = readSecretsFile();
    expect(Object.keys(stored).sort()).toEqual([
      'DATA_ENCRYPTION_KEYS',
      'JWT_SECRET',
      'STRIPE_WEBHOOK_SECRET',
    ]);
    expect(config.secrets.jwtSecret.reveal()).toBe(stored.JWT_SECRET);
    expect(stored.JWT_SECRET.length).toBeGreaterThanOrEqual(32);
    expect(config.secrets.dataEncryptionKeys).toHaveLength(1);
    const [key] = config.secrets.dataEncryptionKeys;
    expect(`${key.id}:${key.key.reveal()}`).toBe(stored.DATA_ENCRYPTION_KEYS);
    expect(Buffer.from(key.key.reveal(), 'base64')).toHaveLength(32);
    expect(config.billing.webhookSecret.reveal()).toBe(stored.STRIPE_WEBHOOK_SECRET);
  });

  it('generates a webhook secret the STRIPE_WEBHOOK_SECRET rule itself accepts', () => {
    load();
    const generated = readSecretsFile().STRIPE_WEBHOOK_SECRET;

    expect(generated).toMatch(/^whsec_/);
    expect(load({ STRIPE_WEBHOOK_SECRET: generated }).billing.webhookSecret.reveal()).toBe(
      generated,
    );
  });

  it('returns the same secrets on a second load', () => {
    const first = load();
    const second = load();

    expect(second.secrets.jwtSecret.reveal()).toBe(first.secrets.jwtSecret.reveal());
    expect(second.secrets.dataEncryptionKeys.map((k) => [k.id, k.key.reveal()])).toEqual(
      first.secrets.dataEncryptionKeys.map((k) => [k.id, k.key.reveal()]),
    );
    expect(second.billing.webhookSecret.reveal()).toBe(first.billing.webhookSecret.reveal());
  });

  it('generates different secrets for different data folders', () => {
    const other = mkdtempSync(join(tmpdir(), 'groundwork-config-'));
    try {
      const a = load();
      const b = loadConfig({ DATA_DIR: other });

      expect(b.secrets.jwtSecret.reveal()).not.toBe(a.secrets.jwtSecret.reveal());
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('also generates secrets when NODE_ENV=test', () => {
    const config = load({ NODE_ENV: 'test' });

    expect(config.secrets.jwtSecret.reveal()).toBe(readSecretsFile().JWT_SECRET);
  });

  it('creates a DATA_DIR that does not exist yet', () => {
    const nested = join(dataDir, 'deep', 'er');
    const config = loadConfig({ DATA_DIR: nested });

    expect(config.dataDir).toBe(nested);
    expect(existsSync(join(nested, 'secrets.json'))).toBe(true);
  });

  it('does not write a provided JWT_SECRET to the file', () => {
    const config = load({ JWT_SECRET: JWT });

    expect(config.secrets.jwtSecret.reveal()).toBe(JWT);
    expect(Object.keys(readSecretsFile()).sort()).toEqual([
      'DATA_ENCRYPTION_KEYS',
      'STRIPE_WEBHOOK_SECRET',
    ]);
    expect(readFileSync(secretsFile(), 'utf8')).not.toContain(JWT);
  });

  it('does not write provided DATA_ENCRYPTION_KEYS to the file', () => {
    const config = load({ DATA_ENCRYPTION_KEYS: KEYS });

    expect(config.secrets.dataEncryptionKeys[0].key.reveal()).toBe(KEY_A);
    expect(Object.keys(readSecretsFile()).sort()).toEqual(['JWT_SECRET', 'STRIPE_WEBHOOK_SECRET']);
    expect(readFileSync(secretsFile(), 'utf8')).not.toContain(KEY_A);
  });

  it('does not write a provided STRIPE_WEBHOOK_SECRET to the file', () => {
    const config = load({ STRIPE_WEBHOOK_SECRET: WHSEC });

    expect(config.billing.webhookSecret.reveal()).toBe(WHSEC);
    expect(Object.keys(readSecretsFile()).sort()).toEqual(['DATA_ENCRYPTION_KEYS', 'JWT_SECRET']);
    expect(readFileSync(secretsFile(), 'utf8')).not.toContain(WHSEC);
  });

  it('writes no file at all when every secret is provided', () => {
    load(ALL_SECRETS);

    expect(existsSync(secretsFile())).toBe(false);
  });

  it('prefers a provided secret over a previously generated one', () => {
    const generated = load().secrets.jwtSecret.reveal();
    const config = load({ JWT_SECRET: JWT });

    expect(generated).not.toBe(JWT);
    expect(config.secrets.jwtSecret.reveal()).toBe(JWT);
    expect(readSecretsFile().JWT_SECRET).toBe(generated);
  });

  it('adds a newly missing secret to an existing file and keeps the one already there', () => {
    load({ DATA_ENCRYPTION_KEYS: KEYS });
    const jwt = readSecretsFile().JWT_SECRET;

    const config = load();

    expect(config.secrets.jwtSecret.reveal()).toBe(jwt);
    expect(Object.keys(readSecretsFile()).sort()).toEqual([
      'DATA_ENCRYPTION_KEYS',
      'JWT_SECRET',
      'STRIPE_WEBHOOK_SECRET',
    ]);
  });

  it('refuses to start when the secrets file is unreadable rather than regenerating', () => {
    writeFileSync(secretsFile(), 'not json');

    expect(() => load()).toThrow(/secrets\.json: cannot read the generated development secrets/);
    expect(readFileSync(secretsFile(), 'utf8')).toBe('not json');
  });

  it('never shows a secret when the whole configuration is logged', () => {
    const config = load({
      DATABASE_URL: 'postgres://app:db-pa55word@db:5432/app',
      STRIPE_SECRET_KEY: STRIPE_KEY,
    });
    const jwt = config.secrets.jwtSecret.reveal();
    const key = config.secrets.dataEncryptionKeys[0].key.reveal();
    const webhook = config.billing.webhookSecret.reveal();

    for (const dump of [JSON.stringify(config), inspect(config, { depth: 10 })]) {
      expect(dump).not.toContain(jwt);
      expect(dump).not.toContain(key);
      expect(dump).not.toContain(webhook);
      expect(dump).not.toContain(STRIPE_KEY);
      expect(dump).not.toContain('db-pa55word');
      expect(dump).toContain('[secret]');
    }
  });
});

describe('loadConfig billing', () => {
  it('defaults to the simulated gateway without STRIPE_SECRET_KEY, with test clocks', () => {
    const { billing } = load(ALL_SECRETS);

    expect(billing.gateway).toBe('simulated');
    expect(billing.stripe).toEqual({ secretKey: undefined, apiUrl: undefined });
    expect(billing.testClocks).toBe(true);
  });

  it('chooses Stripe when STRIPE_SECRET_KEY is set, keeping the key as a Secret', () => {
    const { billing } = load({ ...ALL_SECRETS, STRIPE_SECRET_KEY: STRIPE_KEY });

    expect(billing.gateway).toBe('stripe');
    expect(billing.stripe.secretKey?.reveal()).toBe(STRIPE_KEY);
    expect(String(billing.stripe.secretKey)).toBe('[secret]');
  });

  it('lets BILLING_GATEWAY=simulated win over a configured key', () => {
    const { billing } = load({
      ...ALL_SECRETS,
      STRIPE_SECRET_KEY: STRIPE_KEY,
      BILLING_GATEWAY: 'simulated',
    });

    expect(billing.gateway).toBe('simulated');
  });

  it('refuses BILLING_GATEWAY=stripe without a key, and writes no secrets file', () => {
    expect(problemsOf({ BILLING_GATEWAY: 'stripe' })).toEqual([
      'STRIPE_SECRET_KEY: is required when BILLING_GATEWAY is stripe',
    ]);
    expect(existsSync(secretsFile())).toBe(false);
  });

  it('rejects an unknown BILLING_GATEWAY naming it', () => {
    expect(problemFor('BILLING_GATEWAY', { BILLING_GATEWAY: 'paypal' })).toContain('"paypal"');
  });

  it.each([
    `sk_test_${'a1'.repeat(12)}`,
    `sk_live_${'B2'.repeat(12)}`,
    `rk_test_${'c3'.repeat(12)}`,
    `rk_live_${'D4'.repeat(12)}`,
  ])('accepts the Stripe key %s', (key) => {
    expect(
      load({ ...ALL_SECRETS, STRIPE_SECRET_KEY: key }).billing.stripe.secretKey?.reveal(),
    ).toBe(key);
  });

  it('trims whitespace around STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET', () => {
    const { billing } = load({
      ...ALL_SECRETS,
      STRIPE_SECRET_KEY: ` ${STRIPE_KEY}\n`,
      STRIPE_WEBHOOK_SECRET: ` ${WHSEC} `,
    });

    expect(billing.stripe.secretKey?.reveal()).toBe(STRIPE_KEY);
    expect(billing.webhookSecret.reveal()).toBe(WHSEC);
  });

  it.each([
    ['a publishable key', 'pk_live_hunter2Secret42'],
    ['a webhook secret', 'whsec_hunter2Secret42hunter2'],
    ['an unknown environment', 'sk_prod_hunter2Secret42'],
    ['no key material', 'sk_live_'],
    ['a space inside', 'sk_live_hunter2 Secret42'],
    ['a bare password', 'hunter2Secret42'],
  ])('rejects %s as STRIPE_SECRET_KEY without echoing it', (_label, key) => {
    const line = problemFor('STRIPE_SECRET_KEY', { STRIPE_SECRET_KEY: key });

    expect(line).toBe(
      'STRIPE_SECRET_KEY: expected a Stripe secret or restricted key (sk_live_…, sk_test_…, rk_…)',
    );
    expect(line).not.toContain('hunter2');
  });

  it.each([
    ['no prefix', 'hunter2Secret42hunter2Secret42'],
    ['a Stripe API key', 'sk_live_hunter2Secret42hunter2'],
    ['15 characters after the prefix', 'whsec_hunter2Secret42'],
    ['a space inside', 'whsec_hunter2Secret42 hunter2Secret42'],
  ])('rejects %s as STRIPE_WEBHOOK_SECRET without echoing it', (_label, secret) => {
    let error: unknown;
    try {
      load({ STRIPE_WEBHOOK_SECRET: secret });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.problems).toEqual([
      'STRIPE_WEBHOOK_SECRET: expected the endpoint signing secret Stripe shows (whsec_…)',
    ]);
    expect(configError.message).not.toContain('hunter2');
    expect(inspect(configError)).not.toContain('hunter2');
  });

  it('accepts a webhook secret of 16 characters after the prefix', () => {
    const secret = `whsec_${'x'.repeat(16)}`;

    expect(load({ STRIPE_WEBHOOK_SECRET: secret }).billing.webhookSecret.reveal()).toBe(secret);
  });

  it('reads STRIPE_API_URL without its trailing slash (stripe-mock, a local test server)', () => {
    const { billing } = load({ ...ALL_SECRETS, STRIPE_API_URL: 'http://localhost:12111/' });

    expect(billing.stripe.apiUrl).toBe('http://localhost:12111');
  });

  it('rejects a STRIPE_API_URL that is not http(s)', () => {
    expect(problemFor('STRIPE_API_URL', { STRIPE_API_URL: 'localhost:12111' })).toMatch(
      /^STRIPE_API_URL: expected an http\(s\) URL/,
    );
  });

  it.each(['*/5 * * * *', '0 3 * * 1-5', '15 2 1 * *', '  0 * * * *  '])(
    'accepts BILLING_RUN_CRON=%j',
    (cron) => {
      expect(load({ ...ALL_SECRETS, BILLING_RUN_CRON: cron }).billing.runCron).toBe(cron.trim());
    },
  );

  it.each(['hourly', '* * * *', '* * * * * *', '*/5'])(
    'rejects BILLING_RUN_CRON=%j naming the variable and the value',
    (cron) => {
      expect(problemFor('BILLING_RUN_CRON', { BILLING_RUN_CRON: cron })).toBe(
        `BILLING_RUN_CRON: expected a five-field cron expression such as "*/5 * * * *", got "${cron}"`,
      );
    },
  );
});

describe('parseEncryptionKeys', () => {
  it('parses one key into its id and a Secret holding the base64 material', () => {
    const keys = parseEncryptionKeys(`k1:${KEY_A}`);

    expect(keys).toHaveLength(1);
    expect(keys[0].id).toBe('k1');
    expect(keys[0].key.reveal()).toBe(KEY_A);
    expect(String(keys[0].key)).toBe('[secret]');
  });

  it('keeps the order of the ring, so the first key stays the active one', () => {
    const keys = parseEncryptionKeys(`new:${KEY_B},old:${KEY_A}`);

    expect(keys.map((k) => k.id)).toEqual(['new', 'old']);
    expect(keys.map((k) => k.key.reveal())).toEqual([KEY_B, KEY_A]);
  });

  it('ignores whitespace around entries and empty entries', () => {
    const keys = parseEncryptionKeys(` k1:${KEY_A} , ,k2:${KEY_B},`);

    expect(keys.map((k) => k.id)).toEqual(['k1', 'k2']);
  });

  it('accepts ids of 1 to 32 letters, digits, underscores and hyphens', () => {
    const id = `A_b-9${'x'.repeat(27)}`;

    expect(parseEncryptionKeys(`${id}:${KEY_A}`)[0].id).toBe(id);
    expect(parseEncryptionKeys(`k:${KEY_A}`)[0].id).toBe('k');
  });

  it.each(['', ' ', ',', ' , , '])('rejects %j as holding no key', (raw) => {
    expect(() => parseEncryptionKeys(raw)).toThrow(
      new EnvError('expected at least one key as "id:base64key"'),
    );
  });

  it.each([
    ['a key without an id', KEY_A],
    ['an empty id', `:${KEY_A}`],
    ['an id with a dot', `k.1:${KEY_A}`],
    ['an id with a space', `k 1:${KEY_A}`],
    ['an id of 33 characters', `${'k'.repeat(33)}:${KEY_A}`],
    ['an id without key material', 'k1:'],
    ['an id alone', 'k1'],
    ['an extra colon part', `k1:${KEY_A}:extra`],
    ['a 16-byte key', `k1:${Buffer.alloc(16).toString('base64')}`],
    ['a 31-byte key', `k1:${Buffer.alloc(31).toString('base64')}`],
    ['a 33-byte key', `k1:${Buffer.alloc(33).toString('base64')}`],
  ])('rejects %s', (_label, raw) => {
    expect(() => parseEncryptionKeys(raw)).toThrow(EnvError);
    expect(() => parseEncryptionKeys(raw)).toThrow(
      'key 1 must look like "id:base64key" with a 32-byte key (openssl rand -base64 32)',
    );
  });

  it('numbers the offending key from 1 in the message', () => {
    expect(() => parseEncryptionKeys(`k1:${KEY_A},k2:${KEY_B},k3:tooshort`)).toThrow(
      /^key 3 must look like/,
    );
  });

  it('rejects an id that appears twice', () => {
    expect(() => parseEncryptionKeys(`k1:${KEY_A},k2:${KEY_B},k1:${KEY_B}`)).toThrow(
      new EnvError('key id "k1" appears twice'),
    );
  });

  it('never puts key material into an error message', () => {
    const short = Buffer.alloc(20, 7).toString('base64');
    let message = '';
    try {
      parseEncryptionKeys(`k1:${short}`);
    } catch (error) {
      message = (error as Error).message;
    }

    expect(message).not.toBe('');
    expect(message).not.toContain(short);
  });
});

describe('loadConfig metrics', () => {
  const TOKEN = 'm'.repeat(16);

  it('serves no metrics by default: no token, no separate port', () => {
    expect(load(ALL_SECRETS).metrics).toEqual({ token: undefined, port: undefined });
  });

  it('reads METRICS_TOKEN as a Secret that is never shown', () => {
    const config = load({ ...ALL_SECRETS, METRICS_TOKEN: TOKEN, METRICS_PORT: '9464' });

    expect(config.metrics.token?.reveal()).toBe(TOKEN);
    expect(config.metrics.port).toBe(9464);
    expect(inspect(config, { depth: 10 })).not.toContain(TOKEN);
    expect(JSON.stringify(config)).not.toContain(TOKEN);
  });

  it.each([
    ['shorter than 16 characters', 'm'.repeat(15)],
    ['with a space', `${'m'.repeat(10)} ${'m'.repeat(10)}`],
  ])('rejects a METRICS_TOKEN %s without echoing it', (_label, raw) => {
    const line = problemFor('METRICS_TOKEN', { ...ALL_SECRETS, METRICS_TOKEN: raw });

    expect(line).toBe('METRICS_TOKEN: expected at least 16 characters of random data, no spaces');
    expect(line).not.toContain('mmmmmmmmmm');
  });

  it.each(['0', '65536', 'metrics', '9464.5'])('rejects METRICS_PORT=%j', (raw) => {
    expect(problemFor('METRICS_PORT', { ...ALL_SECRETS, METRICS_PORT: raw })).toBe(
      `METRICS_PORT: expected a whole number from 1 to 65535, got "${raw}"`,
    );
  });

  it('refuses METRICS_PORT equal to PORT: the API and the metrics cannot share a socket', () => {
    expect(problemFor('METRICS_PORT', { ...ALL_SECRETS, PORT: '8080', METRICS_PORT: '8080' })).toBe(
      'METRICS_PORT: must differ from PORT (8080), or be unset',
    );
  });

  it('refuses METRICS_PORT equal to the default PORT when PORT is unset', () => {
    expect(problemFor('METRICS_PORT', { ...ALL_SECRETS, METRICS_PORT: '3000' })).toBe(
      'METRICS_PORT: must differ from PORT (3000), or be unset',
    );
  });

  it('accepts METRICS_PORT beside another PORT', () => {
    expect(load({ ...ALL_SECRETS, PORT: '8080', METRICS_PORT: '9464' }).metrics.port).toBe(9464);
  });
});

describe('loadConfig CORS_ORIGINS', () => {
  it('allows no cross-origin caller when unset', () => {
    expect(load(ALL_SECRETS).http.corsOrigins).toEqual([]);
  });

  it('reads exact origins, trimmed, lower-cased, without a trailing slash or duplicates', () => {
    const origins = load({
      ...ALL_SECRETS,
      CORS_ORIGINS: ' https://App.Example.com/ , http://localhost:5173,https://app.example.com',
    }).http.corsOrigins;
    expect(origins).toEqual(['https://app.example.com', 'http://localhost:5173']);
  });

  it.each([
    ['*', 'wildcards are not allowed'],
    ['https://*.example.com', 'wildcards are not allowed'],
    ['app.example.com', 'is not an http(s) origin'],
    ['ftp://files.example.com', 'is not an http(s) origin'],
    ['null', 'is not an http(s) origin'],
    ['https://app.example.com/login', 'did you mean "https://app.example.com"'],
    ['https://app.example.com:443', 'did you mean "https://app.example.com"'],
    ['https://user@app.example.com', 'did you mean "https://app.example.com"'],
    [' , ', 'expected origins such as'],
  ])('refuses CORS_ORIGINS=%j at load, saying why', (raw, why) => {
    const line = problemFor('CORS_ORIGINS', { ...ALL_SECRETS, CORS_ORIGINS: raw });
    expect(line).toContain(why);
  });

  it('names the offending entry among good ones', () => {
    expect(
      problemFor('CORS_ORIGINS', {
        ...ALL_SECRETS,
        CORS_ORIGINS: 'https://a.example.com,https://b.example.com/x',
      }),
    ).toContain('"https://b.example.com/x"');
  });
});

describe('loadConfig rate limits', () => {
  it('reads each budget, 0 turning it off', () => {
    expect(
      load({
        ...ALL_SECRETS,
        RATE_LIMIT_IP_PER_MINUTE: '0',
        RATE_LIMIT_USER_PER_MINUTE: '30',
        RATE_LIMIT_TENANT_PER_MINUTE: '100000',
      }).rateLimits,
    ).toEqual({ ipPerMinute: 0, userPerMinute: 30, tenantPerMinute: 100000 });
  });

  it.each([
    'RATE_LIMIT_IP_PER_MINUTE',
    'RATE_LIMIT_USER_PER_MINUTE',
    'RATE_LIMIT_TENANT_PER_MINUTE',
  ])('refuses a negative or fractional %s', (name) => {
    expect(problemFor(name, { ...ALL_SECRETS, [name]: '-1' })).toBe(
      `${name}: expected a whole number from 0 to 1000000, got "-1"`,
    );
    expect(problemFor(name, { ...ALL_SECRETS, [name]: '2.5' })).toContain('whole number');
  });
});

describe('loadConfig refuses weak secrets in production', () => {
  const PRODUCTION = {
    NODE_ENV: 'production',
    DATABASE_URL: 'postgres://app:pw@db.internal:5432/groundwork',
    ...ALL_SECRETS,
    STRIPE_SECRET_KEY: STRIPE_KEY,
  };

  it('accepts random-looking secrets and a random METRICS_TOKEN', () => {
    expect(load({ ...PRODUCTION, METRICS_TOKEN: '9f2c41d7a08be356' }).metrics.token).toBeDefined();
  });

  it.each([
    ['JWT_SECRET', 'a'.repeat(40), 'distinct characters'],
    ['JWT_SECRET', 'abcabcabcabcabcabcabcabcabcabcab', 'distinct characters'],
    ['JWT_SECRET', 'our-production-jwt-secret-2026!!', 'placeholder'],
    ['JWT_SECRET', 'please-change-me-before-going-live', 'placeholder'],
    ['METRICS_TOKEN', '1111111111111111', 'distinct characters'],
    ['METRICS_TOKEN', 'prometheus-password', 'placeholder'],
    ['STRIPE_WEBHOOK_SECRET', `whsec_${'0'.repeat(32)}`, 'distinct characters'],
    ['STRIPE_WEBHOOK_SECRET', 'whsec_example_example_example', 'placeholder'],
  ])('refuses %s=%j, naming why but not the value', (name, value, why) => {
    const line = problemFor(name, { ...PRODUCTION, [name]: value });
    expect(line).toContain(why);
    expect(line).not.toContain(value);
  });

  it('lets development keep convenient secrets (only production refuses them)', () => {
    expect(() => load({ ...ALL_SECRETS, JWT_SECRET: 'x'.repeat(32) })).not.toThrow();
  });
});

describe('loadConfig cache invalidation channel', () => {
  it('uses Redis when REDIS_URL is set and PostgreSQL otherwise, a minute of cache life by default', () => {
    expect(load(ALL_SECRETS).caches).toEqual({ ttlMs: 60_000, channel: 'postgres' });
    expect(load({ ...ALL_SECRETS, REDIS_URL: 'redis://cache:6379' }).caches.channel).toBe('redis');
  });

  it('takes an explicit channel, none included, and the lifetime', () => {
    const none = load({ ...ALL_SECRETS, CACHE_CHANNEL: 'none', CACHE_TTL_MS: '120000' });
    expect(none.caches).toEqual({ ttlMs: 120_000, channel: 'none' });
    const pg = load({ ...ALL_SECRETS, CACHE_CHANNEL: 'postgres', REDIS_URL: 'redis://cache:6379' });
    expect(pg.caches.channel).toBe('postgres');
  });

  it('refuses the Redis channel without REDIS_URL, and unknown channels', () => {
    expect(() => load({ ...ALL_SECRETS, CACHE_CHANNEL: 'redis' })).toThrow(
      /CACHE_CHANNEL: is redis, but REDIS_URL is not set/,
    );
    expect(() => load({ ...ALL_SECRETS, CACHE_CHANNEL: 'kafka' })).toThrow(/CACHE_CHANNEL/);
    expect(() => load({ ...ALL_SECRETS, CACHE_TTL_MS: '10' })).toThrow(/CACHE_TTL_MS/);
  });
});
