import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import {
  PodMonitor,
  PrometheusRule,
} from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1';
import { Deployment, IDeployment } from 'kubernetes-models/apps/v1';
import {
  HorizontalPodAutoscaler,
  IHorizontalPodAutoscaler,
} from 'kubernetes-models/autoscaling/v2';
import { CronJob, ICronJob, IJob, Job } from 'kubernetes-models/batch/v1';
import { INetworkPolicy, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { IPodDisruptionBudget, PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  IConfigMap,
  IContainer,
  IPersistentVolumeClaim,
  IPodSpec,
  IProbe,
  ISecret,
  IService,
  PersistentVolumeClaim,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';
import {
  idOf,
  isObject,
  Manifest,
  podSpecsOf,
  readDocuments,
  readKustomization,
  readManifests,
  rel,
  render,
  ROOT,
  splitImage,
  usedFiles,
} from './support/kustomize';

/*
 * Checks the delivery files (docker/, k8s/, .dockerignore) without Docker or a
 * cluster: every Kubernetes document is validated against its kind's schema
 * (plus a strict unknown-field check the schemas lack), the overlays are
 * rendered by a small kustomize subset (./support/kustomize.ts, compared with
 * `kubectl kustomize` where one is installed), and the invariants that keep a
 * rollout safe are asserted on every rendering, for both colours.
 */

const K8S = join(ROOT, 'k8s');
const DOCKERFILE = join(ROOT, 'docker/Dockerfile');
const COMPOSE = join(ROOT, 'docker/compose.yml');
const SECRET_TEMPLATE = join(K8S, 'base/secret.example.yaml');
const OVERLAYS = ['staging', 'production', 'demo'] as const;
const RENDERINGS = ['base', ...OVERLAYS] as const;
type RenderingName = (typeof RENDERINGS)[number] | 'monitoring';
const COLORS = ['blue', 'green'] as const;
type Color = (typeof COLORS)[number];
const COLOR_LABEL = 'app.kubernetes.io/color';
const TRAFFIC_LABEL = 'groundwork/traffic';

const APP_NAME_LABEL = 'app.kubernetes.io/name';
const SELF_LABELS = { [APP_NAME_LABEL]: 'groundwork' };

/** The monitoring namespace the NetworkPolicy admits to the metrics port. */
const MONITORING_NAMESPACE = 'monitoring';

// ---------------------------------------------------------------- YAML

function listYamlFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return listYamlFiles(path);
    return /\.ya?ml$/.test(entry.name) ? [path] : [];
  });
}

// ---------------------------------------------------------------- schemas

type Validator = (value: unknown) => void;
const validator =
  <T>(Model: new (data: T) => { validate(): void }): Validator =>
  (value) =>
    new Model(value as T).validate();

/** Every kind the manifests may use; a new kind must be added here to be checked. */
const VALIDATORS: Record<string, Validator> = {
  'v1/ConfigMap': validator(ConfigMap),
  'v1/Secret': validator(Secret),
  'v1/Service': validator(Service),
  'v1/ServiceAccount': validator(ServiceAccount),
  'apps/v1/Deployment': validator(Deployment),
  'batch/v1/Job': validator(Job),
  'autoscaling/v2/HorizontalPodAutoscaler': validator(HorizontalPodAutoscaler),
  'policy/v1/PodDisruptionBudget': validator(PodDisruptionBudget),
  'networking.k8s.io/v1/NetworkPolicy': validator(NetworkPolicy),
  'v1/PersistentVolumeClaim': validator(PersistentVolumeClaim),
  'batch/v1/CronJob': validator(CronJob),
  'monitoring.coreos.com/v1/PrometheusRule': validator(PrometheusRule),
  'monitoring.coreos.com/v1/PodMonitor': validator(PodMonitor),
};

function validateSchema(m: Manifest): void {
  const validate = VALIDATORS[`${m.apiVersion}/${m.kind}`];
  if (!validate) throw new Error(`${idOf(m)}: no schema registered for ${m.apiVersion} ${m.kind}`);
  validate(m);
}

/*
 * The generated validators accept unknown properties, so a misspelt field
 * (`readinesProbe`) would pass and be dropped by the API server. The models'
 * type declarations list every field: walk them to find keys no type declares.
 */
const MODELS_ROOT = dirname(require.resolve('kubernetes-models'));
interface FieldType {
  file: string;
  array: boolean;
}
type Shape = Map<string, FieldType | undefined>;
const shapes = new Map<string, Shape | null>();

function declarationFile(fromFile: string, specifier: string): string {
  if (specifier.startsWith('.')) return resolve(dirname(fromFile), `${specifier}.d.ts`);
  const parts = specifier.split('/');
  const packageLength = parts[0].startsWith('@') ? 2 : 1;
  const packageRoot = dirname(require.resolve(parts.slice(0, packageLength).join('/')));
  return join(packageRoot, ...parts.slice(packageLength)) + '.d.ts';
}

function shapeOf(file: string): Shape | null {
  const cached = shapes.get(file);
  if (cached !== undefined) return cached;
  const text = readFileSync(file, 'utf8');
  const imports = new Map<string, string>();
  for (const [, names, from] of text.matchAll(/^import \{ ([^}]+) \} from "([^"]+)";$/gm)) {
    for (const name of names.split(',')) imports.set(name.trim(), from);
  }
  const body = /^export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}$/m.exec(text)?.[1];
  let shape: Shape | null = null;
  if (body !== undefined) {
    shape = new Map();
    for (const [, field, rawType] of body.matchAll(/^ {4}"([^"]+)"\??: (.+?);?$/gm)) {
      const array = /^Array<(\w+)>$/.exec(rawType);
      const from = imports.get(array ? array[1] : rawType);
      shape.set(field, from ? { file: declarationFile(file, from), array: !!array } : undefined);
    }
  }
  shapes.set(file, shape);
  return shape;
}

function unknownFields(value: unknown, file: string, path: string, found: string[]): string[] {
  const shape = shapeOf(file);
  if (!shape || !isObject(value)) return found;
  for (const [key, child] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    if (!shape.has(key)) {
      found.push(at);
      continue;
    }
    const type = shape.get(key);
    if (!type) continue;
    if (type.array && Array.isArray(child)) {
      child.forEach((item, index) => unknownFields(item, type.file, `${at}[${index}]`, found));
    } else if (!type.array) {
      unknownFields(child, type.file, at, found);
    }
  }
  return found;
}

/*
 * Custom resources (@kubernetes-models/prometheus-operator) declare their
 * fields inline, one nested type literal per level: read that tree.
 */
interface InlineField {
  node?: InlineNode;
  file?: string;
  array: boolean;
}
interface InlineNode {
  fields: Map<string, InlineField>;
  anyKey: boolean;
}
const inlineShapes = new Map<string, InlineNode>();

function inlineShapeOf(file: string): InlineNode {
  const cached = inlineShapes.get(file);
  if (cached) return cached;
  const text = readFileSync(file, 'utf8');
  const imports = new Map<string, string>();
  for (const [, names, from] of text.matchAll(/^import \{ ([^}]+) \} from "([^"]+)";$/gm)) {
    for (const name of names.split(',')) imports.set(name.trim(), from);
  }
  const body = /^export interface \w+ \{\n([\s\S]*?)\n\}$/m.exec(text)?.[1] ?? '';
  const root: InlineNode = { fields: new Map(), anyKey: false };
  const stack = [root];
  for (const raw of body.split('\n')) {
    const line = raw.trim();
    const top = stack[stack.length - 1];
    let match: RegExpExecArray | null;
    if ((match = /^"([^"]+)"\??: (Array<)?\{$/.exec(line))) {
      const node: InlineNode = { fields: new Map(), anyKey: false };
      top.fields.set(match[1], { node, array: !!match[2] });
      stack.push(node);
    } else if (/^\}>?;?$/.test(line) || /^\}>?\s*\|/.test(line)) {
      stack.pop();
    } else if (/^\[key: string\]/.test(line)) {
      top.anyKey = true;
    } else if ((match = /^"([^"]+)"\??: (.+?);$/.exec(line))) {
      const array = /^Array<(\w+)>$/.exec(match[2]);
      const from = imports.get(array ? array[1] : match[2]);
      top.fields.set(match[1], {
        file: from ? declarationFile(file, from) : undefined,
        array: !!array,
      });
    }
  }
  inlineShapes.set(file, root);
  return root;
}

