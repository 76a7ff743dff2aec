import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { readManifests, ROOT } from './support/kustomize';

/*
 * k8s/monitoring/: every PromQL expression of the alert rules and of the
 * Grafana dashboard parses (Prometheus' own grammar, no error nodes) and names
 * only metrics the app registers (or prom-client's defaults, the rules' own
 * recordings, and the few the platform provides); every alert links a runbook
 * that exists with its four sections.
 */

/** The little of lezer's tree API used here (the package's types are ESM-only; jest loads its CommonJS build). */
interface SyntaxNode {
  from: number;
  to: number;
  getChild(name: string): SyntaxNode | null;
}
interface NodeRef {
  from: number;
  name: string;
  type: { isError: boolean };
  node: SyntaxNode;
}
interface PromqlParser {
  parse(input: string): { iterate(spec: { enter(node: NodeRef): void }): void };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { parser } = require('@prometheus-io/lezer-promql') as { parser: PromqlParser };

const MONITORING = join(ROOT, 'k8s/monitoring');
const RULES_FILE = join(MONITORING, 'prometheus-rules.yaml');
const DASHBOARD_FILE = join(MONITORING, 'grafana-dashboard.json');
const RUNBOOK_PREFIX = 'https://github.com/groundwork-dev/groundwork/blob/main/docs/runbooks/';

/** Series Prometheus, kube-state-metrics and the operator provide, not the app. */
const PLATFORM_METRICS = new Set([
  'up',
  'ALERTS',
  'kube_deployment_spec_replicas',
  'kube_deployment_status_replicas_available',
]);

interface Rule {
  record?: string;
  alert?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}

const groups = (): RuleGroup[] => {
  const [rule, ...rest] = readManifests(RULES_FILE);
  expect(rest).toEqual([]);
  return (rule.spec as { groups: RuleGroup[] }).groups;
};
const rules = () => groups().flatMap((group) => group.rules);
const alerts = () => rules().filter((rule) => rule.alert);
const recorded = () => new Set(rules().flatMap((rule) => (rule.record ? [rule.record] : [])));

// ---------------------------------------------------------------- metric names

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return name.endsWith('.ts') && !name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Metric families registered in src/ through the Metrics service, by type. */
function appMetrics(): Map<string, 'counter' | 'gauge' | 'histogram'> {
  const found = new Map<string, 'counter' | 'gauge' | 'histogram'>();
  for (const file of sourceFiles(join(ROOT, 'src'))) {
    const source = readFileSync(file, 'utf8');
    for (const [, type, name] of source.matchAll(
      /\bmetrics\.(counter|gauge|histogram)(?:<[^>]*>)?\(\s*'([a-zA-Z_:][a-zA-Z0-9_:]*)'/g,
    )) {
      found.set(name, type as 'counter' | 'gauge' | 'histogram');
    }
  }
  return found;
}

/** prom-client's default metrics, asked from prom-client itself. */
function defaultMetrics(): Map<string, string> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return new Map(registry.getMetricsAsArray().map((metric) => [metric.name, String(metric.type)]));
}

/** Every series name a query may use: families plus the suffixes histograms and summaries expose. */
function knownSeries(): Set<string> {
  const names = new Set<string>([...PLATFORM_METRICS, ...recorded()]);
  const families: [string, string][] = [...appMetrics(), ...defaultMetrics()];
  for (const [name, type] of families) {
    names.add(name);
    if (type === 'histogram')
      for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
    if (type === 'summary') for (const suffix of ['_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

// ---------------------------------------------------------------- PromQL

interface Parsed {
  errors: number[];
  metrics: string[];
}

/** Grafana's variables are not PromQL: give them values before parsing. */
const withoutVariables = (expr: string): string =>
  expr.replace(/\$__(rate_)?interval\b/g, '5m').replace(/\$\{?(\w+)\}?/g, 'x');

function parsePromql(expr: string): Parsed {
  const tree = parser.parse(expr);
  const errors: number[] = [];
  const metrics: string[] = [];
  tree.iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'VectorSelector') {
        const name = node.node.getChild('Identifier');
        if (name) metrics.push(expr.slice(name.from, name.to));
      }
    },
  });
  return { errors, metrics };
}

interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: { refId: string; expr: string; datasource?: unknown }[];
  panels?: DashboardPanel[];
}
interface Dashboard {
  uid: string;
  title: string;
  panels: DashboardPanel[];
  templating?: { list: { name: string; query?: string | { query: string }; type: string }[] };
}

const dashboard = (): Dashboard => JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;
const allPanels = (): DashboardPanel[] =>
  dashboard().panels.flatMap((panel) => [panel, ...(panel.panels ?? [])]);

