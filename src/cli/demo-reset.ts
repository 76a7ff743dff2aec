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

const USAGE = `Usage: npm run demo:reset [-- <options>]

Drops the demo world (every organisation schema, the platform schema, the
demo marker, queued jobs) and generates it again: with the same seed and
sizes as before unless flags say otherwise. Refuses a database holding data
the demo did not generate, unless --force.

${FLAGS_HELP}
  --force                     also drop a database the demo did not generate`;

async function main(): Promise<number> {
  const args = parseDemoArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  useDemoDataDir();
  const config = loadConfigOrExit({ LOG_LEVEL: 'warn', ...process.env }, 2);
  const result = await prepareWorld(config, args, 'reset');
  process.stdout.write(describeWorld(result, config.http.publicUrl));
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`The demo reset failed: ${describeError(error)}\n`);
    process.exit(1);
  },
);
