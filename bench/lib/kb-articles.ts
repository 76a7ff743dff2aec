import type { Client } from 'pg';

/**
 * The generated help centre both knowledge-base benchmarks search
 * (`npm run bench:kb` and the `http` scenario): published public articles of
 * Zipf-distributed words, deterministic for a given PRNG seed.
 */

/** Present in ~90% of articles: the term that makes ranking every match expensive. */
export const COMMON = 'account';
const BATCH = 2_000;

/** Deterministic PRNG (mulberry32): the same data on every run. */
export function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES =
  'ba be bi bo bu da de di do du fa fe fi fo ka ke ki ko la le li lo lu ma me mi mo mu na ne ni no pa pe pi po ra re ri ro ru sa se si so ta te ti to va ve vi vo za ze zo'.split(
    ' ',
  );
export const SUPPORT_WORDS =
  'invoice payment password reset login billing subscription plan upgrade downgrade card refund team member invite role permission export import report dashboard webhook integration api key token error timeout setting profile email notification security domain'.split(
    ' ',
  );

/** The support words plus made-up ones, `COMMON` left out (it is placed on purpose). */
export function vocabulary(random: () => number, size: number): string[] {
  const words = new Set<string>(SUPPORT_WORDS);
  while (words.size < size) {
    const n = 2 + Math.floor(random() * 3);
    let w = '';
    for (let i = 0; i < n; i++) w += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.add(w);
  }
  words.delete(COMMON);
  return [...words];
}

/** 50 rare words, each in about 1 article in 5,000. */
export const RARE_WORDS = Array.from(
  { length: 50 },
  (_, i) =>
    `zirconium${String.fromCharCode(97 + (i % 26))}${String.fromCharCode(97 + Math.floor(i / 26))}`,
);

/** Zipf-like pick: low indexes far more often, as in real text. */
export const zipf = (random: () => number, n: number): number => Math.floor(n * random() ** 3);

/** Inserts `n` published public articles in batches; the search trigger fills the vectors. */
export async function generateArticles(
  client: Client,
  n: number,
  vocab: string[],
  random: () => number,
): Promise<void> {
  const categoryId = '0193a000-0000-7000-8000-00000000b001';
  await client.query(
    `insert into platform.kb_category (id, slug, name, sort_order, created_at, updated_at)
     values ($1, 'bench', 'Bench', 0, now(), now())`,
    [categoryId],
  );
  const words = (count: number) =>
    Array.from({ length: count }, () => vocab[zipf(random, vocab.length)]);
  for (let start = 0; start < n; start += BATCH) {
    const titles: string[] = [];
    const bodies: string[] = [];
    const tags: string[] = [];
    for (let i = start; i < Math.min(n, start + BATCH); i++) {
      const title = words(3 + Math.floor(random() * 4));
      const body = words(80 + Math.floor(random() * 120));
      if (random() < 0.9) body.splice(Math.floor(random() * body.length), 0, COMMON);
      if (random() < 0.0002 * RARE_WORDS.length)
        body.push(RARE_WORDS[Math.floor(random() * RARE_WORDS.length)]);
      titles.push(title.join(' '));
      bodies.push(
        `## ${title[0]}\n\n${body.slice(0, 60).join(' ')}.\n\n${body.slice(60).join(' ')}.`,
      );
      tags.push(`{${words(2).join(',')}}`);
    }
    await client.query(
      `insert into platform.kb_article
         (id, category_id, title, slug, locale, body_markdown, body_html, tags, status, visibility,
          author_id, published_at, created_at, updated_at)
       select gen_random_uuid(), $1, t.title, 'a-' || ($2::int + t.n), 'en', t.body, '', t.tags::text[],
         'published', 'public', $1, now(), now(), now()
       from unnest($3::text[], $4::text[], $5::text[]) with ordinality as t(title, body, tags, n)`,
      [categoryId, start, titles, bodies, tags],
    );
  }
}
