import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/*
 * k8s/scripts/blue-green-deploy.sh and rollback.sh, run against a fake
 * kubectl: a script on PATH that records each call and answers the queries
 * (live colour, replica counts, image) from environment variables, so the
 * sequence of cluster changes can be checked, and that a failed step never
 * switches traffic.
 */

const ROOT = resolve(__dirname, '../..');
const DEPLOY = join(ROOT, 'k8s/scripts/blue-green-deploy.sh');
const ROLLBACK = join(ROOT, 'k8s/scripts/rollback.sh');
const CLUSTER = join(ROOT, 'k8s/scripts/cluster.sh');
const OVERLAY = 'k8s/overlays/production';
const NS = 'groundwork-production';
const IMAGE = 'registry.example.com/groundwork:0.2.0';

const FAKE_KUBECTL = `#!/usr/bin/env bash
# One line per call: the arguments, newlines folded.
printf '%s\\n' "$(printf '%s ' "$@" | tr '\\n' ' ' | sed 's/ *$//')" >> "$FAKE_LOG"
args="$*"
case "$args" in
  *"get service groundwork -o"*)
    if [[ -z "\${FAKE_LIVE:-}" ]]; then echo 'Error from server (NotFound): services "groundwork" not found' >&2; exit 1; fi
    printf '%s' "$FAKE_LIVE" ;;
  *"get deployment "*"{.spec.replicas}"*) printf '%s' "\${FAKE_REPLICAS:-3}" ;;
  *"get deployment "*"{.status.readyReplicas}"*) printf '%s' "\${FAKE_READY:-}" ;;
  *"get deployment "*"{.spec.template.spec.containers[0].image}"*) printf '%s' "${IMAGE}" ;;
  *" wait "*) exit "\${FAKE_MIGRATE_EXIT:-0}" ;;
  *" rollout status "*) exit "\${FAKE_ROLLOUT_EXIT:-0}" ;;
  *" run groundwork-smoke-"*) echo "smoke output"; exit "\${FAKE_SMOKE_EXIT:-0}" ;;
esac
exit 0
`;

let dir: string;
let log: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'gw-kubectl-'));
  log = join(dir, 'calls.log');
  writeFileSync(join(dir, 'kubectl'), FAKE_KUBECTL);
  chmodSync(join(dir, 'kubectl'), 0o755);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Every kubectl call, without the `-n <namespace>` every call starts with. */
  calls: string[];
}

function run(script: string, args: string[], env: Record<string, string> = {}): Run {
  const result = spawnSync('bash', [script, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 30_000,
    env: {
      PATH: `${dir}:${process.env.PATH ?? ''}`,
      HOME: dir,
      FAKE_LOG: log,
      ...env,
    },
  });
  const calls = existsSync(log)
    ? readFileSync(log, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => {
          expect(line.startsWith(`-n ${NS} `)).toBe(true);
          return line.slice(`-n ${NS} `.length);
        })
    : [];
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls };
}

const selectorPatch = (service: string, color: string) =>
  `patch service ${service} --type=merge -p {"spec":{"selector":{"app.kubernetes.io/color":"${color}"}}}`;
const changes = (calls: string[]) => calls.filter((call) => !/^(get|logs) /.test(call));