function unknownInlineFields(
  value: unknown,
  node: InlineNode,
  path: string,
  found: string[],
): void {
  if (!isObject(value) || node.anyKey) return;
  for (const [key, child] of Object.entries(value)) {
    const at = path ? `${path}.${key}` : key;
    const field = node.fields.get(key);
    if (!field) {
      found.push(at);
      continue;
    }
    const items = field.array && Array.isArray(child) ? child : [child];
    items.forEach((item, index) => {
      const where = field.array ? `${at}[${index}]` : at;
      if (field.node) unknownInlineFields(item, field.node, where, found);
      else if (field.file) unknownFields(item, field.file, where, found);
    });
  }
}

const CUSTOM_MODELS_ROOT = dirname(require.resolve('@kubernetes-models/prometheus-operator'));

function unknownFieldsOf(m: Manifest): string[] {
  if (m.apiVersion.startsWith('monitoring.coreos.com/')) {
    const found: string[] = [];
    const file = join(CUSTOM_MODELS_ROOT, ...m.apiVersion.split('/'), `${m.kind}.d.ts`);
    unknownInlineFields(m, inlineShapeOf(file), '', found);
    return found;
  }
  return unknownFields(m, join(MODELS_ROOT, ...m.apiVersion.split('/'), `${m.kind}.d.ts`), '', []);
}

// ---------------------------------------------------------------- renderings

const renderings = new Map<RenderingName, Manifest[]>();
const renderingDir = (name: RenderingName): string =>
  name === 'base' || name === 'monitoring' ? join(K8S, name) : join(K8S, 'overlays', name);
function rendering(name: RenderingName): Manifest[] {
  let resources = renderings.get(name);
  if (!resources) {
    resources = render(renderingDir(name));
    renderings.set(name, resources);
  }
  return resources;
}

function find<T>(resources: Manifest[], kind: string, name?: string): T {
  const matches = resources.filter((m) => m.kind === kind && (!name || m.metadata.name === name));
  if (matches.length !== 1) {
    throw new Error(`expected one ${kind}${name ? ` named ${name}` : ''}, found ${matches.length}`);
  }
  return matches[0] as unknown as T;
}

const findAll = <T>(resources: Manifest[], kind: string): T[] =>
  resources.filter((m) => m.kind === kind) as unknown as T[];

// ---------------------------------------------------------------- project facts

const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  scripts: Record<string, string>;
};

/** The node command an npm script finally runs (after any `npm run build &&`). */
function scriptCommand(script: string): string[] {
  const line = packageJson.scripts[script];
  if (!line) throw new Error(`package.json has no "${script}" script`);
  return line
    .split('&&')
    .pop()!
    .trim()
    .replace(/^exec\s+/, '')
    .split(/\s+/);
}

/** Variable names of src/config/app-config.ts's `specs`, read as text. */
function appEnvNames(): Set<string> {
  const source = readFileSync(join(ROOT, 'src/config/app-config.ts'), 'utf8');
  const specs = /^const specs = \{\n([\s\S]*?)\n\};$/m.exec(source)?.[1];
  if (!specs) throw new Error('src/config/app-config.ts: no `const specs = { ... };` block');
  return new Set(Array.from(specs.matchAll(/^ {2}([A-Z][A-Z0-9_]*):/gm), (m) => m[1]));
}

/**
 * Variables the command-line tools read from the environment themselves, not
 * through app-config.ts: `env.NAME` in src/database/backup/ (PG_BIN_DIR).
 */
function toolEnvNames(): Set<string> {
  const dir = join(ROOT, 'src/database/backup');
  const names = new Set<string>();
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.spec.ts'))) {
    const source = readFileSync(join(dir, file), 'utf8');
    for (const [, name] of source.matchAll(/\benv\.([A-Z][A-Z0-9_]+)\b/g)) names.add(name);
  }
  return names;
}

/** The verification command k8s/scripts/blue-green-deploy.sh runs in the image. */
function smokeCommand(): string[] {
  const script = readFileSync(join(K8S, 'scripts/blue-green-deploy.sh'), 'utf8');
  const line = /^\s*SMOKE_COMMAND=\(([^)]*)\)/m.exec(script)?.[1];
  if (!line) throw new Error('k8s/scripts/blue-green-deploy.sh: no SMOKE_COMMAND=(...)');
  return line.split(/\s+/).filter(Boolean);
}

/** The PostgreSQL major whose client tools the image installs (ARG PG_MAJOR). */
function dockerfilePgMajor(): number {
  const arg = /^ARG PG_MAJOR=(\d+)$/m.exec(readFileSync(DOCKERFILE, 'utf8'))?.[1];
  if (!arg) throw new Error('docker/Dockerfile: no ARG PG_MAJOR=<major>');
  return Number(arg);
}

const matchesLabels = (selector: Record<string, string>, labels: Record<string, string> = {}) =>
  Object.keys(selector).length > 0 &&
  Object.entries(selector).every(([key, value]) => labels[key] === value);

/** CPU in cores, memory in bytes. */
function quantity(raw: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(String(raw));
  if (!match) throw new Error(`unreadable quantity "${raw}"`);
  const factor: Record<string, number> = {
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
  };
  return Number(match[1]) * (match[2] ? factor[match[2]] : 1);
}

/** The app's own rule for DATA_ENCRYPTION_KEYS: `id:base64key[,...]`, 32-byte keys. */
function isValidKeyRing(raw: string): boolean {
  const entries = raw.split(',').map((entry) => entry.trim());
  return (
    entries.length > 0 &&
    entries.every((entry) => {
      const [id, material, ...rest] = entry.split(':');
      return (
        /^[A-Za-z0-9_-]{1,32}$/.test(id ?? '') &&
        rest.length === 0 &&
        !!material &&
        Buffer.from(material, 'base64').length === 32
      );
    })
  );
}

const imageIsPinned = (image: string): boolean => {
  const { tag, digest } = splitImage(image);
  return !!digest || (!!tag && tag !== 'latest');
};

// ---------------------------------------------------------------- Kubernetes

interface PodOwner {
  owner: string;
  spec: IPodSpec;
  labels: Record<string, string>;
}

/** Every pod a rendering runs (both colours, the migration Job, the backup CronJob), with its labels. */
function podSpecs(resources: Manifest[]): PodOwner[] {
  return resources.flatMap((m) => {
    const specs = podSpecsOf(m);
    const template =
      m.kind === 'CronJob'
        ? (m as unknown as ICronJob).spec!.jobTemplate.spec!.template
        : (m.spec as { template?: { metadata?: { labels?: Record<string, string> } } })?.template;
    return specs.map((spec) => ({
      owner: idOf(m),
      spec,
      labels: template?.metadata?.labels ?? {},
    }));
  });
}

const other = (color: Color): Color => (color === 'blue' ? 'green' : 'blue');
const colorName = (color: Color) => `groundwork-${color}`;

/** A colour's objects with the colour taken out: what must be equal for both colours. */
function withoutColor(resources: Manifest[], color: Color): unknown[] {
  const objects = resources
    .filter((m) => m.metadata.labels?.[COLOR_LABEL] === color)
    .sort((a, b) => idOf(a).localeCompare(idOf(b)));
  return JSON.parse(
    JSON.stringify(objects)
      .replaceAll(`"${colorName(color)}"`, '"groundwork-COLOR"')
      .replaceAll(`"${COLOR_LABEL}":"${color}"`, `"${COLOR_LABEL}":"COLOR"`),
  ) as unknown[];
}

/** `kustomize build` or `kubectl kustomize`, when one is installed (CI runners have kubectl). */
const kustomizeCommand = ((): string[] | undefined => {
  for (const command of [
    ['kustomize', 'build'],
    ['kubectl', 'kustomize'],
  ]) {
    try {
      execFileSync(command[0], [...command.slice(1), '--help'], {
        stdio: 'ignore',
        timeout: 20_000,
      });
      return command;
    } catch {
      // not installed: try the next one
    }
  }
  return undefined;
})();

const byId = (resources: unknown[]): Record<string, unknown> =>
  Object.fromEntries(
    resources.map((value) => {
      const m = value as Manifest;
      return [`${m.apiVersion} ${idOf(m)} ${m.metadata.namespace ?? ''}`, value];
    }),
  );

