/**
 * `npm run bench:kb`: knowledge-base search latency over a generated help
 * centre, each scenario beside a baseline measured in the same run on the same
 * data. Not part of `npm test`.
 *
 *   --articles <n>   published articles to generate (default 100000)
 *   --queries <n>    queries per scenario (default 200)
 *
 * Uses DATABASE_URL when set, else an embedded PostgreSQL in a temporary
 * directory. Columns: `ours` is KbSearchService.search (bounded ranking plus
 * snippets, as the API runs it); `rank all` ranks every match with ts_rank
 * (what bounding avoids); `baseline` is the plain GIN match (count, no ranking).
 */
import 'reflect-metadata';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MikroORM } from '@mikro-orm/core';
import { EntityManager } from '@mikro-orm/postgresql';
import { Client } from 'pg';
import { loadConfig } from '../src/config/app-config';
import { ensureDatabase, withDatabaseUrl } from '../src/database/database-server';
import { startEmbeddedPostgres } from '../src/database/embedded-postgres';
import { buildOrmOptions } from '../src/database/orm.config';
import { PlatformMigrator } from '../src/database/platform-migrator';
import { KbVisibility } from '../src/knowledge-base/entities/kb-article.entity';
import { KbSearchService } from '../src/knowledge-base/kb-search.service';
import {
  COMMON,
  generateArticles,
  prng,
  RARE_WORDS,
  SUPPORT_WORDS,
  vocabulary,
} from './lib/kb-articles';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      articles: { type: 'string', default: '100000' },
      queries: { type: 'string', default: '200' },
    },
  });
  const articles = Number(values.articles);
  const queries = Number(values.queries);
  const scratch = mkdtempSync(join(tmpdir(), 'groundwork-kb-bench-'));
  const server = process.env.DATABASE_URL
    ? { url: process.env.DATABASE_URL, stop: () => Promise.resolve() }
    : await startEmbeddedPostgres({ dataDir: join(scratch, 'pg'), persistent: false });
  const database = `groundwork_kb_bench_${process.pid}`;
  const url = new URL(server.url);
  url.pathname = `/${database}`;
  const adminUrl = new URL(server.url);
  adminUrl.pathname = '/postgres';
  let orm: MikroORM | undefined;
  const client = new Client({ connectionString: url.toString() });
  try {
    await ensureDatabase(adminUrl.toString(), database);
    const config = withDatabaseUrl(
      loadConfig({
        // Only the database settings matter here; development needs no payment keys.
        NODE_ENV: 'development',
        LOG_LEVEL: 'warn',
        JWT_SECRET: 'x'.repeat(32),
        DATA_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32).toString('base64')}`,
        DATA_DIR: scratch,
        DATABASE_URL: url.toString(),
      }),
      url.toString(),
    );
    orm = await MikroORM.init(buildOrmOptions(config));
    await new PlatformMigrator(orm).up();
    await client.connect();

    const random = prng(42);
    const vocab = vocabulary(random, 5_000);
    const rare = RARE_WORDS;
    const generated = performance.now();
    await generateArticles(client, articles, vocab, random);
    const generateMs = performance.now() - generated;
    await client.query('vacuum analyze platform.kb_article');
    const stats = (
      await client.query<{ total: string; common: string; size: string }>(
        `select count(*) as total,
           count(*) filter (where search_vector @@ to_tsquery('english', $1)) as common,
           pg_size_pretty(pg_total_relation_size('platform.kb_article')) as size
         from platform.kb_article`,
        [COMMON],
      )
    ).rows[0];

    const search = new KbSearchService(orm.em as EntityManager);
    const visibilities = [KbVisibility.Public, KbVisibility.SignedIn];
    const run = (query: string) =>
      search.search({ query, locale: 'en', visibilities, limit: 10, offset: 0 });
    const rankAll = (query: string) =>
      client.query(
        `select id, ts_rank(search_vector, q) as score
         from platform.kb_article,
           websearch_to_tsquery('english', public.unaccent('public.unaccent'::regdictionary, $1)) q
         where search_vector @@ q and status = 'published' and visibility = any($2) and locale = 'en'
         order by score desc, id limit 10`,
        [query, visibilities],
      );
    const countMatches = (query: string) =>
      client.query(
        `select count(*) from platform.kb_article,
           websearch_to_tsquery('english', public.unaccent('public.unaccent'::regdictionary, $1)) q
         where search_vector @@ q and status = 'published' and visibility = any($2) and locale = 'en'`,
        [query, visibilities],
      );
    const countSimilar = async (query: string) => {
      await client.query('begin');
      await client.query("select set_config('pg_trgm.word_similarity_threshold', '0.4', true)");
      await client.query(
        `select count(*) from platform.kb_article
         where lower(public.unaccent('public.unaccent'::regdictionary, $1)) operator(public.<%) title_plain
           and status = 'published' and visibility = any($2) and locale = 'en'`,
        [query, visibilities],
      );
      await client.query('commit');
    };

    const titleWords = vocab.slice(0, 400).filter((w) => w.length >= 6);
    const typo = (i: number) => {
      const w = titleWords[i % titleWords.length];
      const at = 2 + (i % (w.length - 3));
      return w.slice(0, at) + w.slice(at + 1);
    };
    const scenarios: {
      name: string;
      query: (i: number) => string;
      baseline: (q: string) => Promise<unknown>;
    }[] = [
      {
        name: `rare term (~1 in 5,000)`,
        query: (i) => rare[i % rare.length],
        baseline: countMatches,
      },
      { name: `common term "${COMMON}"`, query: () => COMMON, baseline: countMatches },
      {
        name: `two words, one common`,
        query: (i) => `${COMMON} ${SUPPORT_WORDS[i % SUPPORT_WORDS.length]}`,
        baseline: countMatches,
      },
      { name: 'typo (trigram fallback)', query: typo, baseline: countSimilar },
    ];

    const rows: string[][] = [];
    for (const scenario of scenarios) {
      // Warm the caches once, then measure.
      await run(scenario.query(0));
      const ours = await timeEach(queries, (i) => run(scenario.query(i)));
      const all = scenario.name.startsWith('typo')
        ? null
        : await timeEach(queries, (i) => rankAll(scenario.query(i)));
      const base = await timeEach(queries, (i) => scenario.baseline(scenario.query(i)));
      const sample = await run(scenario.query(1));
      rows.push([
        scenario.name,
        `${ms(pct(ours, 50))} / ${ms(pct(ours, 95))}`,
        all ? `${ms(pct(all, 50))} / ${ms(pct(all, 95))}` : '—',
        `${ms(pct(base, 50))} / ${ms(pct(base, 95))}`,
        `${sample.match}, ${sample.items.length} hits`,
      ]);
    }

    const machine = `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
    const pg = (await client.query<{ v: string }>("select current_setting('server_version') as v"))
      .rows[0].v;
    process.stdout.write(
      `\nKnowledge-base search — ${machine}, PostgreSQL ${pg}\n` +
        `${stats.total} articles (${stats.size}), "${COMMON}" in ${stats.common}; ` +
        `generated in ${(generateMs / 1000).toFixed(1)} s; ${queries} queries per scenario; p50 / p95\n\n`,
    );
    const header = [
      'scenario',
      'ours (bounded rank + snippets)',
      'rank all matches',
      'baseline (GIN match count)',
      'first result',
    ];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
    const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join('  ');
    process.stdout.write(`${line(header)}\n${rows.map(line).join('\n')}\n`);
  } finally {
    await client.end().catch(() => undefined);
    await orm?.close();
    const admin = new Client({ connectionString: adminUrl.toString() });
    await admin.connect();
    await admin.query(`drop database if exists "${database}" with (force)`);
    await admin.end();
    await server.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}

async function timeEach(n: number, work: (i: number) => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const started = performance.now();
    await work(i);
    times.push(performance.now() - started);
  }
  return times.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const ms = (value: number) => `${value.toFixed(1)} ms`;

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
