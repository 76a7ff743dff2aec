// Platform migration.
import { Migration } from '@mikro-orm/migrations';

/**
 * Search support, hand-written around the generated tables:
 *
 * - `unaccent` and `pg_trgm` live in `public` (an extension belongs to one
 *   schema; every call below names it, so no search path is relied upon).
 * - `search_vector`, `title_vector` and `title_plain` are kept by a BEFORE
 *   trigger rather than generated columns: `unaccent()` is only STABLE (its
 *   rules file can change), so a generated column would need an IMMUTABLE
 *   wrapper that lies about it. The trigger runs in the writing transaction, fires only when a
 *   searched column changes (not on view counts or votes), and a rules change
 *   is rebuilt with `update platform.kb_article set title = title`.
 * - `title_vector` (the title alone, GIN-indexed) lets search gather title
 *   matches without rechecking weights in every matching body.
 * - The text search configuration follows the article's locale (stemming for
 *   en, fr, de, es, it, pt, nl; `simple` otherwise); queries use the same one.
 */
export class Migration20261126043712_knowledge_base extends Migration {
  override up(): void {
    this.addSql('create extension if not exists unaccent schema public');
    this.addSql('create extension if not exists pg_trgm schema public');
    this.addSql(
      `create function "platform"."kb_search_config"(locale text) returns regconfig
        language sql immutable parallel safe as $$
          select (case split_part(lower(locale), '-', 1)
            when 'en' then 'pg_catalog.english'
            when 'fr' then 'pg_catalog.french'
            when 'de' then 'pg_catalog.german'
            when 'es' then 'pg_catalog.spanish'
            when 'it' then 'pg_catalog.italian'
            when 'pt' then 'pg_catalog.portuguese'
            when 'nl' then 'pg_catalog.dutch'
            else 'pg_catalog.simple' end)::regconfig
        $$`,
    );
    this.addSql(
      'create table "platform"."kb_category" ("id" uuid not null, "slug" text not null, "name" text not null, "description" text null, "sort_order" int not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "kb_category_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."kb_category" add constraint "kb_category_slug_key" unique ("slug")',
    );
    this.addSql(
      'create table "platform"."kb_article" ("id" uuid not null, "category_id" uuid not null, "title" text not null, "slug" text not null, "locale" text not null, "body_markdown" text not null, "body_html" text not null, "tags" text[] not null, "status" text check ("status" in (\'draft\', \'published\', \'archived\')) not null default \'draft\', "visibility" text check ("visibility" in (\'public\', \'signed_in\', \'internal\')) not null default \'public\', "view_count" int not null default 0, "helpful_count" int not null default 0, "not_helpful_count" int not null default 0, "deflection_count" int not null default 0, "revision" int not null default 1, "author_id" uuid not null, "published_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "title_plain" text null, "search_vector" tsvector null, "title_vector" tsvector null, constraint "kb_article_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "kb_article_title_trgm_idx" on "platform"."kb_article" using gin ("title_plain" public.gin_trgm_ops)',
    );
    this.addSql(
      'create index "kb_article_search_idx" on "platform"."kb_article" using gin ("search_vector")',
    );
    this.addSql(
      'create index "kb_article_title_search_idx" on "platform"."kb_article" using gin ("title_vector")',
    );
    this.addSql(
      'create index "kb_article_category_id_idx" on "platform"."kb_article" ("category_id")',
    );
    this.addSql(
      'alter table "platform"."kb_article" add constraint "kb_article_locale_slug_key" unique ("locale", "slug")',
    );
    this.addSql(
      'create table "platform"."kb_deflection" ("id" uuid not null, "article_id" uuid not null, "tenant_id" uuid null, "user_id" uuid null, "query" text not null, "created_at" timestamptz not null, constraint "kb_deflection_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "kb_deflection_article_id_idx" on "platform"."kb_deflection" ("article_id")',
    );
    this.addSql(
      'create table "platform"."kb_revision" ("id" uuid not null, "article_id" uuid not null, "number" int not null, "title" text not null, "body_markdown" text not null, "tags" text[] not null, "editor_id" uuid not null, "restored_from" int null, "created_at" timestamptz not null, constraint "kb_revision_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."kb_revision" add constraint "kb_revision_article_number_key" unique ("article_id", "number")',
    );
    this.addSql(
      'alter table "platform"."kb_article" add constraint "kb_article_category_id_foreign" foreign key ("category_id") references "platform"."kb_category" ("id") on update cascade on delete restrict',
    );
    this.addSql(
      'alter table "platform"."kb_deflection" add constraint "kb_deflection_article_id_foreign" foreign key ("article_id") references "platform"."kb_article" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      'alter table "platform"."kb_revision" add constraint "kb_revision_article_id_foreign" foreign key ("article_id") references "platform"."kb_article" ("id") on update cascade on delete cascade',
    );
    this.addSql(
      `create function "platform"."kb_article_search_refresh"() returns trigger
        language plpgsql as $$
        declare
          cfg regconfig := "platform"."kb_search_config"(new.locale);
        begin
          new.title_plain := lower(public.unaccent('public.unaccent'::regdictionary, new.title));
          new.title_vector := to_tsvector(cfg, public.unaccent('public.unaccent'::regdictionary, new.title));
          new.search_vector :=
            setweight(new.title_vector, 'A') ||
            setweight(to_tsvector(cfg, public.unaccent('public.unaccent'::regdictionary,
              array_to_string(new.tags, ' '))), 'B') ||
            setweight(to_tsvector(cfg, public.unaccent('public.unaccent'::regdictionary, new.body_markdown)), 'C');
          return new;
        end
        $$`,
    );
    this.addSql(
      'create trigger "kb_article_search" before insert or update of "title", "tags", "body_markdown", "locale" on "platform"."kb_article" for each row execute function "platform"."kb_article_search_refresh"()',
    );
  }

  override down(): void {
    this.addSql('drop trigger if exists "kb_article_search" on "platform"."kb_article"');
    this.addSql('drop function if exists "platform"."kb_article_search_refresh"()');
    this.addSql(
      'alter table "platform"."kb_article" drop constraint "kb_article_category_id_foreign"',
    );
    this.addSql(
      'alter table "platform"."kb_deflection" drop constraint "kb_deflection_article_id_foreign"',
    );
    this.addSql(
      'alter table "platform"."kb_revision" drop constraint "kb_revision_article_id_foreign"',
    );
    this.addSql('drop table if exists "platform"."kb_category" cascade');
    this.addSql('drop table if exists "platform"."kb_article" cascade');
    this.addSql('drop table if exists "platform"."kb_deflection" cascade');
    this.addSql('drop table if exists "platform"."kb_revision" cascade');
    this.addSql('drop function if exists "platform"."kb_search_config"(text)');
    // The extensions stay: other schemas may use them.
  }
}
