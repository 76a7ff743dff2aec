/**
 * Side-effect import, first in every test/http file (before anything that loads an entity).
 *
 * test/support/global-setup.ts migrates the template database in jest's parent process,
 * which leaves MikroORM's decorator registry `globalThis['mikro-orm-metadata']` behind
 * (`MetadataStorage.clear()` empties it but keeps the object). jest-environment-node
 * exposes the parent's globals to every test file, so when jest runs files in band
 * (one worker, e.g. on a 2-CPU machine) they all share that one object: the second file's
 * entity decorators reuse the first file's (already torn-down) metadata and MikroORM.init
 * fails with "Method Map.prototype.set called on incompatible receiver #<Map>".
 * Dropping the inherited reference gives this file a registry of its own.
 * Remove once global-setup deletes the global instead of clearing it.
 */
delete (globalThis as Record<string, unknown>)['mikro-orm-metadata'];

export {};
