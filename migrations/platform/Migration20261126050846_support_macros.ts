// Platform migration.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126050846_support_macros extends Migration {
  override up(): void {
    this.addSql(
      'create table "platform"."support_macro" ("id" uuid not null, "name" text not null, "body" text not null, "set_status" text check ("set_status" in (\'new\', \'open\', \'pending\', \'on_hold\', \'solved\', \'closed\')) null, "set_priority" text check ("set_priority" in (\'low\', \'normal\', \'high\', \'urgent\')) null, "add_tags" text[] not null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "support_macro_pkey" primary key ("id"))',
    );
    this.addSql(
      'alter table "platform"."support_macro" add constraint "support_macro_name_key" unique ("name")',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "platform"."support_macro" cascade');
  }
}
