// Platform migration.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126001300_tenant extends Migration {
  override up(): void {
    this.addSql('create schema if not exists "platform"');
    this.addSql(
      'create table "platform"."tenant" ("id" uuid not null, "slug" text not null, "name" text not null, "status" text check ("status" in (\'provisioning\', \'active\', \'suspended\', \'deleted\')) not null default \'active\', "schema_name" text not null, "schema_version" text null, "migration_error" text null, "created_at" timestamptz not null, "updated_at" timestamptz not null, "deleted_at" timestamptz null, constraint "tenant_pkey" primary key ("id"))',
    );
    this.addSql('alter table "platform"."tenant" add constraint "tenant_slug_key" unique ("slug")');
    this.addSql(
      'alter table "platform"."tenant" add constraint "tenant_schema_name_key" unique ("schema_name")',
    );
    this.addSql(
      'create index "tenant_schema_version_idx" on "platform"."tenant" ("schema_version")',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "platform"."tenant" cascade');
    this.addSql('drop schema if exists "platform"');
  }
}
