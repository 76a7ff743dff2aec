import { SmokeReport } from './checks';

const LABEL = { ok: 'ok', failed: 'FAIL', skipped: 'skip' } as const;

/** One line per check (status, name, duration, detail), then the outcome: for a person or a CI log. */
export function formatReport(report: SmokeReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const durations = report.checks.map((c) => `${c.durationMs} ms`);
  const durationWidth = Math.max(...durations.map((d) => d.length));
  const lines = [`Smoke test of ${report.baseUrl}`];
  report.checks.forEach((check, i) => {
    lines.push(
      `  ${LABEL[check.status].padEnd(4)}  ${check.name.padEnd(width)}  ${durations[i].padStart(durationWidth)}  ${check.detail}`,
    );
  });
  const { account } = report;
  if (account.tenantId)
    lines.push(
      `Throwaway organisation ${account.organizationSlug} (${account.tenantId}), user ${account.email}: ${account.note}`,
    );
  lines.push(
    `Smoke ${report.ok ? 'PASSED' : 'FAILED'}: ${report.passed} ok, ${report.failed} failed, ${report.skipped} skipped in ${report.durationMs} ms`,
  );
  return `${lines.join('\n')}\n`;
}