describe('k8s/', () => {
  it('has the base and the staging, production and demo overlays', () => {
    expect(existsSync(join(K8S, 'base/kustomization.yaml'))).toBe(true);
    const overlays = readdirSync(join(K8S, 'overlays')).sort();
    expect(overlays).toEqual([...OVERLAYS].sort());
  });

  it('renders every kustomization, and every file is a kustomization, resource, patch, generator input or the Secret template', () => {
    for (const name of [...RENDERINGS, 'monitoring'] as const) rendering(name);
    const stray = listYamlFiles(K8S)
      .filter((file) => !usedFiles.has(file) && file !== SECRET_TEMPLATE)
      .map(rel);
    expect(stray).toEqual([]);
    expect(usedFiles.get(join(K8S, 'monitoring/grafana-dashboard.json'))).toBe('generated');
    for (const file of listYamlFiles(K8S)) readDocuments(file);
  });

  (kustomizeCommand ? it : it.skip).each([...RENDERINGS, 'monitoring'] as const)(
    'renders %s exactly as kustomize does',
    (name) => {
      const [command, ...args] = kustomizeCommand!;
      const output = execFileSync(command, [...args, renderingDir(name)], {
        encoding: 'utf8',
        timeout: 60_000,
      });
      const expected = Array.from(parseAllDocuments(output), (d) => d.toJS() as unknown);
      expect(byId(structuredClone(rendering(name)))).toEqual(byId(expected));
    },
  );

  it('keeps the Secret template out of every kustomization', () => {
    for (const name of RENDERINGS) rendering(name);
    expect(usedFiles.has(SECRET_TEMPLATE)).toBe(false);
    expect(rendering('base').filter((m) => m.kind === 'Secret')).toEqual([]);
  });

  it('lists every base manifest in the base kustomization, and the API once per colour', () => {
    const base = readKustomization(join(K8S, 'base/kustomization.yaml'));
    const files = readdirSync(join(K8S, 'base'))
      .filter((name) => /\.ya?ml$/.test(name))
      .filter((name) => !['kustomization.yaml', 'secret.example.yaml'].includes(name))
      .sort();
    expect([...(base.resources ?? [])].sort()).toEqual([...files, ...COLORS].sort());
    // The API's own files are rendered only through the colours.
    const api = readKustomization(join(K8S, 'base/api/kustomization.yaml'));
    const apiFiles = readdirSync(join(K8S, 'base/api'))
      .filter((name) => /\.ya?ml$/.test(name) && name !== 'kustomization.yaml')
      .sort();
    expect([...(api.resources ?? [])].sort()).toEqual(apiFiles);
  });

  it.each(COLORS)(
    'renders the %s colour from api/ with its name suffix and colour label in every selector',
    (color) => {
      const k = readKustomization(join(K8S, 'base', color, 'kustomization.yaml'));
      expect(k).toEqual({
        apiVersion: 'kustomize.config.k8s.io/v1beta1',
        kind: 'Kustomization',
        nameSuffix: `-${color}`,
        labels: [{ pairs: { [COLOR_LABEL]: color }, includeSelectors: true }],
        resources: ['../api'],
      });
    },
  );

  it('resolves each overlay from the base, with its own namespace, image tag and one size for both colours', () => {
    const namespaces = new Set<string>();
    for (const overlay of OVERLAYS) {
      const k = readKustomization(join(K8S, 'overlays', overlay, 'kustomization.yaml'));
      expect(k.resources).toContain('../../base');
      for (const entry of [...(k.resources ?? []), ...(k.patches ?? []).map((p) => p.path!)]) {
        expect(existsSync(resolve(K8S, 'overlays', overlay, entry))).toBe(true);
      }
      expect(k.namespace).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(k.namespace).not.toBe(MONITORING_NAMESPACE);
      namespaces.add(k.namespace!);
      expect(k.images).toEqual([
        expect.objectContaining({ name: 'groundwork', newTag: expect.any(String) }),
      ]);
      expect(k.images![0].newTag).not.toBe('latest');
      const count = k.replicas?.[0]?.count;
      expect(k.replicas).toEqual(COLORS.map((color) => ({ name: colorName(color), count })));
      expect(count).toBeGreaterThanOrEqual(1);
    }
    expect(namespaces.size).toBe(OVERLAYS.length);
  });

  it('validates the Secret template against the Secret schema', () => {
    const [secret, ...rest] = readManifests(SECRET_TEMPLATE);
    expect(rest).toEqual([]);
    expect(secret.kind).toBe('Secret');
    expect(() => validateSchema(secret)).not.toThrow();
    expect(unknownFieldsOf(secret)).toEqual([]);
  });

  it('documents the three required secrets with placeholders the app refuses to start with', () => {
    const secret = readManifests(SECRET_TEMPLATE)[0] as unknown as ISecret;
    const data = secret.stringData ?? {};
    expect(Object.keys(data).sort()).toEqual(
      expect.arrayContaining(['DATA_ENCRYPTION_KEYS', 'DATABASE_URL', 'JWT_SECRET']),
    );
    expect(data.JWT_SECRET.length).toBeLessThan(32);
    expect(isValidKeyRing(data.DATA_ENCRYPTION_KEYS)).toBe(false);
    expect(data.DATABASE_URL).toMatch(/^postgres(ql)?:\/\/[^@]+@[^/]+\/\w+/);
    expect(readFileSync(SECRET_TEMPLATE, 'utf8')).toMatch(/openssl rand -base64 32/);
  });

  describe('the renderer', () => {
    it('renames the references kustomize renames: scaleTargetRef follows the suffix, outside names stay', () => {
      for (const color of COLORS) {
        const hpa = find<IHorizontalPodAutoscaler>(
          rendering('base'),
          'HorizontalPodAutoscaler',
          colorName(color),
        );
        expect(hpa.spec!.scaleTargetRef.name).toBe(colorName(color));
        const pod = find<IDeployment>(rendering('base'), 'Deployment', colorName(color)).spec!
          .template.spec!;
        // The ConfigMap and ServiceAccount are outside the colour: their names are unchanged.
        expect(pod.serviceAccountName).toBe('groundwork');
        expect(pod.containers[0].envFrom![0].configMapRef!.name).toBe('groundwork-config');
      }
    });
  });

  describe('the strict field check', () => {
    it('reports a misspelt field at any depth', () => {
      const deployment = structuredClone(
        find<Manifest>(rendering('base'), 'Deployment', colorName('blue')),
      );
      const container = (deployment as unknown as IDeployment).spec!.template.spec!.containers[0];
      Object.assign(container, { readinesProbe: container.readinessProbe });
      Object.assign(container.securityContext!, { readOnlyRootFileSystem: true });
      Object.assign(deployment, { spc: {} });
      expect(unknownFieldsOf(deployment).sort()).toEqual([
        'spc',
        'spec.template.spec.containers[0].readinesProbe',
        'spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem',
      ]);
    });

    it('reports misspelt fields of custom resources too', () => {
      const monitor = structuredClone(find<Manifest>(rendering('monitoring'), 'PodMonitor'));
      const spec = monitor.spec as { podMetricsEndpoints: Record<string, unknown>[] };
      Object.assign(spec.podMetricsEndpoints[0], { scrapeTimeOut: '10s' });
      Object.assign(monitor.metadata, { lables: {} });
      expect(unknownFieldsOf(monitor).sort()).toEqual([
        'metadata.lables',
        'spec.podMetricsEndpoints[0].scrapeTimeOut',
      ]);
    });

    it('is backed by a schema that rejects wrong types', () => {
      const configMap = structuredClone(
        find<Manifest>(rendering('base'), 'ConfigMap', 'groundwork-config'),
      );
      (configMap.data as Record<string, unknown>).PORT = 3000;
      expect(() => validateSchema(configMap)).toThrow(/must be string/);
    });
  });

  describe.each(RENDERINGS)('rendered %s', (name) => {
    const resources = () => rendering(name);
    const deployment = (color: Color) =>
      find<IDeployment>(resources(), 'Deployment', colorName(color));
    const job = () => find<IJob>(resources(), 'Job', 'groundwork-migrate');
    const backups = () =>
      findAll<ICronJob>(resources(), 'CronJob').filter(
        (c) => c.metadata!.labels?.['app.kubernetes.io/component'] === 'backup',
      );
    const appContainer = (color: Color): IContainer => {
      const containers = deployment(color).spec!.template.spec!.containers;
      expect(containers).toHaveLength(1);
      return containers[0];
    };
    const podLabels = (color: Color) => deployment(color).spec!.template.metadata!.labels ?? {};
    const jobPodLabels = () => job().spec!.template.metadata!.labels ?? {};
    const configData = () => {
      const ref = appContainer('blue').envFrom?.find((source) => source.configMapRef)?.configMapRef;
      return find<IConfigMap>(resources(), 'ConfigMap', ref?.name).data ?? {};
    };

    it('contains only valid objects of known kinds, without unknown fields', () => {
      for (const m of resources()) {
        expect(() => validateSchema(m)).not.toThrow();
        expect({ [idOf(m)]: unknownFieldsOf(m) }).toEqual({ [idOf(m)]: [] });
      }
      const kinds = resources().map((m) => m.kind);
      expect(kinds).toEqual(
        expect.arrayContaining([
          'ConfigMap',
          'Deployment',
          'HorizontalPodAutoscaler',
          'Job',
          'NetworkPolicy',
          'Service',
          'ServiceAccount',
        ]),
      );
      if (name !== 'demo')
        expect(kinds).toEqual(expect.arrayContaining(['CronJob', 'PersistentVolumeClaim']));
    });

    it('labels every object app.kubernetes.io/name: groundwork', () => {
      for (const m of resources()) {
        expect({ [idOf(m)]: m.metadata.labels }).toEqual({
          [idOf(m)]: expect.objectContaining(SELF_LABELS),
        });
      }
      for (const { owner, labels } of podSpecs(resources())) {
        expect({ owner, labels }).toEqual({ owner, labels: expect.objectContaining(SELF_LABELS) });
      }
    });

    it('runs the API as exactly two colours, each a Deployment, HPA (and PDB) of its own', () => {
      const deployments = findAll<IDeployment>(resources(), 'Deployment');
      expect(deployments.map((d) => d.metadata!.name).sort()).toEqual(COLORS.map(colorName));
      for (const color of COLORS) {
        for (const m of resources().filter((r) => r.metadata.labels?.[COLOR_LABEL] === color)) {
          expect(m.metadata.name).toBe(colorName(color));
        }
        expect(podLabels(color)[COLOR_LABEL]).toBe(color);
        expect(podLabels(color)['app.kubernetes.io/component']).toBe('api');
      }
    });

    it('renders both colours identically except for their colour and names', () => {
      expect(withoutColor(resources(), 'green')).toEqual(withoutColor(resources(), 'blue'));
      expect(withoutColor(resources(), 'blue').length).toBeGreaterThanOrEqual(2);
    });

    it.each(COLORS)(
      '%s selects its own pods only, in its selector and its spread constraint',
      (color) => {
        const spec = deployment(color).spec!;
        expect(spec.selector.matchExpressions).toBeUndefined();
        const selector = spec.selector.matchLabels ?? {};
        expect(selector[COLOR_LABEL]).toBe(color);
        expect(matchesLabels(selector, podLabels(color))).toBe(true);
        expect(matchesLabels(selector, podLabels(other(color)))).toBe(false);
        for (const constraint of spec.template.spec!.topologySpreadConstraints ?? []) {
          expect(constraint.labelSelector?.matchLabels).toEqual(selector);
        }
      },
    );

    it('routes the live and preview Services to exactly one colour each, on the named http port', () => {
      const pods = podSpecs(resources());
      const selected = ['groundwork', 'groundwork-preview'].map((serviceName) => {
        const service = find<IService>(resources(), 'Service', serviceName);
        expect(service.spec!.type ?? 'ClusterIP').toBe('ClusterIP');
        expect(service.spec!.ports).toEqual([
          expect.objectContaining({ port: 80, targetPort: 'http', name: 'http' }),
        ]);
        const selector = service.spec!.selector ?? {};
        const owners = pods
          .filter((pod) => matchesLabels(selector, pod.labels))
          .map((p) => p.owner);
        expect({ serviceName, owners }).toEqual({
          serviceName,
          owners: [expect.stringMatching(/^Deployment\/groundwork-(blue|green)$/)],
        });
        return selector[COLOR_LABEL];
      });
      expect(new Set(selected).size).toBe(2);
      expect(
        find<IService>(resources(), 'Service', 'groundwork').metadata!.labels![TRAFFIC_LABEL],
      ).toBe('live');
      expect(
        find<IService>(resources(), 'Service', 'groundwork-preview').metadata!.labels![
          TRAFFIC_LABEL
        ],
      ).toBe('preview');
      // The scripts leave the Services out of a release's apply by this label, and only them.
      expect(
        resources()
          .filter((m) => m.metadata.labels?.[TRAFFIC_LABEL])
          .map(idOf)
          .sort(),
      ).toEqual(['Service/groundwork', 'Service/groundwork-preview']);
    });

    it.each(COLORS)(
      '%s probes /health/live (startup, liveness) and /health/ready (readiness) on the named port',
      (color) => {
        const container = appContainer(color);
        const ports = container.ports ?? [];
        expect(new Set(ports.map((p) => p.name)).size).toBe(ports.length);
        const http = ports.find((port) => port.name === 'http');
        expect(http?.containerPort).toBe(Number(configData().PORT));
        const probe = (p: IProbe | undefined) =>
          p?.httpGet && { path: p.httpGet.path, port: p.httpGet.port };
        expect(probe(container.startupProbe)).toEqual({ path: '/health/live', port: 'http' });
        expect(probe(container.livenessProbe)).toEqual({ path: '/health/live', port: 'http' });
        expect(probe(container.readinessProbe)).toEqual({ path: '/health/ready', port: 'http' });
        // The readiness check pings the database with HEALTH_DB_TIMEOUT_MS; the
        // probe must wait longer, or a slow database looks like a dead pod.
        const dbTimeout = Number(configData().HEALTH_DB_TIMEOUT_MS);
        expect(dbTimeout).toBeGreaterThan(0);
        expect((container.readinessProbe!.timeoutSeconds ?? 1) * 1000).toBeGreaterThan(dbTimeout);
        // The startup probe gives a cold start (pool, Nest modules) at least 30 s.
        const startup = container.startupProbe!;
        expect(
          (startup.periodSeconds ?? 10) * (startup.failureThreshold ?? 3),
        ).toBeGreaterThanOrEqual(30);
      },
    );

    it('probes paths the app serves', () => {
      const controller = readFileSync(join(ROOT, 'src/health/health.controller.ts'), 'utf8');
      expect(controller).toMatch(/@Controller\('health'\)/);
      expect(controller).toMatch(/@Get\('live'\)/);
      expect(controller).toMatch(/@Get\('ready'\)/);
    });

    it.each(COLORS)(
      '%s exposes the metrics port the ConfigMap gives METRICS_PORT, and no other',
      (color) => {
        const ports = appContainer(color).ports ?? [];
        const metricsPort = configData().METRICS_PORT;
        if (metricsPort === undefined) {
          expect(ports.map((p) => p.name)).toEqual(['http']);
          return;
        }
        expect(Number(metricsPort)).not.toBe(Number(configData().PORT));
        expect(ports.map((p) => [p.name, p.containerPort])).toEqual([
          ['http', Number(configData().PORT)],
          ['metrics', Number(metricsPort)],
        ]);
      },
    );

    it('runs the image CMD from package.json start:prod, not a command of its own', () => {
      for (const color of COLORS) {
        expect(appContainer(color).command).toBeUndefined();
        expect(appContainer(color).args).toBeUndefined();
      }
    });

    it('runs every pod as non-root with a read-only root filesystem, no privileges and /tmp on an emptyDir', () => {
      const pods = podSpecs(resources());
      expect(pods.length).toBeGreaterThanOrEqual(name === 'demo' ? 3 : 4);
      for (const { owner, spec } of pods) {
        expect({ owner, pod: spec.securityContext }).toEqual({
          owner,
          pod: expect.objectContaining({
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          }),
        });
        expect(spec.automountServiceAccountToken).toBe(false);
        expect(spec.enableServiceLinks).toBe(false);
        const tmp = spec.volumes?.find((volume) => volume.emptyDir !== undefined);
        expect({ owner, tmp: !!tmp }).toEqual({ owner, tmp: true });
        for (const container of [...spec.containers, ...(spec.initContainers ?? [])]) {
          const context = container.securityContext;
          expect({ owner, container: container.name, context }).toEqual({
            owner,
            container: container.name,
            context: expect.objectContaining({
              runAsNonRoot: true,
              runAsUser: 1000,
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
              seccompProfile: { type: 'RuntimeDefault' },
            }),
          });
          expect(context?.capabilities?.drop).toContain('ALL');
          expect(context?.capabilities?.add ?? []).toEqual([]);
          expect(container.volumeMounts).toContainEqual(
            expect.objectContaining({ name: tmp!.name, mountPath: '/tmp' }),
          );
        }
      }
    });

    it('sizes every container with requests no larger than its limits', () => {
      for (const { owner, spec } of podSpecs(resources())) {
        for (const container of spec.containers) {
          const { requests = {}, limits = {} } = container.resources ?? {};
          for (const resource of ['cpu', 'memory']) {
            expect({ owner, resource, request: requests[resource] }).toEqual({
              owner,
              resource,
              request: expect.anything(),
            });
            expect({ owner, resource, limit: limits[resource] }).toEqual({
              owner,
              resource,
              limit: expect.anything(),
            });
            expect(quantity(requests[resource])).toBeLessThanOrEqual(quantity(limits[resource]));
          }
        }
      }
    });

    it('uses one pinned image for both colours, the migration Job and the backup CronJob', () => {
      const images = new Set<string>();
      for (const { owner, spec } of podSpecs(resources())) {
        for (const container of spec.containers) {
          expect({
            owner,
            image: container.image,
            pinned: imageIsPinned(container.image!),
          }).toEqual({ owner, image: container.image, pinned: true });
          images.add(container.image!);
        }
      }
      expect([...images]).toEqual([appContainer('blue').image]);
    });

    it('drains gracefully: SHUTDOWN_DELAY_MS 5000 within a 30 s grace period, no migration at start', () => {
      for (const color of COLORS) {
        const pod = deployment(color).spec!.template.spec!;
        expect(pod.terminationGracePeriodSeconds).toBe(30);
        const env = Object.fromEntries(
          (appContainer(color).env ?? []).map((e) => [e.name, e.value]),
        );
        expect(env.SHUTDOWN_DELAY_MS).toBe('5000');
        expect(env.MIGRATE_ON_START).toBe('false');
        // Leave at least 10 s after the delay for in-flight requests and the pool to close.
        expect(Number(env.SHUTDOWN_DELAY_MS) + 10_000).toBeLessThanOrEqual(
          pod.terminationGracePeriodSeconds! * 1000,
        );
        expect(deployment(color).spec!.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
      }
    });

    it('reads its configuration from the ConfigMap and the groundwork-secrets Secret, in every pod', () => {
      const envFrom = appContainer('blue').envFrom ?? [];
      const configMap = envFrom.find((source) => source.configMapRef)?.configMapRef?.name;
      const secret = envFrom.find((source) => source.secretRef)?.secretRef?.name;
      expect(resources().some((m) => m.kind === 'ConfigMap' && m.metadata.name === configMap)).toBe(
        true,
      );
      expect(secret).toBe(readManifests(SECRET_TEMPLATE)[0].metadata.name);
      expect(configData().NODE_ENV).toBe('production');
      for (const { owner, spec } of podSpecs(resources())) {
        expect({ owner, envFrom: spec.containers[0].envFrom }).toEqual({ owner, envFrom });
      }
    });

    it.each(COLORS)('autoscales %s on 70%% CPU from its declared replica count', (color) => {
      const hpa = find<IHorizontalPodAutoscaler>(
        resources(),
        'HorizontalPodAutoscaler',
        colorName(color),
      );
      expect(hpa.spec!.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: colorName(color),
      });
      expect(hpa.spec!.metrics).toContainEqual({
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      });
      // Utilization is measured against requests; without one the HPA cannot act.
      expect(appContainer(color).resources?.requests?.cpu).toBeDefined();
      expect(hpa.spec!.minReplicas).toBe(deployment(color).spec!.replicas);
      expect(hpa.spec!.maxReplicas).toBeGreaterThan(hpa.spec!.minReplicas!);
    });

    it.each(COLORS)('protects %s with a PDB of its own that never blocks a node drain', (color) => {
      const pdbs = findAll<IPodDisruptionBudget>(resources(), 'PodDisruptionBudget').filter((pdb) =>
        matchesLabels(pdb.spec!.selector!.matchLabels ?? {}, podLabels(color)),
      );
      const replicas = deployment(color).spec!.replicas!;
      if (replicas === 1) {
        // minAvailable 1 of 1 would make every eviction impossible.
        expect(pdbs).toEqual([]);
        return;
      }
      expect(pdbs).toHaveLength(1);
      expect(pdbs[0].metadata!.name).toBe(colorName(color));
      expect(pdbs[0].spec!.minAvailable).toBe(1);
      expect(
        matchesLabels(pdbs[0].spec!.selector!.matchLabels ?? {}, podLabels(other(color))),
      ).toBe(false);
    });

    it('limits network traffic: the app port from anywhere, metrics only from monitoring, narrow egress', () => {
      const policy = find<INetworkPolicy>(resources(), 'NetworkPolicy');
      const selector = policy.spec!.podSelector.matchLabels ?? {};
      for (const { owner, labels } of podSpecs(resources())) {
        expect({ owner, selected: matchesLabels(selector, labels) }).toEqual({
          owner,
          selected: true,
        });
      }
      expect(policy.spec!.policyTypes).toEqual(expect.arrayContaining(['Ingress', 'Egress']));

      const port = Number(configData().PORT);
      const metricsPort = configData().METRICS_PORT;
      const ingress = (policy.spec!.ingress ?? []).map((rule) => {
        expect(rule.ports?.length).toBeGreaterThan(0);
        return {
          from: rule.from,
          ports: rule.ports!.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`),
        };
      });
      expect(ingress).toEqual([
        { from: undefined, ports: [`${port}/TCP`] },
        ...(metricsPort === undefined
          ? []
          : [
              {
                from: [
                  {
                    namespaceSelector: {
                      matchLabels: { 'kubernetes.io/metadata.name': MONITORING_NAMESPACE },
                    },
                  },
                ],
                ports: [`${metricsPort}/TCP`],
              },
            ]),
      ]);

      const egressPorts = (policy.spec!.egress ?? []).flatMap((rule) => {
        // A rule without ports would open every port to its peers.
        expect(rule.ports?.length).toBeGreaterThan(0);
        return rule.ports!.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`);
      });
      expect(egressPorts.sort()).toEqual(
        ['53/UDP', '53/TCP', '5432/TCP', '6379/TCP', '587/TCP', '443/TCP', `${port}/TCP`].sort(),
      );
      // The app port only towards the API pods (the verification pod calls the preview Service).
      const toApi = policy.spec!.egress!.find((rule) => rule.ports!.some((p) => p.port === port))!;
      expect(toApi.ports).toHaveLength(1);
      expect(toApi.to).toEqual([
        {
          podSelector: {
            matchLabels: { [APP_NAME_LABEL]: 'groundwork', 'app.kubernetes.io/component': 'api' },
          },
        },
      ]);
    });

    it('migrates with a Job that runs package.json "migrate" in the same image, env and sandbox', () => {
      const migrate = job();
      expect(migrate.spec!.backoffLimit).toBe(2);
      const pod = migrate.spec!.template.spec!;
      expect(pod.restartPolicy).toBe('Never');
      expect(pod.containers).toHaveLength(1);
      const container = pod.containers[0];
      expect([...(container.command ?? []), ...(container.args ?? [])]).toEqual(
        scriptCommand('migrate'),
      );
      expect(container.envFrom).toEqual(appContainer('blue').envFrom);
      expect(container.securityContext).toEqual(appContainer('blue').securityContext);
      expect(pod.securityContext).toEqual(deployment('blue').spec!.template.spec!.securityContext);
      expect(migrate.metadata!.labels!['app.kubernetes.io/component']).toBe('migrate');
      expect(
        matchesLabels(
          find<IService>(resources(), 'Service', 'groundwork').spec!.selector!,
          jobPodLabels(),
        ),
      ).toBe(false);
    });

    it("backs up nightly with the image's backup CLI into the backups volume, one run at a time", () => {
      if (name === 'demo') {
        expect(backups()).toEqual([]);
        expect(findAll(resources(), 'PersistentVolumeClaim')).toEqual([]);
        return;
      }
      const [cron, ...more] = backups();
      expect(more).toEqual([]);
      expect(cron.spec!.concurrencyPolicy).toBe('Forbid');
      expect(cron.spec!.timeZone).toBe('Etc/UTC');
      const pod = cron.spec!.jobTemplate.spec!.template.spec!;
      expect(pod.restartPolicy).toBe('Never');
      const [container] = pod.containers;
      const command = [...(container.command ?? []), ...(container.args ?? [])];
      expect(command.slice(0, 3)).toEqual([
        'node',
        '--enable-source-maps',
        'dist/src/cli/backup.js',
      ]);
      const options = command.slice(3).join(' ');
      const dir = /--dir (\S+)/.exec(options)?.[1];
      expect(options).toMatch(/^--dir \/\S+ --keep [1-9]\d* --verify$/);
      // The folder is the claimed volume, and the claim is part of the rendering.
      const mount = container.volumeMounts!.find((m) => m.mountPath === dir)!;
      const volume = pod.volumes!.find((v) => v.name === mount.name)!;
      const claim = find<IPersistentVolumeClaim>(
        resources(),
        'PersistentVolumeClaim',
        volume.persistentVolumeClaim!.claimName,
      );
      expect(claim.spec!.accessModes).toEqual(['ReadWriteOnce']);
      // pg_dump of the production major, which the Dockerfile installs.
      const env = Object.fromEntries((container.env ?? []).map((e) => [e.name, e.value]));
      expect(env.PG_BIN_DIR).toBe(`/usr/lib/postgresql/${dockerfilePgMajor()}/bin`);
      expect(container.securityContext).toEqual(appContainer('blue').securityContext);
      expect(pod.securityContext).toEqual(deployment('blue').spec!.template.spec!.securityContext);
      // When package.json has a "backup" script, the CronJob runs the same entry point.
      if (packageJson.scripts.backup) expect(scriptCommand('backup')).toEqual(command.slice(0, 3));
    });
  });

  describe('overlays', () => {
    it.each(OVERLAYS)(
      '%s puts every object in its namespace and pulls from a registry',
      (overlay) => {
        const k = readKustomization(join(K8S, 'overlays', overlay, 'kustomization.yaml'));
        for (const m of rendering(overlay)) expect(m.metadata.namespace).toBe(k.namespace);
        for (const { spec } of podSpecs(rendering(overlay))) {
          const image = spec.containers[0].image!;
          expect(image).toBe(`${k.images![0].newName}:${k.images![0].newTag}`);
          expect(splitImage(image).name).toContain('/');
        }
      },
    );

    it('runs production on 3 replicas per colour with more CPU and memory than the base', () => {
      const container = (name: RenderingName, color: Color) =>
        find<IDeployment>(rendering(name), 'Deployment', colorName(color)).spec!.template.spec!
          .containers[0];
      for (const color of COLORS) {
        expect(
          find<IDeployment>(rendering('production'), 'Deployment', colorName(color)).spec!.replicas,
        ).toBe(3);
        for (const kind of ['requests', 'limits'] as const) {
          for (const resource of ['cpu', 'memory']) {
            expect(
              quantity(container('production', color).resources![kind]![resource]),
            ).toBeGreaterThan(quantity(container('base', color).resources![kind]![resource]));
          }
        }
      }
    });

    it('resets the demo world nightly with package.json "demo:reset", one run at a time, in the app\'s image, env and sandbox', () => {
      const resources = rendering('demo');
      const cron = find<ICronJob>(resources, 'CronJob', 'groundwork-demo-reset');
      expect(cron.spec!.schedule).toBe('0 3 * * *');
      expect(cron.spec!.timeZone).toBe('Etc/UTC');
      expect(cron.spec!.concurrencyPolicy).toBe('Forbid');
      const pod = cron.spec!.jobTemplate.spec!.template.spec!;
      expect(pod.restartPolicy).toBe('Never');
      const [container, ...others] = pod.containers;
      expect(others).toEqual([]);
      expect([...(container.command ?? []), ...(container.args ?? [])]).toEqual(
        scriptCommand('demo:reset'),
      );
      const api = find<IDeployment>(resources, 'Deployment', colorName('blue')).spec!.template
        .spec!;
      expect(container.image).toBe(api.containers[0].image);
      expect(container.envFrom).toEqual(api.containers[0].envFrom);
      expect(container.securityContext).toEqual(api.containers[0].securityContext);
      expect(pod.securityContext).toEqual(api.securityContext);
      // Only the demo resets itself.
      for (const overlay of OVERLAYS.filter((o) => o !== 'demo')) {
        expect(
          findAll<ICronJob>(rendering(overlay), 'CronJob').map((c) => c.metadata!.name),
        ).not.toContain('groundwork-demo-reset');
      }
    });

    it('gives each overlay its own public URL', () => {
      const urls = OVERLAYS.map(
        (overlay) =>
          find<IConfigMap>(rendering(overlay), 'ConfigMap', 'groundwork-config').data!.PUBLIC_URL,
      );
      for (const url of urls) expect(url).toMatch(/^https:\/\//);
      expect(new Set(urls).size).toBe(OVERLAYS.length);
    });
  });

  describe('monitoring/', () => {
    const resources = () => rendering('monitoring');

    it('holds valid objects only, in the namespace the NetworkPolicy admits to the metrics port', () => {
      for (const m of resources()) {
        expect(() => validateSchema(m)).not.toThrow();
        expect({ [idOf(m)]: unknownFieldsOf(m) }).toEqual({ [idOf(m)]: [] });
        expect(m.metadata.namespace).toBe(MONITORING_NAMESPACE);
        expect(m.metadata.labels).toEqual(expect.objectContaining(SELF_LABELS));
      }
      expect(resources().map(idOf).sort()).toEqual([
        'ConfigMap/groundwork-dashboard',
        'PodMonitor/groundwork',
        'PrometheusRule/groundwork',
      ]);
    });

    it('scrapes both colours on their metrics port, as job="groundwork"', () => {
      const monitor = find<Manifest>(resources(), 'PodMonitor') as unknown as {
        spec: {
          jobLabel: string;
          namespaceSelector: { any?: boolean };
          selector: { matchLabels: Record<string, string> };
          podMetricsEndpoints: { port: string; path: string; scrapeTimeout?: string }[];
        };
      };
      expect(monitor.spec.namespaceSelector.any).toBe(true);
      const base = rendering('base');
      for (const { owner, labels } of podSpecs(base)) {
        const api = owner.startsWith('Deployment/');
        expect({
          owner,
          scraped: matchesLabels(monitor.spec.selector.matchLabels, labels),
        }).toEqual({
          owner,
          scraped: api,
        });
        if (api) expect(labels[monitor.spec.jobLabel]).toBe('groundwork');
      }
      const [endpoint] = monitor.spec.podMetricsEndpoints;
      expect(endpoint.path).toBe('/metrics');
      const ports = find<IDeployment>(base, 'Deployment', colorName('blue')).spec!.template.spec!
        .containers[0].ports!;
      expect(ports.map((p) => p.name)).toContain(endpoint.port);
    });

    it('ships the dashboard to the Grafana sidecar as a labelled ConfigMap', () => {
      const configMap = find<IConfigMap>(resources(), 'ConfigMap', 'groundwork-dashboard');
      expect(configMap.metadata!.labels!.grafana_dashboard).toBe('1');
      const data = configMap.data ?? {};
      expect(Object.keys(data)).toEqual(['grafana-dashboard.json']);
      expect(data['grafana-dashboard.json']).toBe(
        readFileSync(join(K8S, 'monitoring/grafana-dashboard.json'), 'utf8'),
      );
      expect(() => JSON.parse(data['grafana-dashboard.json']) as unknown).not.toThrow();
      // kubectl apply keeps a copy in an annotation, limited to 256 KiB.
      expect(Buffer.byteLength(data['grafana-dashboard.json'])).toBeLessThan(200 * 1024);
    });
  });
});

// ---------------------------------------------------------------- Dockerfile

interface Instruction {
  keyword: string;
  args: string;
}
interface Stage {
  from: string;
  name?: string;
  instructions: Instruction[];
}

function readDockerfile(): { args: Record<string, string>; stages: Stage[] } {
  const lines = readFileSync(DOCKERFILE, 'utf8')
    .replace(/\\\r?\n/g, ' ')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  const args: Record<string, string> = {};
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword, rest] = /^(\w+)\s*(.*)$/.exec(line)!;
    const instruction = { keyword: keyword.toUpperCase(), args: rest.trim() };
    if (instruction.keyword === 'FROM') {
      const substituted = instruction.args.replace(
        /\$\{(\w+)\}|\$(\w+)/g,
        (_, a?: string, b?: string) => args[(a ?? b)!] ?? '',
      );
      const [, from, name] = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(substituted)!;
      stages.push({ from, name, instructions: [] });
    } else if (stages.length === 0) {
      if (instruction.keyword !== 'ARG') throw new Error(`Dockerfile: ${keyword} before FROM`);
      const [, argName, value = ''] = /^(\w+)(?:=(.*))?$/.exec(instruction.args)!;
      args[argName] = value.replace(/^"(.*)"$/, '$1');
    } else {
      stages[stages.length - 1].instructions.push(instruction);
    }
  }
  return { args, stages };
}

