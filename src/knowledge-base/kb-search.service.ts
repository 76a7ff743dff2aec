import { Injectable } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import {
  KbSearchHitDto,
  KbSearchResultDto,
  MAX_SEARCH_LIMIT,
  MAX_SEARCH_OFFSET,
} from './dtos/kb-search.dto';
import { KbVisibility } from './entities/kb-article.entity';
import { anyWordQuery } from './search-query';
import { textArray } from './sql';
import { HIGHLIGHT_START, HIGHLIGHT_STOP, snippetHtml } from './snippet';

/**
 * The most rows `ts_rank` sees per tier. Ranking reads and scores each
 * candidate's whole tsvector, so a term found in most of 100,000 articles
 * costs a few hundred milliseconds if every match is ranked. We rank two
 * bounded tiers instead: up to this many articles whose *title* matches
 * (found through the title's own GIN index; they outrank any body-only match,
 * since ts_rank weighs A at 1.0 and C matches sum to at most ~0.33) and up to
 * this many matches of any kind. The first tier keeps the best answers in the
 * set; the second fills the page when titles match little. The bound is the
 * deepest row a page can reach (MAX_SEARCH_OFFSET + MAX_SEARCH_LIMIT), so
 * every page offered comes from ranked rows, and no more is ranked than a
 * page can show (it was 500: twice the ranking work, for rows never served).
 * The price: among body-only matches of a very common term, the ranked ones
 * are an arbitrary (physical-order) sample.
 */
export const RANK_CANDIDATES = MAX_SEARCH_OFFSET + MAX_SEARCH_LIMIT;

/** Trigram word similarity a title needs to count as "looks like" the query (pg_trgm default 0.6 misses most typos). */
export const TITLE_SIMILARITY_THRESHOLD = 0.4;

const UNACCENT = `public.unaccent('public.unaccent'::regdictionary, ?)`;

/** Marks that cannot occur in the indexed text, turned into `<mark>` after escaping. */
const HEADLINE_OPTIONS =
  `StartSel=${HIGHLIGHT_START}, StopSel=${HIGHLIGHT_STOP}, ` +
  'MaxWords=35, MinWords=15, MaxFragments=2, FragmentDelimiter=" … "';

export interface KbSearchInput {
  query: string;
  locale: string;
  visibilities: KbVisibility[];
  limit: number;
  offset: number;
}

interface HitRow {
  id: string;
  slug: string;
  locale: string;
  title: string;
  tags: string[];
  score: number | string;
  category_id: string;
  category_slug: string;
  category_name: string;
  headline: string | null;
}

/**
 * Knowledge-base search on PostgreSQL: full text first (weighted title > tags
 * > body, unaccented, stemmed per locale), title trigrams when the words match
 * nothing. Only published articles the caller may read are ever considered.
 */
@Injectable()
export class KbSearchService {
  constructor(private readonly em: EntityManager) {}

  async search(input: KbSearchInput): Promise<KbSearchResultDto> {
    const em = this.em.fork();
    const fulltext = await this.fullText(em, input);
    if (fulltext.length > 0 || input.offset > 0) {
      return { match: 'fulltext', items: fulltext.map(toHit) };
    }
    const similar = await this.similarTitles(em, input);
    return { match: similar.length > 0 ? 'similar_titles' : 'fulltext', items: similar.map(toHit) };
  }

  private fullText(em: EntityManager, input: KbSearchInput): Promise<HitRow[]> {
    const filter = `a.status = 'published' and a.visibility = any(?::text[]) and a.locale = ?`;
    const filterArgs = [textArray(input.visibilities), input.locale];
    const sql = `
      with query as (
        select websearch_to_tsquery(platform.kb_search_config(?), ${UNACCENT}) as q,
          websearch_to_tsquery(platform.kb_search_config(?), ${UNACCENT}) as q_any
      ), candidates as (
        (select a.id from platform.kb_article a, query
          where a.title_vector @@ query.q_any and a.search_vector @@ query.q and ${filter}
          limit ${RANK_CANDIDATES})
        union
        (select a.id from platform.kb_article a, query
          where a.search_vector @@ query.q and ${filter}
          limit ${RANK_CANDIDATES})
      ), ranked as (
        select a.id, ts_rank(a.search_vector, query.q) as score
        from candidates c join platform.kb_article a on a.id = c.id, query
        order by score desc, a.id
        limit ? offset ?
      )
      select a.id, a.slug, a.locale, a.title, a.tags, r.score,
        c.id as category_id, c.slug as category_slug, c.name as category_name,
        ts_headline(platform.kb_search_config(a.locale),
          translate(${UNACCENT.replace('?', 'a.body_markdown')}, chr(2) || chr(3), ''),
          query.q, ?) as headline
      from ranked r
        join platform.kb_article a on a.id = r.id
        join platform.kb_category c on c.id = a.category_id, query
      order by r.score desc, a.id`;
    return em.execute<HitRow[]>(sql, [
      input.locale,
      input.query,
      input.locale,
      // Tier one wants titles with any of the words; the full query still decides the match.
      anyWordQuery(input.query),
      ...filterArgs,
      ...filterArgs,
      input.limit,
      input.offset,
      HEADLINE_OPTIONS,
    ]);
  }

  private similarTitles(em: EntityManager, input: KbSearchInput): Promise<HitRow[]> {
    return em.transactional(async (tx) => {
      // Local to this transaction: the pooled connection keeps its default.
      await tx.execute(`select set_config('pg_trgm.word_similarity_threshold', ?, true)`, [
        String(TITLE_SIMILARITY_THRESHOLD),
      ]);
      const sql = `
        with query as (select lower(${UNACCENT}) as t)
        select a.id, a.slug, a.locale, a.title, a.tags,
          public.word_similarity(query.t, a.title_plain) as score,
          c.id as category_id, c.slug as category_slug, c.name as category_name,
          null as headline
        from platform.kb_article a
          join platform.kb_category c on c.id = a.category_id, query
        where query.t operator(public.<%) a.title_plain
          and a.status = 'published' and a.visibility = any(?::text[]) and a.locale = ?
        order by score desc, a.id
        limit ? offset ?`;
      return tx.execute<HitRow[]>(sql, [
        input.query,
        textArray(input.visibilities),
        input.locale,
        input.limit,
        input.offset,
      ]);
    });
  }
}

function toHit(row: HitRow): KbSearchHitDto {
  return {
    id: row.id,
    slug: row.slug,
    locale: row.locale,
    title: row.title,
    tags: row.tags,
    category: { id: row.category_id, slug: row.category_slug, name: row.category_name },
    snippet: row.headline ? snippetHtml(row.headline) : '',
    score: Math.round(Number(row.score) * 1e6) / 1e6,
  };
}