describe('k8s/scripts', () => {
  it.each([DEPLOY, ROLLBACK])('%s is strict bash with a usage text', (script) => {
    const text = readFileSync(script, 'utf8');
    expect(text.startsWith('#!/usr/bin/env bash\n')).toBe(true);
    expect(text).toMatch(/^set -euo pipefail$/m);
    expect(spawnSync('bash', ['-n', script]).status).toBe(0);
    const help = run(script, ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: k8s\/scripts\//);
    expect(help.stdout).toMatch(/--dry-run/);
    expect(help.calls).toEqual([]);
    const wrong = run(script, ['--no-such-flag']);
    expect(wrong.status).toBe(2);
    expect(wrong.stderr).toMatch(/unknown argument: --no-such-flag/);
    expect(wrong.stderr).toMatch(/Usage:/);
  });

  it('passes shellcheck, where it is installed', () => {
    const probe = spawnSync('shellcheck', ['--version']);
    if (probe.error) return; // not installed here; CI and the README ask for it
    // -x follows the `source` of cluster.sh, so its functions are checked with their callers.
    const result = spawnSync('shellcheck', ['-x', DEPLOY, ROLLBACK, CLUSTER], { encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});

describe('blue-green-deploy.sh', () => {
  it('needs an overlay', () => {
    const result = run(DEPLOY, []);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--overlay is required/);
  });

  it('deploys to the idle colour, verifies it through the preview Service, then switches', () => {
    const result = run(DEPLOY, ['--overlay', OVERLAY], { FAKE_LIVE: 'blue', FAKE_REPLICAS: '4' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    const smoke = result.calls.findIndex((call) => call.startsWith('run '));
    expect(result.calls[smoke]).toMatch(
      new RegExp(
        `^run groundwork-smoke-green-\\d+ --image=${IMAGE.replace(/[.]/g, '\\.')} --restart=Never --rm --attach .*` +
          '--labels=app\\.kubernetes\\.io/name=groundwork,app\\.kubernetes\\.io/component=smoke .*' +
          '--command -- node dist/src/cli/smoke\\.js --base-url http://groundwork-preview$',
      ),
    );
    const overrides = /--overrides=(\{.*\}) --pod-running-timeout/.exec(result.calls[smoke])![1];
    const pod = JSON.parse(overrides) as {
      spec: { containers: { securityContext: Record<string, unknown> }[] };
    };
    expect(pod.spec.containers[0].securityContext).toEqual(
      expect.objectContaining({ runAsNonRoot: true, readOnlyRootFilesystem: true }),
    );
    const calls = [...result.calls];
    calls[smoke] = 'run <smoke>';
    expect(calls.map((call) => call.replace(/switched-at=\S+/, 'switched-at=<now>'))).toEqual([
      'get service groundwork -o jsonpath={.spec.selector.app\\.kubernetes\\.io/color}',
      'delete job groundwork-migrate --ignore-not-found',
      `apply -k ${OVERLAY} -l app.kubernetes.io/color!=blue,!groundwork/traffic`,
      'wait --for=condition=complete --timeout=15m job/groundwork-migrate',
      'get deployment groundwork-blue -o jsonpath={.spec.replicas}',
      'scale deployment groundwork-green --replicas=4',
      'rollout status deployment groundwork-green --timeout=15m',
      selectorPatch('groundwork-preview', 'green'),
      'get deployment groundwork-green -o jsonpath={.spec.template.spec.containers[0].image}',
      'run <smoke>',
      selectorPatch('groundwork', 'green'),
      selectorPatch('groundwork-preview', 'blue'),
      'annotate service groundwork --overwrite groundwork/previous-color=blue groundwork/switched-at=<now>',
    ]);
    expect(result.stdout).toMatch(/Live: groundwork-green\. groundwork-blue keeps running/);
  });

  it('deploys to blue when green is live, with a KUBECTL override instead of PATH', () => {
    const result = run(DEPLOY, ['--overlay', OVERLAY, '--timeout', '5m'], {
      FAKE_LIVE: 'green',
      KUBECTL: join(dir, 'kubectl'),
      PATH: '/usr/bin:/bin',
    });
    expect(result.status).toBe(0);
    expect(result.calls).toEqual(
      expect.arrayContaining([
        `apply -k ${OVERLAY} -l app.kubernetes.io/color!=green,!groundwork/traffic`,
        'rollout status deployment groundwork-blue --timeout=5m',
        selectorPatch('groundwork', 'blue'),
      ]),
    );
  });

  it('does not switch traffic when the verification fails', () => {
    const result = run(DEPLOY, ['--overlay', OVERLAY], { FAKE_LIVE: 'blue', FAKE_SMOKE_EXIT: '1' });
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/deployment verification failed .* traffic stays on blue/);
    expect(result.calls.some((call) => call.startsWith('run groundwork-smoke-green-'))).toBe(true);
    expect(result.calls).not.toContain(selectorPatch('groundwork', 'green'));
    expect(result.calls.filter((call) => call.startsWith('patch service groundwork '))).toEqual([]);
    expect(result.calls.at(-1)).toMatch(/^run groundwork-smoke-green-/);
  });

  it('stops before scaling when the migrations fail, and before verifying when the rollout does', () => {
    const migrate = run(DEPLOY, ['--overlay', OVERLAY], {
      FAKE_LIVE: 'blue',
      FAKE_MIGRATE_EXIT: '1',
    });
    expect(migrate.status).toBe(1);
    expect(migrate.stderr).toMatch(/migration Job did not complete/);
    expect(changes(migrate.calls).at(-1)).toMatch(/^wait /);
    expect(migrate.calls.some((call) => call.startsWith('scale '))).toBe(false);

    const rollout = run(DEPLOY, ['--overlay', OVERLAY], {
      FAKE_LIVE: 'blue',
      FAKE_ROLLOUT_EXIT: '1',
    });
    expect(rollout.status).toBe(1);
    expect(rollout.stderr).toMatch(/groundwork-green did not become ready/);
    expect(rollout.calls.some((call) => call.startsWith('patch '))).toBe(false);
  });

  it('refuses without a live Service (the first deployment is a plain apply)', () => {
    const result = run(DEPLOY, ['--overlay', OVERLAY]);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/no Service groundwork in groundwork-production/);
    expect(changes(result.calls)).toEqual([]);
  });

  it('changes nothing with --dry-run, and prints what it would do', () => {
    const result = run(DEPLOY, ['--overlay', OVERLAY, '--dry-run'], { FAKE_LIVE: 'blue' });
    expect(result.status).toBe(0);
    expect(changes(result.calls)).toEqual([]);
    expect(result.stdout).toMatch(/\[dry-run\] kubectl -n groundwork-production apply -k/);
    expect(result.stdout).toMatch(
      /\[dry-run\] kubectl -n groundwork-production patch service groundwork /,
    );
  });
});

describe('rollback.sh', () => {
  it('switches back to the previous colour when it still has ready pods', () => {
    const result = run(ROLLBACK, ['--namespace', NS], { FAKE_LIVE: 'green', FAKE_READY: '3' });
    expect(result.status).toBe(0);
    expect(
      result.calls.map((call) => call.replace(/switched-at=\S+/, 'switched-at=<now>')),
    ).toEqual([
      'get service groundwork -o jsonpath={.spec.selector.app\\.kubernetes\\.io/color}',
      'get deployment groundwork-blue -o jsonpath={.status.readyReplicas}',
      selectorPatch('groundwork', 'blue'),
      selectorPatch('groundwork-preview', 'green'),
      'annotate service groundwork --overwrite groundwork/previous-color=green groundwork/switched-at=<now>',
    ]);
  });

  it('refuses when the previous colour has no ready pods, unless told to scale it first', () => {
    const refused = run(ROLLBACK, ['--namespace', NS], { FAKE_LIVE: 'blue' });
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/groundwork-green has no ready pods: rerun with --scale/);
    expect(changes(refused.calls)).toEqual([]);

    const scaled = run(ROLLBACK, ['--namespace', NS, '--scale'], {
      FAKE_LIVE: 'blue',
      FAKE_REPLICAS: '2',
    });
    expect(scaled.status).toBe(0);
    expect(changes(scaled.calls).slice(0, 3)).toEqual([
      'scale deployment groundwork-green --replicas=2',
      'rollout status deployment groundwork-green --timeout=10m',
      selectorPatch('groundwork', 'green'),
    ]);
  });

  it('keeps traffic where it is when the scaled colour does not become ready', () => {
    const result = run(ROLLBACK, ['--namespace', NS, '--scale'], {
      FAKE_LIVE: 'blue',
      FAKE_ROLLOUT_EXIT: '1',
    });
    expect(result.status).toBe(1);
    expect(result.calls.some((call) => call.startsWith('patch '))).toBe(false);
  });

  it('needs a namespace, and changes nothing with --dry-run', () => {
    expect(run(ROLLBACK, []).status).toBe(2);
    const result = run(ROLLBACK, ['--namespace', NS, '--dry-run'], {
      FAKE_LIVE: 'blue',
      FAKE_READY: '1',
    });
    expect(result.status).toBe(0);
    expect(changes(result.calls)).toEqual([]);
    expect(result.stdout).toMatch(
      /\[dry-run\] kubectl -n groundwork-production patch service groundwork /,
    );
  });
});