const instructionsOf = (stage: Stage, keyword: string) =>
  stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);

/** The stage a stage is built on, following `FROM <stage>` chains to the image. */
function lineage(stages: Stage[], stage: Stage): Stage[] {
  const parent = stages.find((s) => s.name === stage.from);
  return parent ? [...lineage(stages, parent), stage] : [stage];
}

const envOf = (stage: Stage): Record<string, string> =>
  Object.fromEntries(
    instructionsOf(stage, 'ENV').flatMap((args) =>
      Array.from(args.matchAll(/(\w+)=("[^"]*"|\S+)/g), (m) => [m[1], m[2].replace(/^"|"$/g, '')]),
    ),
  );

/** Minimal .dockerignore matching: `*`, `**`, `?`, and `!` exceptions, last match wins. */
function isDockerIgnored(path: string): boolean {
  const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  let ignored = false;
  for (const raw of patterns) {
    const negated = raw.startsWith('!');
    const pattern = (negated ? raw.slice(1) : raw).replace(/^\/+|\/+$/g, '');
    const regex = new RegExp(
      '^' +
        pattern
          .split(/(\*\*\/|\*\*|\*|\?)/)
          .map((part) =>
            part === '**/'
              ? '(?:.*/)?'
              : part === '**'
                ? '.*'
                : part === '*'
                  ? '[^/]*'
                  : part === '?'
                    ? '[^/]'
                    : part.replace(/[.+^${}()|[\]\\]/g, '\\$&'),
          )
          .join('') +
        '(?:/.*)?$',
    );
    if (regex.test(path)) ignored = !negated;
  }
  return ignored;
}

describe('docker/Dockerfile', () => {
  const dockerfile = () => readDockerfile();
  const runtime = () => dockerfile().stages.at(-1)!;
  const stageRunning = (pattern: RegExp) => {
    const found = dockerfile().stages.filter((s) =>
      instructionsOf(s, 'RUN').some((r) => pattern.test(r)),
    );
    expect(found).toHaveLength(1);
    return found[0];
  };

  it('is multi-stage: dependencies, build and a runtime on Node 22 LTS slim', () => {
    const { stages } = dockerfile();
    expect(stages.length).toBeGreaterThanOrEqual(3);
    const names = stages.map((s) => s.name);
    expect(new Set(names).size).toBe(names.length);
    const bases = stages.filter((s) => !names.includes(s.from)).map((s) => s.from);
    for (const base of bases) expect(base).toMatch(/^node:22(\.\d+){0,2}-\w+-slim$/);
    // The runtime starts from the plain image, not from a stage with build tools or dev modules.
    expect(lineage(stages, runtime())).toHaveLength(1);
  });

  it('uses no `latest` (or untagged) base image', () => {
    const { stages } = dockerfile();
    const names = stages.map((s) => s.name);
    for (const stage of stages.filter((s) => !names.includes(s.from))) {
      expect({ from: stage.from, pinned: imageIsPinned(stage.from) }).toEqual({
        from: stage.from,
        pinned: true,
      });
    }
    expect(readFileSync(DOCKERFILE, 'utf8')).not.toMatch(/:latest\b/);
  });

  it('installs with npm ci from package.json and the lockfile, honouring allowScripts', () => {
    const { stages, args } = dockerfile();
    // allowScripts is an npm 11 feature: every install runs on a pinned npm 11 or later.
    const npmStage = stageRunning(/npm install --global "?npm@/);
    expect(npmStage.name).toBeDefined();
    const npmArgs = { ...args };
    for (const arg of instructionsOf(npmStage, 'ARG')) {
      const [, argName, value = ''] = /^(\w+)(?:=(.*))?$/.exec(arg)!;
      npmArgs[argName] = value;
    }
    const install = instructionsOf(npmStage, 'RUN').find((r) => /npm install --global/.test(r))!;
    const version = /npm@([^"\s]+)/
      .exec(install)![1]
      .replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a?: string, b?: string) => npmArgs[(a ?? b)!] ?? '');
    expect(version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(Number(version.split('.')[0])).toBeGreaterThanOrEqual(11);

    const installs = stages.flatMap((stage) =>
      instructionsOf(stage, 'RUN')
        .filter((run) => /\bnpm (ci|install|i)\b/.test(run) && run !== install)
        .map((run) => ({ stage, run })),
    );
    expect(installs.length).toBeGreaterThanOrEqual(2);
    for (const { stage, run } of installs) {
      expect(run).toMatch(/\bnpm ci\b/);
      // Either flag would bypass package.json's allowScripts policy.
      expect(run).not.toMatch(/--ignore-scripts|--dangerously-allow-all-scripts/);
      expect(lineage(stages, stage).map((s) => s.name)).toContain(npmStage.name);
      const copied = lineage(stages, stage)
        .flatMap((s) => instructionsOf(s, 'COPY'))
        .join(' ');
      // package.json carries allowScripts and overrides; npm ci needs the lockfile.
      expect(copied).toMatch(/\bpackage\.json\b/);
      expect(copied).toMatch(/\bpackage-lock\.json\b/);
    }
  });

  it('builds with npm run build and ships production dependencies only', () => {
    const { stages } = dockerfile();
    const build = stageRunning(/\bnpm run build\b/);
    const prodDeps = stageRunning(/\bnpm ci\b.*--omit=dev/);
    expect(
      lineage(stages, build).some((s) =>
        instructionsOf(s, 'RUN').some((r) => /\bnpm ci\b(?!.*--omit)/.test(r)),
      ),
    ).toBe(true);
    const copies = instructionsOf(runtime(), 'COPY');
    const fromStage = (path: string) =>
      copies
        .map((c) => /^(?:--\S+\s+)*--from=(\S+)\s+(?:--\S+\s+)*(\S+)\s+\S+$/.exec(c))
        .filter((m) => m && m[2].replace(/\/$/, '').endsWith(path))
        .map((m) => m![1]);
    expect(fromStage('node_modules')).toEqual([prodDeps.name]);
    expect(fromStage('dist')).toEqual([build.name]);
    expect(copies.some((c) => !c.includes('--from=') && /^package\.json\s/.test(c))).toBe(true);
  });

  it('adds to the runtime only the PostgreSQL client tools of the production major, for backups', () => {
    const runs = instructionsOf(runtime(), 'RUN');
    expect(runs).toHaveLength(1);
    const [run] = runs;
    expect(instructionsOf(runtime(), 'ARG')).toContain('PG_MAJOR');
    expect(dockerfilePgMajor()).toBeGreaterThanOrEqual(15);
    // Debian's own postgresql-common brings the PGDG repository's key and setup script.
    expect(run).toMatch(/\/usr\/share\/postgresql-common\/pgdg\/apt\.postgresql\.org\.sh -y/);
    expect(run).toMatch(
      /apt-get install -y --no-install-recommends [^&]*"?postgresql-client-\$\{PG_MAJOR\}"?/,
    );
    expect(run).not.toMatch(/\bcurl\b|\bwget\b/);
    expect(run).toMatch(/rm -rf \/var\/lib\/apt\/lists\/\*/);
    // Installed as root before the image switches to the node user.
    const keywords = runtime().instructions.map((i) => i.keyword);
    expect(keywords.indexOf('RUN')).toBeLessThan(keywords.lastIndexOf('USER'));
  });

  it('runs as node, production, writing only under /tmp, on port 3000', () => {
    const users = instructionsOf(runtime(), 'USER');
    expect(users.at(-1)).toBe('node');
    const env = envOf(runtime());
    expect(env.NODE_ENV).toBe('production');
    expect(env.DATA_DIR).toMatch(/^\/tmp\//);
    expect(instructionsOf(runtime(), 'EXPOSE')).toEqual(['3000']);
  });

  it('starts with the same command as npm run start:prod', () => {
    const cmd = instructionsOf(runtime(), 'CMD');
    expect(cmd).toHaveLength(1);
    expect(JSON.parse(cmd[0])).toEqual(scriptCommand('start:prod'));
  });

  it('health-checks /health/live with node fetch (no curl in slim images)', () => {
    const checks = instructionsOf(runtime(), 'HEALTHCHECK');
    expect(checks).toHaveLength(1);
    const [, exec] = /\bCMD\s+(\[.*\])$/.exec(checks[0]) ?? [];
    const command = JSON.parse(exec) as string[];
    expect(command.slice(0, 2)).toEqual(['node', '-e']);
    expect(command[2]).toMatch(/fetch\(/);
    expect(command[2]).toMatch(/http:\/\/127\.0\.0\.1:/);
    expect(command[2]).toMatch(/\/health\/live/);
    expect(checks[0]).not.toMatch(/\bcurl\b|\bwget\b/);
  });

  it('copies only sources that exist and that .dockerignore sends', () => {
    const sources = dockerfile()
      .stages.flatMap((s) => instructionsOf(s, 'COPY'))
      .filter((c) => !c.includes('--from='))
      .flatMap((c) =>
        c
          .replace(/--\S+\s+/g, '')
          .split(/\s+/)
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) {
      expect({ source, exists: existsSync(join(ROOT, source)) }).toEqual({ source, exists: true });
      expect({ source, ignored: isDockerIgnored(source) }).toEqual({ source, ignored: false });
    }
  });
});

describe('.dockerignore', () => {
  it('keeps local modules, build output, data and history out of the build context', () => {
    for (const path of [
      'node_modules',
      'node_modules/pg/package.json',
      'dist',
      '.data',
      '.git',
      'coverage',
    ]) {
      expect({ path, ignored: isDockerIgnored(path) }).toEqual({ path, ignored: true });
    }
    for (const path of ['src/main.ts', 'migrations/platform/index.ts', 'package-lock.json']) {
      expect({ path, ignored: isDockerIgnored(path) }).toEqual({ path, ignored: false });
    }
  });
});

// ---------------------------------------------------------------- compose

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[] | string;
  environment?: Record<string, unknown>;
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] | string };
  read_only?: boolean;
  tmpfs?: string[] | string;
  ports?: string[];
}

describe('docker/compose.yml', () => {
  const compose = () =>
    parse(readFileSync(COMPOSE, 'utf8')) as { services: Record<string, ComposeService> };
  const services = () => compose().services;
  const appEnv = () => services().app.environment ?? {};

  it('runs the app, a one-shot migration, PostgreSQL of the production major, Redis 7 and Mailpit', () => {
    expect(Object.keys(services()).sort()).toEqual([
      'app',
      'mailpit',
      'migrate',
      'postgres',
      'redis',
    ]);
    expect(services().postgres.image).toMatch(
      new RegExp(`^postgres:${dockerfilePgMajor()}(\\.|-|$)`),
    );
    expect(services().redis.image).toMatch(/^redis:7(\.|-|$)/);
    expect(services().mailpit.image).toMatch(/^axllent\/mailpit:/);
  });

  it('pins every image and builds the app from docker/Dockerfile at the repository root', () => {
    for (const [name, service] of Object.entries(services())) {
      if (service.image) {
        expect({ name, pinned: imageIsPinned(service.image) }).toEqual({ name, pinned: true });
      }
    }
    for (const name of ['app', 'migrate']) {
      const build = services()[name].build!;
      const context = resolve(dirname(COMPOSE), build.context);
      expect(context).toBe(ROOT);
      expect(resolve(context, build.dockerfile ?? 'Dockerfile')).toBe(DOCKERFILE);
    }
    expect(services().migrate.image).toBe(services().app.image);
  });

  it('starts the app only after migrate has completed and the stores are healthy', () => {
    const all = services();
    const conditions = (name: string) => {
      const dependsOn = all[name].depends_on;
      expect(Array.isArray(dependsOn)).toBe(false);
      return Object.fromEntries(
        Object.entries((dependsOn ?? {}) as Record<string, { condition: string }>).map(
          ([service, { condition }]) => [service, condition],
        ),
      );
    };
    expect(conditions('app')).toEqual(
      expect.objectContaining({
        migrate: 'service_completed_successfully',
        postgres: 'service_healthy',
      }),
    );
    expect(conditions('migrate')).toEqual({ postgres: 'service_healthy' });
    for (const name of Object.keys(all)) {
      for (const [service, condition] of Object.entries(conditions(name))) {
        expect(all[service]).toBeDefined();
        // compose refuses service_healthy on a service without a healthcheck.
        if (condition === 'service_healthy') expect(all[service].healthcheck).toBeDefined();
      }
    }
    expect(services().postgres.healthcheck!.test).toEqual(
      expect.arrayContaining([expect.stringMatching(/pg_isready/)]),
    );
  });

  it('migrates with package.json "migrate" and never at app start', () => {
    expect(services().migrate.command).toEqual(scriptCommand('migrate'));
    expect(services().app.command).toBeUndefined();
    expect(appEnv().MIGRATE_ON_START).toBe('false');
    expect(services().migrate.environment).toEqual(appEnv());
  });

  it('points the app at the compose services with well-formed production settings', () => {
    const env = appEnv();
    for (const [name, value] of Object.entries(env)) {
      // compose rejects booleans in `environment`, and numbers are easy to misread.
      expect({ name, type: typeof value }).toEqual({ name, type: 'string' });
    }
    expect(env.NODE_ENV).toBe('production');
    const database = new URL(env.DATABASE_URL as string);
    const postgres = services().postgres.environment ?? {};
    expect(database.protocol).toBe('postgres:');
    expect(database.hostname).toBe('postgres');
    expect(database.username).toBe(postgres.POSTGRES_USER);
    expect(database.password).toBe(postgres.POSTGRES_PASSWORD);
    expect(database.pathname).toBe(`/${String(postgres.POSTGRES_DB)}`);
    expect(new URL(env.REDIS_URL as string).hostname).toBe('redis');
    expect(new URL(env.SMTP_URL as string).hostname).toBe('mailpit');
    expect((env.JWT_SECRET as string).length).toBeGreaterThanOrEqual(32);
    expect(isValidKeyRing(env.DATA_ENCRYPTION_KEYS as string)).toBe(true);
    expect(services().app.ports).toContainEqual(
      expect.stringMatching(new RegExp(`:${String(env.PORT)}$`)),
    );
  });

  it('runs the app like the cluster does: read-only root filesystem with /tmp writable', () => {
    for (const name of ['app', 'migrate']) {
      expect(services()[name].read_only).toBe(true);
      expect([services()[name].tmpfs].flat()).toContain('/tmp');
    }
  });
});

// ---------------------------------------------------------------- entry points

describe('entry points', () => {
  it('are compiled from a source file: every dist/*.js the image, compose and the Job run', () => {
    const job = find<IJob>(rendering('base'), 'Job', 'groundwork-migrate');
    const { services } = parse(readFileSync(COMPOSE, 'utf8')) as {
      services: Record<string, ComposeService>;
    };
    const backup = find<ICronJob>(rendering('base'), 'CronJob', 'groundwork-backup');
    const commands = [
      JSON.parse(instructionsOf(readDockerfile().stages.at(-1)!, 'CMD')[0]) as string[],
      [services.migrate.command ?? []].flat(),
      job.spec!.template.spec!.containers[0].command ?? [],
      backup.spec!.jobTemplate.spec!.template.spec!.containers[0].command ?? [],
      smokeCommand(),
    ];
    const scripts = commands.flatMap((command) => command.filter((arg) => arg.endsWith('.js')));
    // dist/src/cli/backup.js is src/cli/backup.ts, which lands with the backup CLI.
    expect([...new Set(scripts)].sort()).toEqual([
      'dist/src/cli/backup.js',
      'dist/src/cli/migrate.js',
      'dist/src/cli/smoke.js',
      'dist/src/main.js',
    ]);
    for (const script of scripts) {
      // `swc src migrations -d dist` writes src/x.ts to dist/src/x.js.
      const source = script.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect({ script, source: existsSync(join(ROOT, source)) }).toEqual({ script, source: true });
    }
  });
});

// ---------------------------------------------------------------- configuration names

describe('environment variable names', () => {
  it('outside app-config.ts include what the backup tools read (PG_BIN_DIR)', () => {
    expect(toolEnvNames()).toContain('PG_BIN_DIR');
  });

  it('are read from the specs of src/config/app-config.ts', () => {
    const names = appEnvNames();
    expect(names.size).toBeGreaterThanOrEqual(10);
    for (const name of ['NODE_ENV', 'PORT', 'DATABASE_URL', 'JWT_SECRET', 'DATA_ENCRYPTION_KEYS']) {
      expect(names).toContain(name);
    }
  });

  it('are all known to the app in manifests, the Secret template, compose and the Dockerfile', () => {
    // NODE_OPTIONS is Node's own (the heap budget), read by the runtime, not the app.
    const known = new Set([...appEnvNames(), ...toolEnvNames(), 'NODE_OPTIONS']);
    const used = new Map<string, string>();
    const note = (names: Iterable<string>, where: string) => {
      for (const name of names) used.set(name, used.has(name) ? used.get(name)! : where);
    };
    for (const name of RENDERINGS) {
      for (const m of rendering(name)) {
        if (m.kind === 'ConfigMap')
          note(Object.keys((m as IConfigMap).data ?? {}), `${name} ${idOf(m)}`);
        for (const { owner, spec } of podSpecs([m])) {
          for (const container of spec.containers) {
            note(
              (container.env ?? []).map((e) => e.name),
              `${name} ${owner}`,
            );
          }
        }
      }
    }
    const secret = readManifests(SECRET_TEMPLATE)[0] as unknown as ISecret;
    note(
      [...Object.keys(secret.stringData ?? {}), ...Object.keys(secret.data ?? {})],
      rel(SECRET_TEMPLATE),
    );
    const { services } = parse(readFileSync(COMPOSE, 'utf8')) as {
      services: Record<string, ComposeService>;
    };
    for (const service of ['app', 'migrate']) {
      note(Object.keys(services[service].environment ?? {}), `compose ${service}`);
    }
    note(Object.keys(envOf(readDockerfile().stages.at(-1)!)), 'Dockerfile runtime');

    expect(used.size).toBeGreaterThan(0);
    const unknown = [...used]
      .filter(([name]) => !known.has(name))
      .map(([n, where]) => `${n} (${where})`);
    expect(unknown).toEqual([]);
  });
});
