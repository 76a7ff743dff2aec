// Tenant migration: runs once per tenant schema, with the search path set to it.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126050139_ticket_merge extends Migration {
  override up(): void {
    this.addSql('alter table "ticket" add column "merged_into_id" uuid null');
  }

  override down(): void {
    this.addSql('alter table "ticket" drop column "merged_into_id"');
  }
}
