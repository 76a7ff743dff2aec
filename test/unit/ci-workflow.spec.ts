import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';

/*
 * .github/workflows/ci.yml: the gates the issue lists (install with npm 11 on
 * Node 20 and 22, lint, type check, unit, e2e against a PostgreSQL service,
 * OpenAPI drift, npm audit, an image build without push) stay in the
 * workflow, and what they run exists.
 */

const ROOT = resolve(__dirname, '../..');
const WORKFLOW = join(ROOT, '.github/workflows/ci.yml');

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  'runs-on': string;
  strategy?: { matrix?: Record<string, unknown[]> };
  services?: Record<
    string,
    { image: string; env?: Record<string, string>; ports?: string[]; options?: string }
  >;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

function workflow(): Workflow {
  const document = parseDocument(readFileSync(WORKFLOW, 'utf8'));
  expect(document.errors).toEqual([]);
  return document.toJS() as Workflow;
}

const scripts = (
  JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  }
).scripts;

const runs = (job: Job): string[] => job.steps.flatMap((step) => (step.run ? [step.run] : []));
/** The job whose steps run a command matching `pattern`; exactly one. */
function jobRunning(pattern: RegExp): [string, Job] {
  const found = Object.entries(workflow().jobs).filter(([, job]) =>
    runs(job).some((run) => pattern.test(run)),
  );
  expect(found.map(([name]) => name)).toHaveLength(1);
  return found[0];
}
/** The index of the first step running `pattern` in a job (-1: none). */
const stepIndex = (job: Job, pattern: RegExp) =>
  job.steps.findIndex((step) => !!step.run && pattern.test(step.run));

const dockerfilePgMajor = (): string =>
  /^ARG PG_MAJOR=(\d+)$/m.exec(readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8'))![1];

describe('.github/workflows/ci.yml', () => {
  it('runs on pushes to main and on pull requests, reading the repository only', () => {
    const { on, permissions } = workflow();
    expect(Object.keys(on).sort()).toEqual(['pull_request', 'push']);
    expect(on.push).toEqual({ branches: ['main'] });
    expect(permissions).toEqual({ contents: 'read' });
  });

  it('installs with npm ci on npm 11 (the lockfile and allowScripts need it) before anything else', () => {
    const { jobs, env } = workflow();
    const version = env?.NPM_VERSION ?? '';
    expect(version).toMatch(/^11\.\d+\.\d+$/);
    // The same npm as the image builds with.
    expect(readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8')).toContain(
      `ARG NPM_VERSION=${version}`,
    );
    for (const [name, job] of Object.entries(jobs)) {
      const npmRuns = stepIndex(job, /\bnpm (run|audit|test)\b/);
      if (npmRuns === -1) continue;
      const npm11 = stepIndex(job, /npm install --global "?npm@\$\{?NPM_VERSION\}?"?/);
      expect({ name, npm11: npm11 >= 0 }).toEqual({ name, npm11: true });
      expect(job.steps.findIndex((s) => s.uses?.startsWith('actions/setup-node@'))).toBeLessThan(
        npm11,
      );
      const ci = stepIndex(job, /^npm ci$/);
      if (name !== 'audit') {
        expect({ name, ci: ci > npm11 }).toEqual({ name, ci: true });
        expect(ci).toBeLessThan(npmRuns);
      }
    }
  });

  it('lints, type-checks and checks OpenAPI drift', () => {
    const [, job] = jobRunning(/^npm run lint$/);
    for (const command of ['npm run lint', 'npm run typecheck', 'npm run openapi:check']) {
      expect(runs(job)).toContain(command);
    }
  });

  it('runs unit and e2e tests on Node 20 and 22 against a PostgreSQL service of the production major', () => {
    const [, job] = jobRunning(/^npm run test:e2e$/);
    expect(runs(job)).toContain('npm run test:unit');
    expect(job.strategy?.matrix?.node).toEqual([20, 22]);
    const setupNode = job.steps.find((s) => s.uses?.startsWith('actions/setup-node@'))!;
    expect(setupNode.with?.['node-version']).toBe('${{ matrix.node }}');

    const postgres = job.services?.postgres;
    expect(postgres?.image).toMatch(new RegExp(`^postgres:${dockerfilePgMajor()}(\\.|-|$)`));
    expect(postgres?.options).toMatch(/--health-cmd "pg_isready/);
    const url = new URL(job.env!.DATABASE_URL);
    expect(url.protocol).toBe('postgres:');
    expect(url.hostname).toBe('localhost');
    expect(postgres?.ports).toContain(`${url.port}:5432`);
    expect(url.username).toBe(postgres?.env?.POSTGRES_USER);
    expect(url.password).toBe(postgres?.env?.POSTGRES_PASSWORD);
    expect(url.pathname).toBe(`/${postgres?.env?.POSTGRES_DB}`);
    // The backup tests need pg_dump of the server's major.
    expect(job.env!.PG_BIN_DIR).toBe(`/usr/lib/postgresql/${dockerfilePgMajor()}/bin`);
    expect(runs(job).join('\n')).toContain(`postgresql-client-${dockerfilePgMajor()}`);
  });

  it('audits dependencies for high and critical advisories', () => {
    const [, job] = jobRunning(/\bnpm audit\b/);
    expect(runs(job)).toContain('npm audit --audit-level=high');
  });

  it('builds the image from docker/Dockerfile at the repository root, without pushing', () => {
    const { jobs } = workflow();
    const builds = Object.values(jobs).flatMap((job) =>
      job.steps.filter((step) => step.uses?.startsWith('docker/build-push-action@')),
    );
    expect(builds).toHaveLength(1);
    expect(builds[0].with).toEqual(
      expect.objectContaining({ context: '.', file: 'docker/Dockerfile', push: false }),
    );
  });

  it('runs only npm scripts that exist, and actions pinned to a major version', () => {
    for (const job of Object.values(workflow().jobs)) {
      for (const run of runs(job)) {
        for (const [, script] of run.matchAll(/\bnpm run ([\w:-]+)/g)) {
          expect({ script, exists: script in scripts }).toEqual({ script, exists: true });
        }
      }
      for (const step of job.steps.filter((s) => s.uses)) {
        expect(step.uses).toMatch(/^[\w-]+\/[\w-]+@v\d+$/);
      }
    }
  });
});
