// Platform migration.
import { Migration } from '@mikro-orm/migrations';

export class Migration20261126045915_support_queue_breaches extends Migration {
  override up(): void {
    this.addSql(
      'alter table "platform"."support_queue" add column "first_response_breached_at" timestamptz null, add column "resolution_breached_at" timestamptz null',
    );
  }

  override down(): void {
    this.addSql(
      'alter table "platform"."support_queue" drop column "first_response_breached_at", drop column "resolution_breached_at"',
    );
  }
}
