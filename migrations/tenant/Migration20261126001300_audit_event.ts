// Tenant migration: runs once per tenant schema, with the search path set to it.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126001300_audit_event extends Migration {
  override up(): void {
    this.addSql(
      'create table "audit_event" ("id" uuid not null, "actor_type" text not null, "actor_id" text null, "action" text not null, "target_type" text null, "target_id" text null, "request_id" text null, "ip" inet null, "data" jsonb not null, "at" timestamptz not null, constraint "audit_event_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "audit_event_target_idx" on "audit_event" ("target_type", "target_id")',
    );
  }

  override down(): void {
    this.addSql('drop table if exists "audit_event" cascade');
  }
}
