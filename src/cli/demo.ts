import 'reflect-metadata';
import { describeError, loadConfigOrExit } from '../common/entrypoint';
import {
  describeWorld,
  FLAGS_HELP,
  parseDemoArgs,
  prepareWorld,
  UsageError,
  useDemoDataDir,
} from '../demo/demo-command';

const USAGE = `Usage: npm run demo [-- <options>]

Starts Groundwork with a generated demo world: organisations on every tier
with a year of billing history, support tickets, a knowledge base. The world
is generated on the first run (deterministically, from --seed) and kept;
\`npm run demo:reset\` makes it again. Then the server starts as \`npm start\`
does, and the demo logins are printed once it is ready.

${FLAGS_HELP}`;

async function main(): Promise<void> {
  const args = parseDemoArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  useDemoDataDir();
  const config = loadConfigOrExit({ LOG_LEVEL: 'warn', ...process.env }, 2);
  const result = await prepareWorld(config, args, 'ensure');
  const table = describeWorld(result, config.http.publicUrl);
  // Then the server, exactly as `npm start` runs it (same entry point, same data folder).
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- run the server's entry point as it is
  require('../main');
  await waitUntilLive(`http://127.0.0.1:${config.http.port}/health/live`);
  process.stdout.write(`\n${table}`);
}

async function waitUntilLive(url: string): Promise<void> {
  for (let waited = 0; waited < 120_000; waited += 500) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

main().catch((error: unknown) => {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`The demo failed: ${describeError(error)}\n`);
  process.exit(1);
});
