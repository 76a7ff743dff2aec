import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';

/** One line of the printed table: our figure, the baseline run beside it, and the target. */
export interface Row {
  /** Table the row belongs to, e.g. `http`, `scale`, `billing`. */
  group: string;
  scenario: string;
  ours: string;
  baseline?: string;
  ratio?: string;
  /** The issue's target in words, e.g. `p99 < 50 ms`. */
  target?: string;
  /** Whether the target was met; undefined when the row has no target. */
  met?: boolean;
}

/**
 * Collects rows and raw figures for one `npm run bench`, prints them as one
 * table per group and writes `bench/results/<date>.json`.
 */
export class Report {
  readonly rows: Row[] = [];
  readonly figures: Record<string, unknown> = {};
  readonly skipped: { scenario: string; reason: string }[] = [];

  add(row: Row): void {
    this.rows.push(row);
    const mark = row.met === undefined ? '' : row.met ? '  ✔' : '  ✘ MISSED';
    process.stdout.write(
      `  ${row.scenario}: ${row.ours}${row.baseline ? ` | baseline ${row.baseline}` : ''}${row.target ? ` | target ${row.target}` : ''}${mark}\n`,
    );
  }

  figure(key: string, value: unknown): void {
    this.figures[key] = value;
  }

  skip(scenario: string, reason: string): void {
    this.skipped.push({ scenario, reason });
    process.stdout.write(`  skipped ${scenario}: ${reason}\n`);
  }

  get missed(): Row[] {
    return this.rows.filter((r) => r.met === false);
  }

  print(out: NodeJS.WritableStream = process.stdout): void {
    out.write(`\nGroundwork benchmarks — ${machine()}\n`);
    const groups = [...new Set(this.rows.map((r) => r.group))];
    const columns = ['scenario', 'ours', 'baseline', 'ratio', 'target', 'met'] as const;
    for (const group of groups) {
      const rows = this.rows.filter((r) => r.group === group);
      const cell = (r: Row, k: (typeof columns)[number]): string =>
        k === 'met' ? (r.met === undefined ? '' : r.met ? 'yes' : 'MISSED') : (r[k] ?? '');
      const used = columns.filter((k) => k === 'scenario' || rows.some((r) => cell(r, k)));
      const width = (k: (typeof columns)[number]) =>
        Math.max(k.length, ...rows.map((r) => cell(r, k).length));
      const line = (cells: (k: (typeof columns)[number]) => string) =>
        used
          .map((k) => cells(k).padEnd(width(k)))
          .join('  ')
          .trimEnd();
      out.write(`\n## ${group}\n\n${line((k) => k)}\n${line((k) => '-'.repeat(width(k)))}\n`);
      for (const row of rows) out.write(`${line((k) => cell(row, k))}\n`);
    }
    for (const s of this.skipped) out.write(`\nskipped: ${s.scenario} — ${s.reason}`);
    const missed = this.missed;
    const verdict = missed.length
      ? `${missed.length} target(s) missed: ${missed.map((r) => r.scenario).join('; ')}`
      : 'every target measured was met';
    const unmeasured = this.skipped.length ? ` (${this.skipped.length} skipped or failed)` : '';
    out.write(`\n\n${verdict}${unmeasured}\n`);
  }

  /** Writes the run to `bench/results/<timestamp>.json` and returns the path. */
  write(root: string, options: unknown): string {
    const dir = join(root, 'bench/results');
    mkdirSync(dir, { recursive: true });
    const at = new Date().toISOString();
    const file = join(dir, `${at.slice(0, 19).replace(/:/g, '-')}.json`);
    const body = {
      at,
      machine: machine(),
      options,
      rows: this.rows,
      skipped: this.skipped,
      figures: this.figures,
    };
    writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`);
    return file;
  }
}

export function machine(): string {
  return `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
}

export const ms = (v: number): string =>
  v >= 10_000
    ? `${(v / 1000).toFixed(1)} s`
    : v >= 100
      ? `${Math.round(v)} ms`
      : `${v.toFixed(1)} ms`;
export const perSecond = (n: number, elapsedMs: number): number => (n / elapsedMs) * 1000;
export const rate = (n: number, elapsedMs: number): string =>
  `${perSecond(n, elapsedMs).toFixed(0)}/s`;
export const ratio = (ours: number, base: number): string => `${(ours / base).toFixed(2)}×`;
export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(0)} MiB`;
