import { parseArgs } from 'node:util';
import { SingleBar } from 'cli-progress';
import { createApp } from '../app.factory';
import { AppConfig } from '../config/app-config';
import { DatabaseServer, openDatabaseServer, withDatabaseUrl } from '../database/database-server';
import { migrateOnStart } from '../lifecycle';
import {
  contentOf,
  dropWorld,
  DemoMarker,
  pauseSchedules,
  readMarker,
  resumeSchedules,
  withClient,
  writeMarker,
} from './demo-database';
import { DemoGenerator, DemoSummary } from './demo-generator';
import { buildDemoWorld, DEMO_DEFAULTS, DEMO_LIMITS, DemoLogin, DemoOptions } from './demo-world';

export const DEMO_DATA_DIR = '.data/demo';

export const FLAGS_HELP = `Options:
  --seed <text>               the world's seed: the same seed, the same world (default "${DEMO_DEFAULTS.seed}")
  --tenants <n>               organisations, ${DEMO_LIMITS.tenants[0]} to ${DEMO_LIMITS.tenants[1]} (default ${DEMO_DEFAULTS.tenants})
  --tickets-per-tenant <n>    support tickets per organisation (default ${DEMO_DEFAULTS.ticketsPerTenant})
  --months <n>                history simulated through the billing engine, ${DEMO_LIMITS.months[0]} to ${DEMO_LIMITS.months[1]} (default ${DEMO_DEFAULTS.months})
  --verbose                   list the requests the app refused (e.g. writes by the suspended organisation)
  --help                      this text

Without DATABASE_URL the demo has an embedded PostgreSQL of its own under
${DEMO_DATA_DIR} (DATA_DIR overrides it), never the one of \`npm start\` (.data).`;

export interface DemoArgs {
  help: boolean;
  verbose: boolean;
  force: boolean;
  /** Only the flags given; the rest come from the marker (reset) or the defaults. */
  given: Partial<Omit<DemoOptions, 'until'>>;
}

function whole(name: string, raw: string | undefined, [min, max]: readonly [number, number]) {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

export class UsageError extends Error {}

export function parseDemoArgs(argv: string[]): DemoArgs {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        seed: { type: 'string' },
        tenants: { type: 'string' },
        'tickets-per-tenant': { type: 'string' },
        months: { type: 'string' },
        verbose: { type: 'boolean' },
        force: { type: 'boolean' },
        help: { type: 'boolean' },
      },
    }));
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  if (values.seed !== undefined && !values.seed.trim()) throw new UsageError('--seed is empty');
  const given: DemoArgs['given'] = {};
  if (values.seed !== undefined) given.seed = values.seed;
  const tenants = whole('tenants', values.tenants, DEMO_LIMITS.tenants);
  if (tenants !== undefined) given.tenants = tenants;
  const tickets = whole(
    'tickets-per-tenant',
    values['tickets-per-tenant'],
    DEMO_LIMITS.ticketsPerTenant,
  );
  if (tickets !== undefined) given.ticketsPerTenant = tickets;
  const months = whole('months', values.months, DEMO_LIMITS.months);
  if (months !== undefined) given.months = months;
  return { help: !!values.help, verbose: !!values.verbose, force: !!values.force, given };
}

/** The demo's data folder, unless the caller chose one (or a database server). */
export function useDemoDataDir(env: NodeJS.ProcessEnv = process.env): void {
  if (!env.DATABASE_URL && !env.DATA_DIR) env.DATA_DIR = DEMO_DATA_DIR;
}

/** The configuration the generating app runs with: quiet, no delivery, no workers, no limits. */
export function generationConfig(config: AppConfig, url: string, verbose: boolean): AppConfig {
  const withUrl = withDatabaseUrl(config, url);
  return {
    ...withUrl,
    log: { level: verbose ? config.log.level : 'error' },
    database: { ...withUrl.database, statementTimeoutMs: 0 },
    // The history is written, not lived: no mail goes out, no worker picks up jobs, and
    // the API's per-minute budgets would only slow a simulation that sends thousands.
    mail: { ...config.mail, deliver: false },
    jobs: { work: false },
    rateLimits: { ipPerMinute: 0, userPerMinute: 0, tenantPerMinute: 0 },
    // Tickets are assigned by the world itself, deterministically.
    support: { ...config.support, autoAssign: 'off' },
    http: { ...config.http, shutdownDelayMs: 0 },
  };
}

export interface GenerateResult {
  options: DemoOptions;
  logins: DemoLogin[];
  /** Null when the world was already there. */
  summary: DemoSummary | null;
  marker: DemoMarker | null;
}

/**
 * Opens the database, and: with `reset`, drops the demo world first; then,
 * unless a world is already there, generates one. Refuses a database holding
 * data the demo did not make (unless `force`, for `demo:reset`).
 */
