/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4),
 * for the metrics tests: prom-client writes the format but ships no parser.
 * Every line must be a HELP, a TYPE, or a sample of a family declared
 * before it; anything else throws, naming the line.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface Sample {
  /** The sample's own name: `x_bucket`, `x_sum`, `x_count` for a histogram `x`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: Sample[];
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const HELP_LINE = new RegExp(`^# HELP (${NAME}) (.*)$`);
const TYPE_LINE = new RegExp(`^# TYPE (${NAME}) (counter|gauge|histogram|summary|untyped)$`);
const SAMPLE_LINE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: (-?\\d+))?$`);
/**
 * Go's ParseFloat, as Prometheus reads values: special values in any case
 * (prom-client writes `Nan` for an event-loop mean with no samples yet).
 */
const VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;

/** Suffixes a family's samples may carry, by type. */
const SUFFIXES: Record<MetricType, string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const lines = text.split('\n');
  if (lines.at(-1) !== '') throw new Error('the exposition does not end with a newline');
  lines.forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line)})`;
    if (line === '') return;
    const help = HELP_LINE.exec(line);
    if (help) {
      const family = familyOf(families, help[1]);
      if (family.help) throw new Error(`${where}: a second HELP for ${help[1]}`);
      family.help = help[2];
      return;
    }
    const type = TYPE_LINE.exec(line);
    if (type) {
      const family = familyOf(families, type[1]);
      if (family.samples.length > 0) throw new Error(`${where}: TYPE after samples`);
      family.type = type[2] as MetricType;
      return;
    }
    if (line.startsWith('#')) throw new Error(`${where}: not a HELP or TYPE comment`);
    const sample = SAMPLE_LINE.exec(line);
    if (!sample) throw new Error(`${where}: not a sample`);
    const [, name, rawLabels, rawValue] = sample;
    if (!VALUE.test(rawValue)) throw new Error(`${where}: ${rawValue} is not a number`);
    const family = [...families.values()].find((f) =>
      SUFFIXES[f.type].some((suffix) => `${f.name}${suffix}` === name),
    );
    if (!family) throw new Error(`${where}: ${name} belongs to no declared family`);
    const labels = parseLabels(rawLabels ?? '', where);
    family.samples.push({ name, labels, value: numberOf(rawValue) });
  });
  for (const family of families.values()) {
    if (!family.help) throw new Error(`${family.name} has no HELP`);
    if (family.type === 'histogram') checkHistogram(family);
  }
  return families;
}

function numberOf(raw: string): number {
  if (/^nan$/i.test(raw)) return NaN;
  if (/inf/i.test(raw)) return raw.startsWith('-') ? -Infinity : Infinity;
  return Number(raw);
}

function familyOf(families: Map<string, Family>, name: string): Family {
  let family = families.get(name);
  if (!family) {
    family = { name, type: 'untyped', help: '', samples: [] };
    families.set(name, family);
  }
  return family;
}

/** `a="x",b="y \"quoted\""`: values may hold escaped quotes, backslashes and newlines. */
function parseLabels(raw: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = raw;
  while (rest !== '') {
    const match = /^([^=]+)="((?:[^"\\\n]|\\[\\"n])*)"(,|$)/.exec(rest);
    if (!match) throw new Error(`${where}: bad labels at ${JSON.stringify(rest)}`);
    const [whole, name, value] = match;
    if (!LABEL_NAME.test(name)) throw new Error(`${where}: bad label name ${name}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    labels[name] = value.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

/** Buckets cumulative, `+Inf` last and equal to `_count`, per label set. */
function checkHistogram(family: Family): void {
  const series = new Map<string, { buckets: Sample[]; count?: number; sum?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name.endsWith('_bucket')) {
      if (le === undefined) throw new Error(`${family.name}: a bucket without le`);
      entry.buckets.push(sample);
    } else if (sample.name.endsWith('_count')) entry.count = sample.value;
    else entry.sum = sample.value;
  }
  for (const [key, entry] of series) {
    const bounds = entry.buckets.map((b) => numberOf(b.labels.le));
    const counts = entry.buckets.map((b) => b.value);
    const sorted = bounds.every((b, i) => i === 0 || b > bounds[i - 1]);
    const cumulative = counts.every((c, i) => i === 0 || c >= counts[i - 1]);
    if (!sorted || !cumulative || bounds.at(-1) !== Infinity)
      throw new Error(`${family.name}${key}: buckets not cumulative up to +Inf`);
    if (entry.count !== counts.at(-1) || entry.sum === undefined)
      throw new Error(`${family.name}${key}: _count differs from the +Inf bucket, or no _sum`);
  }
}

/** The samples of `name` (a family or a suffixed sample name) whose labels include `labels`. */
export function samplesOf(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): Sample[] {
  return [...families.values()]
    .flatMap((family) => family.samples)
    .filter(
      (sample) =>
        sample.name === name &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    );
}

/** The sum of the matching samples' values (0 when none match). */
export function valueOf(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  return samplesOf(families, name, labels).reduce((sum, sample) => sum + sample.value, 0);
}
