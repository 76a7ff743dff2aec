import { runSmoke } from './smoke/checks';
import { parseSmokeArgs, SMOKE_USAGE } from './smoke/options';
import { formatReport } from './smoke/report';

/**
 * `npm run smoke -- --base-url <url>`: verifies a deployment from the outside,
 * through HTTP only (no database, no configuration), so the production image
 * can run it as `node dist/src/cli/smoke.js` against itself or its peer.
 */
async function main(argv: string[]): Promise<number> {
  const parsed = parseSmokeArgs(argv);
  if (parsed.kind === 'help') {
    process.stdout.write(`${SMOKE_USAGE}\n`);
    return 0;
  }
  if (parsed.kind === 'usage-error') {
    process.stderr.write(`${parsed.problem}\n\n${SMOKE_USAGE}\n`);
    return 2;
  }
  const report = await runSmoke(parsed.options);
  process.stdout.write(
    parsed.options.json ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report),
  );
  return report.ok ? 0 : 1;
}

// exitCode, not exit(): a piped --json report must be written out in full first.
main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    process.stderr.write(
      `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
