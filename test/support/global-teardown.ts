import { TEMPLATE_VAR, withAdmin } from './database';

export default async function globalTeardown(): Promise<void> {
  const template = process.env[TEMPLATE_VAR];
  if (template)
    await withAdmin((c) => c.query(`drop database if exists "${template}" with (force)`)).catch(
      () => undefined,
    );
  await (globalThis as { __gwPostgres?: { stop(): Promise<void> } }).__gwPostgres?.stop();
}
