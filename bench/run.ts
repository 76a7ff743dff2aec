/**
 * `npm run bench`: the performance and scale suite, each figure beside a
 * baseline measured in the same run on the same machine (absolute times on a
 * shared machine drift) and beside its target. Not part of `npm test`.
 *
 *   --tenants <n>      tenants in the HTTP data set (default 1000)
 *   --articles <n>     knowledge-base articles in the HTTP data set (default 100000)
 *   --schemas <n>      tenant schemas for the scale scenarios (default 5000)
 *   --renewals <n>     due renewals in the billing run (default 10000)
 *   --webhooks <n>     webhook events in the ingestion scenario (default 10000)
 *   --rate <n>         mixed-load request rate, req/s (default 500)
 *   --duration <s>     seconds per load phase (default 10)
 *   --connections <n>  connections for saturation runs (default 16)
 *   --only a,b         run only these scenarios; --skip a,b leaves them out
 *   --list             print the scenarios and exit
 *
 * Uses DATABASE_URL's server when set, else an embedded PostgreSQL in a
 * temporary folder. Prints one table per group and writes
 * bench/results/<timestamp>.json. Exits 0 when it ran, even with targets
 * missed (they are listed at the end); non-zero when a scenario failed.
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../src/common/paths';
import { BenchPostgres } from './lib/postgres';
import { Report } from './lib/report';
import type { BenchOptions, Scenario } from './lib/scenario';
import { scenarios } from './scenarios';

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      tenants: { type: 'string', default: '1000' },
      articles: { type: 'string', default: '100000' },
      schemas: { type: 'string', default: '5000' },
      renewals: { type: 'string', default: '10000' },
      webhooks: { type: 'string', default: '10000' },
      rate: { type: 'string', default: '500' },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '16' },
      only: { type: 'string' },
      skip: { type: 'string' },
      list: { type: 'boolean' },
    },
  });
  if (values.list) {
    for (const s of scenarios) process.stdout.write(`${s.name.padEnd(14)} ${s.description}\n`);
    return 0;
  }
  const count = (name: keyof typeof values): number => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name}: expected a positive integer`);
    return n;
  };
  const options: BenchOptions = {
    tenants: count('tenants'),
    articles: count('articles'),
    schemas: count('schemas'),
    renewals: count('renewals'),
    webhooks: count('webhooks'),
    rate: count('rate'),
    duration: count('duration'),
    connections: count('connections'),
  };
  const selected = select(values.only, values.skip);

  const report = new Report();
  const scratch = mkdtempSync(join(tmpdir(), 'groundwork-bench-'));
  const postgres = await BenchPostgres.open(scratch);
  let failed = 0;
  try {
    for (const scenario of selected) {
      process.stdout.write(`\n▶ ${scenario.name}: ${scenario.description}\n`);
      const started = performance.now();
      try {
        await scenario.run({ options, scratch, postgres, report });
      } catch (error) {
        failed++;
        report.skip(
          scenario.name,
          `failed: ${error instanceof Error ? error.message : String(error)}`,
        );
        process.stderr.write(`${error instanceof Error ? (error.stack ?? '') : ''}\n`);
      }
      process.stdout.write(`  (${((performance.now() - started) / 1000).toFixed(0)} s)\n`);
    }
  } finally {
    await postgres.close();
    rmSync(scratch, { recursive: true, force: true });
  }
  report.print();
  const file = report.write(PROJECT_ROOT, options);
  process.stdout.write(`\nWritten to ${file}\n`);
  return failed ? 1 : 0;
}

function select(only: string | undefined, skip: string | undefined): Scenario[] {
  const names = (list: string | undefined) =>
    (list ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const known = new Set(scenarios.map((s) => s.name));
  for (const name of [...names(only), ...names(skip)]) {
    if (!known.has(name))
      throw new Error(`unknown scenario "${name}"; known: ${[...known].join(', ')}`);
  }
  const wanted = names(only);
  const unwanted = new Set(names(skip));
  return scenarios.filter(
    (s) => (!wanted.length || wanted.includes(s.name)) && !unwanted.has(s.name),
  );
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
