// Tenant migration: runs once per tenant schema, with the search path set to it.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126044719_tickets extends Migration {
  override up(): void {
    // Ticket numbers: per organisation, handed out by the service (gaps are harmless here).
    this.addSql('create sequence "ticket_number_seq" as integer');
    this.addSql(
      'create table "ticket" ("id" uuid not null, "number" int not null, "subject" text not null, "description" text not null, "status" text check ("status" in (\'new\', \'open\', \'pending\', \'on_hold\', \'solved\', \'closed\')) not null default \'new\', "priority" text check ("priority" in (\'low\', \'normal\', \'high\', \'urgent\')) not null default \'normal\', "channel" text check ("channel" in (\'web\', \'api\', \'email\')) not null default \'web\', "tags" text[] not null, "requester_id" uuid not null, "assignee_id" uuid null, "first_response_at" timestamptz null, "solved_at" timestamptz null, "closed_at" timestamptz null, "csat_score" smallint null, "csat_comment" text null, "csat_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, constraint "ticket_pkey" primary key ("id"))',
    );
    this.addSql('alter table "ticket" add constraint "ticket_number_key" unique ("number")');
    this.addSql('create index "ticket_assignee_id_idx" on "ticket" ("assignee_id")');
    this.addSql('create index "ticket_requester_id_idx" on "ticket" ("requester_id")');
    this.addSql('create index "ticket_status_idx" on "ticket" ("status")');
    this.addSql(
      'create table "ticket_event" ("id" uuid not null, "ticket_id" uuid not null, "actor_id" uuid null, "field" text not null, "from_value" text null, "to_value" text null, "at" timestamptz not null, constraint "ticket_event_pkey" primary key ("id"))',
    );
    this.addSql('create index "ticket_event_ticket_id_idx" on "ticket_event" ("ticket_id", "at")');
    this.addSql(
      'create table "ticket_message" ("id" uuid not null, "ticket_id" uuid not null, "kind" text check ("kind" in (\'reply\', \'note\')) not null, "author_id" uuid not null, "author_role" text check ("author_role" in (\'requester\', \'agent\')) not null, "body" text not null, "created_at" timestamptz not null, constraint "ticket_message_pkey" primary key ("id"))',
    );
    this.addSql(
      'create index "ticket_message_ticket_id_idx" on "ticket_message" ("ticket_id", "created_at")',
    );
  }

  override down(): void {
    this.addSql('drop sequence if exists "ticket_number_seq"');
    this.addSql('drop table if exists "ticket" cascade');
    this.addSql('drop table if exists "ticket_event" cascade');
    this.addSql('drop table if exists "ticket_message" cascade');
  }
}