/** Every expression of the dashboard, with where it is. */
function dashboardExpressions(): { where: string; expr: string }[] {
  const found = allPanels().flatMap((panel) =>
    (panel.targets ?? []).map((target) => ({
      where: `panel ${panel.id} "${panel.title}" ${target.refId}`,
      expr: withoutVariables(target.expr),
    })),
  );
  for (const variable of dashboard().templating?.list ?? []) {
    if (variable.type !== 'query' || !variable.query) continue;
    const query = typeof variable.query === 'string' ? variable.query : variable.query.query;
    const inner = /^label_values\((.+),\s*\w+\)$/.exec(query)?.[1];
    if (inner) found.push({ where: `variable ${variable.name}`, expr: withoutVariables(inner) });
  }
  return found;
}

const ruleExpressions = () =>
  rules().map((rule) => ({ where: rule.alert ?? rule.record!, expr: rule.expr }));

// ---------------------------------------------------------------- tests

describe('metric names', () => {
  it('are read from the source: every family the app registers', () => {
    const names = appMetrics();
    const keys = [...names.keys()];
    for (const name of [
      'groundwork_http_requests_total',
      'groundwork_http_request_duration_seconds',
      'groundwork_database_up',
      'groundwork_db_pool_connections',
      'groundwork_jobs',
      'groundwork_jobs_failed_total',
      'groundwork_payment_attempts_total',
      'groundwork_dunning_tenants',
      'groundwork_outbox_messages',
      'groundwork_gateway_event_lag_seconds',
    ]) {
      expect(keys).toContain(name);
    }
    expect(names.get('groundwork_http_request_duration_seconds')).toBe('histogram');
    for (const name of names.keys()) expect(name).toMatch(/^groundwork_[a-z0-9_]+$/);
  });

  it("include prom-client's defaults", () => {
    const names = [...defaultMetrics().keys()];
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_heap_size_used_bytes',
    ]) {
      expect(names).toContain(name);
    }
  });
});

describe('the PromQL checker', () => {
  it('finds syntax errors and the metric names of a query', () => {
    expect(parsePromql('sum by (a) (rate(foo_total{b="c"}[5m])) / on() bar').errors).toEqual([]);
    expect(parsePromql('sum by (a) (rate(foo_total{b="c"}[5m])) / on() bar').metrics).toEqual([
      'foo_total',
      'bar',
    ]);
    expect(parsePromql('sum(rate(foo[5m])').errors.length).toBeGreaterThan(0);
    expect(parsePromql('rate(foo{a="b"}[5m] > 1').errors.length).toBeGreaterThan(0);
  });
});