export async function prepareWorld(
  config: AppConfig,
  args: DemoArgs,
  mode: 'ensure' | 'reset',
): Promise<GenerateResult> {
  const database: DatabaseServer = await openDatabaseServer(config);
  try {
    const existing = await withClient(database.url, async (client) => {
      const marker = await readMarker(client);
      const content = await contentOf(client);
      if (
        !marker &&
        (content.tenants > 0 || content.users > 0) &&
        !(mode === 'reset' && args.force)
      ) {
        throw new UsageError(
          `This database holds ${content.tenants} organisation(s) and ${content.users} user(s) that the demo did not generate: ` +
            `the demo never touches them. Point DATA_DIR or DATABASE_URL at a database of its own` +
            (mode === 'reset' ? ', or pass --force to drop everything in it.' : '.'),
        );
      }
      return marker;
    });
    if (existing?.summary && mode === 'ensure') {
      const options = existing.options;
      const differs = Object.entries(args.given).some(
        ([key, value]) => existing.options[key as keyof DemoOptions] !== value,
      );
      if (differs) {
        process.stderr.write(
          'A demo world exists already (flags apply to a new one: run npm run demo:reset -- <flags>).\n',
        );
      }
      const world = buildDemoWorld(existing.options);
      return { options, logins: world.logins, summary: null, marker: existing };
    }
    const options: DemoOptions = {
      ...DEMO_DEFAULTS,
      // A reset keeps the world it replaces, unless told otherwise.
      ...(existing ? existing.options : {}),
      ...args.given,
      until: new Date(Math.floor(Date.now() / 60_000) * 60_000),
    };
    // Servers sharing this database (the demo overlay's API) must not run their crons on
    // a history being written: the crons are paused until it is done.
    await withClient(database.url, pauseSchedules);
    try {
      // An unfinished world (a generation that failed or was stopped) is made again.
      if (mode === 'reset' || existing) {
        const dropped = await withClient(database.url, dropWorld);
        process.stderr.write(`Dropped the demo world (${dropped} organisation schema(s)).\n`);
      }
      const summary = await generate(config, database.url, options, args.verbose);
      return { options, logins: buildDemoWorld(options).logins, summary, marker: null };
    } finally {
      await withClient(database.url, resumeSchedules);
    }
  } finally {
    await database.stop();
  }
}

/** Generates `options`' world into the (empty) database at `url`, with a progress bar. */
export async function generate(
  config: AppConfig,
  url: string,
  options: DemoOptions,
  verbose: boolean,
  output: NodeJS.WritableStream = process.stderr,
): Promise<DemoSummary> {
  const settings = generationConfig(config, url, verbose);
  const app = await createApp(settings);
  try {
    await migrateOnStart(app, settings);
    await withClient(url, (client) => writeMarker(client, options, null));
    const world = buildDemoWorld(options);
    output.write(
      `Generating the demo world "${options.seed}": ${options.tenants} organisations, ` +
        `${options.ticketsPerTenant} tickets each, ${options.months} months of history…\n`,
    );
    const bar = new SingleBar({
      format: '  {bar} {percentage}% | {value}/{total} | {phase}',
      stream: output,
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
      // Without a terminal (a CronJob's log), a line every 15 seconds instead of a redrawn bar.
      noTTYOutput: true,
      notTTYSchedule: 15_000,
    });
    bar.start(1, 0, { phase: 'people' });
    const summary = await new DemoGenerator(app, world, {
      onProgress: (done, total, phase) => {
        bar.setTotal(total);
        bar.update(done, { phase: phase.padEnd(28).slice(0, 28) });
      },
    })
      .run()
      .finally(() => bar.stop());
    await withClient(url, (client) => writeMarker(client, options, summary));
    if (verbose && summary.refusals.length > 0) {
      output.write(
        `Refused by the app (as the story expects):\n  ${summary.refusals.join('\n  ')}\n`,
      );
    }
    return summary;
  } finally {
    await app.close();
  }
}

/** What the world holds, then the logins, as a table on stdout. */
export function describeWorld(result: GenerateResult, publicUrl: string): string {
  const lines: string[] = [];
  const summary = result.summary ?? result.marker?.summary;
  if (summary) {
    lines.push(
      `Demo world "${result.options.seed}": ${summary.tenants} organisations, ${summary.users} people, ` +
        `${summary.tickets} tickets, ${summary.kbArticles} knowledge-base articles in ${summary.kbCategories} categories; ` +
        `${summary.renewals} renewals, ${summary.retries} payment retries, ${summary.dunningSteps} dunning steps; ` +
        `${summary.feedback} feedback answers, ${summary.betaCohorts} beta cohort with ${summary.featureFlags} feature flags` +
        (result.summary ? ` (generated in ${(summary.ms / 1000).toFixed(1)} s)` : ''),
    );
  }
  const rows = [
    ['who', 'email', 'password'],
    ...result.logins.map((l) => [l.role, l.email, l.password]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => `  ${r.map((cell, i) => cell.padEnd(widths[i])).join('  ')}`;
  lines.push('', `Demo logins (POST ${publicUrl}/v1/auth/login):`, line(rows[0]));
  lines.push(`  ${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const row of rows.slice(1)) lines.push(line(row));
  lines.push('', `API docs: ${publicUrl}/docs`);
  return `${lines.join('\n')}\n`;
}
