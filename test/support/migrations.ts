import type { MigrationObject } from '@mikro-orm/core';
import { Migration } from '@mikro-orm/migrations';

/** A tenant migration for tests: the given statements, under the given name. */
export function sqlMigration(name: string, ...statements: string[]): MigrationObject {
  class TestMigration extends Migration {
    override up(): void {
      for (const sql of statements) this.addSql(sql);
    }
  }
  Object.defineProperty(TestMigration, 'name', { value: name });
  return { name, class: TestMigration };
}