describe('k8s/monitoring/prometheus-rules.yaml', () => {
  it('parses, and every expression names metrics the app (or the platform) provides', () => {
    const known = knownSeries();
    const expressions = ruleExpressions();
    expect(expressions.length).toBeGreaterThan(10);
    for (const { where, expr } of expressions) {
      const { errors, metrics } = parsePromql(expr);
      expect({ where, errors }).toEqual({ where, errors: [] });
      expect(metrics.length).toBeGreaterThan(0);
      const unknown = metrics.filter((name) => !known.has(name));
      expect({ where, unknown }).toEqual({ where, unknown: [] });
    }
  });

  it('records before it alerts, with names recording rules conventionally use', () => {
    for (const rule of rules()) {
      expect(Boolean(rule.record) !== Boolean(rule.alert)).toBe(true);
      if (rule.record) expect(rule.record).toMatch(/^[a-z_]+:[a-z0-9_]+:[a-z0-9_]+$/);
    }
    // Every recording a rule reads is defined by this file.
    const names = new Set(ruleExpressions().flatMap(({ expr }) => parsePromql(expr).metrics));
    for (const name of [...names].filter((n) => n.includes(':')))
      expect(recorded()).toContain(name);
  });

  it('covers every alert the issue asks for', () => {
    expect(new Set(alerts().map((a) => a.alert))).toEqual(
      new Set([
        'GroundworkHighErrorRate',
        'GroundworkHighLatency',
        'GroundworkReadinessFailing',
        'GroundworkDatabaseUnreachable',
        'GroundworkJobBacklogGrowing',
        'GroundworkJobFailures',
        'GroundworkPaymentFailureSpike',
        'GroundworkWebhookProcessingLag',
        'GroundworkOutboxBacklog',
        'GroundworkSlaBreaches',
        // Not in the list: the one alert that fires when no target exists.
        'GroundworkMetricsAbsent',
      ]),
    );
  });

  it('gives every alert a severity, a summary, a description and one label set of its own', () => {
    const seen = new Set<string>();
    for (const alert of alerts()) {
      expect({ alert: alert.alert, severity: alert.labels?.severity }).toEqual({
        alert: alert.alert,
        severity: expect.stringMatching(/^(page|ticket)$/),
      });
      expect(alert.annotations?.summary).toBeTruthy();
      expect(alert.annotations?.description).toBeTruthy();
      if (alert.for) expect(alert.for).toMatch(/^\d+[smh]$/);
      // Two rules of one name must differ by a label, or Alertmanager merges them.
      const key = `${alert.alert} ${JSON.stringify(alert.labels)}`;
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
  });

  it('links every alert to a runbook in docs/runbooks/ that exists, with its four sections', () => {
    for (const alert of alerts()) {
      const url = alert.annotations?.runbook_url ?? '';
      expect({ alert: alert.alert, url }).toEqual({
        alert: alert.alert,
        url: expect.stringMatching(/^https:\/\/.+\/docs\/runbooks\/[a-z0-9-]+\.md$/),
      });
      expect(url.startsWith(RUNBOOK_PREFIX)).toBe(true);
      const file = join(ROOT, 'docs/runbooks', url.slice(RUNBOOK_PREFIX.length));
      expect({ alert: alert.alert, file, exists: existsSync(file) }).toEqual({
        alert: alert.alert,
        file,
        exists: true,
      });
      const headings = readFileSync(file, 'utf8')
        .split('\n')
        .filter((line) => /^##\s/.test(line))
        .map((line) => line.replace(/^##\s+/, '').trim());
      for (const section of [
        'What it means',
        'How to confirm',
        'How to mitigate',
        'How to escalate',
      ]) {
        expect({ file, section, present: headings.includes(section) }).toEqual({
          file,
          section,
          present: true,
        });
      }
    }
  });

  it('keeps `namespace` in every alert, so environments are routed apart', () => {
    for (const alert of alerts()) {
      // Every aggregation groups by namespace (or keeps all labels).
      for (const [, by] of alert.expr.matchAll(/\b(?:sum|max|min|avg|count) by \(([^)]*)\)/g)) {
        expect({ alert: alert.alert, by }).toEqual({
          alert: alert.alert,
          by: expect.stringMatching(/\bnamespace\b/),
        });
      }
    }
  });
});

describe('k8s/monitoring/grafana-dashboard.json', () => {
  it('is a dashboard with unique panel ids, laid out on the 24-column grid', () => {
    const board = dashboard();
    expect(board.uid).toMatch(/^[a-z0-9-]{1,40}$/);
    expect(board.title).toBeTruthy();
    const panels = allPanels();
    const ids = panels.map((panel) => panel.id);
    expect(ids.every((id) => Number.isInteger(id) && id > 0)).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const grid = panel.gridPos!;
      expect({ id: panel.id, fits: grid.x >= 0 && grid.w > 0 && grid.x + grid.w <= 24 }).toEqual({
        id: panel.id,
        fits: true,
      });
      if (panel.type !== 'row') {
        expect(panel.targets?.length).toBeGreaterThan(0);
        const refIds = panel.targets!.map((target) => target.refId);
        expect(new Set(refIds).size).toBe(refIds.length);
      }
    }
  });

  it('parses, and names only metrics the app (or the platform) provides', () => {
    const known = knownSeries();
    const expressions = dashboardExpressions();
    expect(expressions.length).toBeGreaterThan(20);
    for (const { where, expr } of expressions) {
      const { errors, metrics } = parsePromql(expr);
      expect({ where, expr, errors }).toEqual({ where, expr, errors: [] });
      const unknown = metrics.filter((name) => !known.has(name));
      expect({ where, unknown }).toEqual({ where, unknown: [] });
    }
  });

  it('shows every metric family the app registers', () => {
    const used = new Set(dashboardExpressions().flatMap(({ expr }) => parsePromql(expr).metrics));
    const recordings = rules().filter((rule) => rule.record);
    // A recording shown on the dashboard counts for the metrics it reads.
    for (const rule of recordings) {
      if (used.has(rule.record!)) for (const name of parsePromql(rule.expr).metrics) used.add(name);
    }
    const families = [...used].map((name) => name.replace(/_(bucket|sum|count)$/, ''));
    const missing = [...appMetrics().keys()].filter((name) => !families.includes(name));
    expect(missing).toEqual([]);
    for (const name of [
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
    ]) {
      expect(used).toContain(name);
    }
  });

  it('selects the environment with a variable, and reads the data source from another', () => {
    const variables = dashboard().templating?.list ?? [];
    expect(variables.map((v) => v.name)).toEqual(
      expect.arrayContaining(['datasource', 'namespace']),
    );
    for (const panel of allPanels().filter((p) => p.type !== 'row')) {
      for (const target of panel.targets ?? []) {
        expect(target.expr).toMatch(/namespace="\$namespace"/);
      }
    }
  });
});
