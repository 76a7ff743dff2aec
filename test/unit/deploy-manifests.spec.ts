import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { Deployment, IDeployment } from 'kubernetes-models/apps/v1';
import {
  HorizontalPodAutoscaler,
  IHorizontalPodAutoscaler,
} from 'kubernetes-models/autoscaling/v2';
import { IJob, Job } from 'kubernetes-models/batch/v1';
import { INetworkPolicy, NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1';
import { IPodDisruptionBudget, PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  IConfigMap,
  IContainer,
  IPodSpec,
  IProbe,
  ISecret,
  IService,
  Secret,
  Service,
  ServiceAccount,
} from 'kubernetes-models/v1';

/*
 * Checks the delivery files (docker/, k8s/, .dockerignore) without Docker or a
 * cluster: every Kubernetes document is validated against its kind's schema
 * (plus a strict unknown-field check the schemas lack), the overlays are
 * rendered by a small kustomize subset, and the invariants that keep a rollout
 * safe are asserted on every rendering.
 */

const ROOT = resolve(__dirname, '../..');
const K8S = join(ROOT, 'k8s');
const DOCKERFILE = join(ROOT, 'docker/Dockerfile');
const COMPOSE = join(ROOT, 'docker/compose.yml');
const SECRET_TEMPLATE = join(K8S, 'base/secret.example.yaml');
const OVERLAYS = ['staging', 'production', 'demo'] as const;
const RENDERINGS = ['base', ...OVERLAYS] as const;
type RenderingName = (typeof RENDERINGS)[number];

const APP_NAME_LABEL = 'app.kubernetes.io/name';
const SELF_LABELS = { [APP_NAME_LABEL]: 'groundwork' };

/**
 * Names the architecture documents for the local stack's Redis and SMTP server
 * that src/config does not read yet; drop a name here once the app reads it.
 */
const PLANNED_ENV_NAMES = ['REDIS_URL', 'SMTP_URL', 'MAIL_FROM'];

const rel = (file: string): string => relative(ROOT, file);
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

// ---------------------------------------------------------------- YAML

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** Every document of a YAML file (multi-document aware); any YAML error fails. */
function readDocuments(file: string): unknown[] {
  const documents = Array.from(parseAllDocuments(readFileSync(file, 'utf8')));
  return documents
    .map((document) => {
      const [error] = [...document.errors, ...document.warnings];
      if (error) throw new Error(`${rel(file)}: ${error.message}`);
      return document.toJS() as unknown;
    })
    .filter((value) => value !== null && value !== undefined);
}

function asManifest(value: unknown, where: string): Manifest {
  if (
    !isObject(value) ||
    typeof value.apiVersion !== 'string' ||
    typeof value.kind !== 'string' ||
    !isObject(value.metadata) ||
    typeof value.metadata.name !== 'string'
  ) {
    throw new Error(`${where}: not a Kubernetes object (apiVersion, kind, metadata.name)`);
  }
  return value as Manifest;
}

const readManifests = (file: string): Manifest[] =>
  readDocuments(file).map((value, index) =>
    asManifest(value, `${rel(file)} document ${index + 1}`),
  );

const idOf = (m: Manifest): string => `${m.kind}/${m.metadata.name}`;

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

const unknownFieldsOf = (m: Manifest): string[] =>
  unknownFields(m, join(MODELS_ROOT, ...m.apiVersion.split('/'), `${m.kind}.d.ts`), '', []);

// ---------------------------------------------------------------- kustomize subset

interface Kustomization {
  apiVersion: string;
  kind: string;
  namespace?: string;
  resources?: string[];
  patches?: { path?: string; patch?: string; target?: unknown }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  replicas?: { name: string; count: number }[];
  labels?: {
    pairs: Record<string, string>;
    includeSelectors?: boolean;
    includeTemplates?: boolean;
  }[];
}

/** The kustomize features this renderer implements; anything else fails loudly. */
const KUSTOMIZATION_FIELDS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'resources',
  'patches',
  'images',
  'replicas',
  'labels',
]);

function readKustomization(file: string): Kustomization {
  const [value, ...extra] = readDocuments(file);
  if (!isObject(value) || extra.length > 0) throw new Error(`${rel(file)}: expected one mapping`);
  const unknown = Object.keys(value).filter((key) => !KUSTOMIZATION_FIELDS.has(key));
  if (unknown.length > 0) {
    throw new Error(`${rel(file)}: fields this test does not render: ${unknown.join(', ')}`);
  }
  if (value.apiVersion !== 'kustomize.config.k8s.io/v1beta1' || value.kind !== 'Kustomization') {
    throw new Error(`${rel(file)}: expected kustomize.config.k8s.io/v1beta1 Kustomization`);
  }
  return value as unknown as Kustomization;
}

const hasName = (item: unknown): item is { name: string } =>
  isObject(item) && typeof item.name === 'string';

/** Strategic merge as kustomize applies it to the fields we patch: lists of named items merge by name. */
function strategicMerge(target: unknown, patch: unknown, where: string): unknown {
  if (isObject(patch)) {
    if ('$patch' in patch) throw new Error(`${where}: nested $patch directives are not rendered`);
    const merged: Record<string, unknown> = isObject(target) ? { ...target } : {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete merged[key];
      else merged[key] = strategicMerge(merged[key], value, `${where}.${key}`);
    }
    return merged;
  }
  if (Array.isArray(patch) && Array.isArray(target) && [...patch, ...target].every(hasName)) {
    const merged = [...(target as { name: string }[])];
    for (const item of patch as { name: string }[]) {
      const index = merged.findIndex((existing) => existing.name === item.name);
      if (index === -1) merged.push(item);
      else merged[index] = strategicMerge(merged[index], item, `${where}[${item.name}]`) as never;
    }
    return merged;
  }
  return structuredClone(patch);
}

function podTemplateOf(m: Manifest): { metadata?: Manifest['metadata']; spec?: IPodSpec } | null {
  const spec = m.spec;
  if (!isObject(spec) || !isObject(spec.template)) return null;
  return spec.template;
}

const splitImage = (image: string): { name: string; tag?: string; digest?: string } => {
  const [withTag, digest] = image.split('@');
  const slash = withTag.lastIndexOf('/');
  const colon = withTag.lastIndexOf(':');
  return colon > slash
    ? { name: withTag.slice(0, colon), tag: withTag.slice(colon + 1), digest }
    : { name: withTag, digest };
};

/** Which role each YAML file under k8s/ played in the renderings. */
const usedFiles = new Map<string, 'kustomization' | 'resource' | 'patch'>();

function render(dir: string): Manifest[] {
  const file = join(dir, 'kustomization.yaml');
  if (!existsSync(file)) throw new Error(`${rel(dir)}: no kustomization.yaml`);
  usedFiles.set(file, 'kustomization');
  const k = readKustomization(file);

  let resources: Manifest[] = [];
  for (const entry of k.resources ?? []) {
    const path = resolve(dir, entry);
    if (!existsSync(path)) throw new Error(`${rel(file)}: resource ${entry} does not exist`);
    if (statSync(path).isDirectory()) {
      resources.push(...render(path));
    } else {
      usedFiles.set(path, 'resource');
      resources.push(...readManifests(path));
    }
  }
  const ids = resources.map(idOf);
  const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
  if (duplicate) throw new Error(`${rel(file)}: ${duplicate} is defined twice`);

  for (const entry of k.patches ?? []) {
    if (!entry.path || entry.patch !== undefined || entry.target !== undefined) {
      throw new Error(`${rel(file)}: only file patches without target are rendered`);
    }
    const path = resolve(dir, entry.path);
    if (!existsSync(path)) throw new Error(`${rel(file)}: patch ${entry.path} does not exist`);
    usedFiles.set(path, 'patch');
    for (const patch of readManifests(path)) {
      const index = resources.findIndex(
        (m) => m.apiVersion === patch.apiVersion && idOf(m) === idOf(patch),
      );
      if (index === -1) {
        throw new Error(`${rel(path)}: patches ${idOf(patch)}, which is not among the resources`);
      }
      const { $patch: directive, ...fields } = patch;
      if (directive === 'delete') resources.splice(index, 1);
      else if (directive === undefined) {
        resources[index] = strategicMerge(resources[index], fields, rel(path)) as Manifest;
      } else throw new Error(`${rel(path)}: unsupported $patch: ${JSON.stringify(directive)}`);
    }
  }

  resources = resources.map((m) => structuredClone(m));
  for (const m of resources) {
    if (k.namespace) m.metadata.namespace = k.namespace;
    const template = podTemplateOf(m);
    for (const { pairs, includeSelectors, includeTemplates } of k.labels ?? []) {
      if (includeSelectors) throw new Error(`${rel(file)}: includeSelectors is not rendered`);
      m.metadata.labels = { ...m.metadata.labels, ...pairs };
      if (includeTemplates && template) {
        template.metadata = {
          ...template.metadata,
          labels: { ...template.metadata?.labels, ...pairs },
        } as Manifest['metadata'];
      }
    }
    for (const container of template?.spec?.containers ?? []) {
      for (const image of k.images ?? []) {
        const current = splitImage(container.image ?? '');
        if (current.name !== image.name) continue;
        const tag = image.newTag ?? current.tag;
        const digest = image.digest ?? current.digest;
        container.image = `${image.newName ?? current.name}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
      }
    }
  }
  for (const { name, count } of k.replicas ?? []) {
    const target = resources.find((m) => m.kind === 'Deployment' && m.metadata.name === name);
    if (!target || !isObject(target.spec)) throw new Error(`${rel(file)}: no Deployment ${name}`);
    target.spec.replicas = count;
  }
  return resources;
}

const renderings = new Map<RenderingName, Manifest[]>();
function rendering(name: RenderingName): Manifest[] {
  let resources = renderings.get(name);
  if (!resources) {
    resources = render(name === 'base' ? join(K8S, 'base') : join(K8S, 'overlays', name));
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

function podSpecs(resources: Manifest[]): { owner: string; spec: IPodSpec }[] {
  return resources.flatMap((m) => {
    const spec = podTemplateOf(m)?.spec;
    return spec ? [{ owner: idOf(m), spec }] : [];
  });
}

describe('k8s/', () => {
  it('has the base and the staging, production and demo overlays', () => {
    expect(existsSync(join(K8S, 'base/kustomization.yaml'))).toBe(true);
    const overlays = readdirSync(join(K8S, 'overlays')).sort();
    expect(overlays).toEqual([...OVERLAYS].sort());
  });

  it('renders every kustomization, and every YAML file is a kustomization, resource, patch or the Secret template', () => {
    for (const name of RENDERINGS) rendering(name);
    const stray = listYamlFiles(K8S)
      .filter((file) => !usedFiles.has(file) && file !== SECRET_TEMPLATE)
      .map(rel);
    expect(stray).toEqual([]);
    for (const file of listYamlFiles(K8S)) readDocuments(file);
  });

  it('keeps the Secret template out of every kustomization', () => {
    for (const name of RENDERINGS) rendering(name);
    expect(usedFiles.has(SECRET_TEMPLATE)).toBe(false);
    expect(rendering('base').filter((m) => m.kind === 'Secret')).toEqual([]);
  });

  it('lists every base manifest in the base kustomization', () => {
    const base = readKustomization(join(K8S, 'base/kustomization.yaml'));
    const files = readdirSync(join(K8S, 'base'))
      .filter((name) => /\.ya?ml$/.test(name))
      .filter((name) => !['kustomization.yaml', 'secret.example.yaml'].includes(name))
      .sort();
    expect([...(base.resources ?? [])].sort()).toEqual(files);
  });

  it('resolves each overlay from the base, with its own namespace and image tag', () => {
    const namespaces = new Set<string>();
    for (const overlay of OVERLAYS) {
      const k = readKustomization(join(K8S, 'overlays', overlay, 'kustomization.yaml'));
      expect(k.resources).toContain('../../base');
      for (const entry of [...(k.resources ?? []), ...(k.patches ?? []).map((p) => p.path!)]) {
        expect(existsSync(resolve(K8S, 'overlays', overlay, entry))).toBe(true);
      }
      expect(k.namespace).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      namespaces.add(k.namespace!);
      expect(k.images).toEqual([
        expect.objectContaining({ name: 'groundwork', newTag: expect.any(String) }),
      ]);
      expect(k.images![0].newTag).not.toBe('latest');
      expect(k.replicas).toEqual([{ name: 'groundwork', count: expect.any(Number) }]);
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

  describe('the strict field check', () => {
    it('reports a misspelt field at any depth', () => {
      const deployment = structuredClone(find<Manifest>(rendering('base'), 'Deployment'));
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

    it('is backed by a schema that rejects wrong types', () => {
      const configMap = structuredClone(find<Manifest>(rendering('base'), 'ConfigMap'));
      (configMap.data as Record<string, unknown>).PORT = 3000;
      expect(() => validateSchema(configMap)).toThrow(/must be string/);
    });
  });

  describe.each(RENDERINGS)('rendered %s', (name) => {
    const resources = () => rendering(name);
    const deployment = () => find<IDeployment>(resources(), 'Deployment', 'groundwork');
    const job = () => find<IJob>(resources(), 'Job', 'groundwork-migrate');
    const appContainer = (): IContainer => {
      const containers = deployment().spec!.template.spec!.containers;
      expect(containers).toHaveLength(1);
      return containers[0];
    };
    const podLabels = () => deployment().spec!.template.metadata!.labels ?? {};
    const jobPodLabels = () => job().spec!.template.metadata!.labels ?? {};
    const configData = () => {
      const ref = appContainer().envFrom?.find((source) => source.configMapRef)?.configMapRef;
      return find<IConfigMap>(resources(), 'ConfigMap', ref?.name).data ?? {};
    };

    it('contains only valid objects of known kinds, without unknown fields', () => {
      for (const m of resources()) {
        expect(() => validateSchema(m)).not.toThrow();
        expect({ [idOf(m)]: unknownFieldsOf(m) }).toEqual({ [idOf(m)]: [] });
      }
      expect(resources().map((m) => m.kind)).toEqual(
        expect.arrayContaining([
          'ConfigMap',
          'Deployment',
          'HorizontalPodAutoscaler',
          'Job',
          'NetworkPolicy',
          'Service',
        ]),
      );
    });

    it('labels every object app.kubernetes.io/name: groundwork', () => {
      for (const m of resources()) {
        expect({ [idOf(m)]: m.metadata.labels }).toEqual({
          [idOf(m)]: expect.objectContaining(SELF_LABELS),
        });
      }
      expect(podLabels()).toEqual(expect.objectContaining(SELF_LABELS));
      expect(jobPodLabels()).toEqual(expect.objectContaining(SELF_LABELS));
    });

    it('selects its own pods: the Deployment selector matches the pod template', () => {
      expect(matchesLabels(deployment().spec!.selector.matchLabels ?? {}, podLabels())).toBe(true);
      expect(deployment().spec!.selector.matchExpressions).toBeUndefined();
    });

    it('probes /health/live (startup, liveness) and /health/ready (readiness) on the named port', () => {
      const container = appContainer();
      const http = container.ports?.find((port) => port.name === 'http');
      expect(http).toEqual(expect.objectContaining({ containerPort: 3000 }));
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
    });

    it('listens on the port the ConfigMap gives the app', () => {
      expect(Number(configData().PORT)).toBe(
        appContainer().ports!.find((port) => port.name === 'http')!.containerPort,
      );
    });

    it('runs the image CMD from package.json start:prod, not a command of its own', () => {
      expect(appContainer().command).toBeUndefined();
      expect(appContainer().args).toBeUndefined();
    });

    it('runs every pod as non-root with a read-only root filesystem and no privileges', () => {
      for (const { owner, spec } of podSpecs(resources())) {
        expect({ owner, pod: spec.securityContext }).toEqual({
          owner,
          pod: expect.objectContaining({
            runAsNonRoot: true,
            runAsUser: 1000,
            seccompProfile: { type: 'RuntimeDefault' },
          }),
        });
        expect(spec.automountServiceAccountToken).toBe(false);
        const tmp = spec.volumes?.find((volume) => volume.emptyDir !== undefined);
        expect(tmp).toBeDefined();
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

    it('uses pinned images, the same one for the API and the migration Job', () => {
      for (const { owner, spec } of podSpecs(resources())) {
        for (const container of spec.containers) {
          expect({
            owner,
            image: container.image,
            pinned: imageIsPinned(container.image!),
          }).toEqual({
            owner,
            image: container.image,
            pinned: true,
          });
        }
      }
      expect(job().spec!.template.spec!.containers[0].image).toBe(appContainer().image);
    });

    it('drains gracefully: SHUTDOWN_DELAY_MS 5000 within a 30 s grace period, no migration at start', () => {
      const pod = deployment().spec!.template.spec!;
      expect(pod.terminationGracePeriodSeconds).toBe(30);
      const env = Object.fromEntries((appContainer().env ?? []).map((e) => [e.name, e.value]));
      expect(env.SHUTDOWN_DELAY_MS).toBe('5000');
      expect(env.MIGRATE_ON_START).toBe('false');
      // Leave at least 10 s after the delay for in-flight requests and the pool to close.
      expect(Number(env.SHUTDOWN_DELAY_MS) + 10_000).toBeLessThanOrEqual(
        pod.terminationGracePeriodSeconds! * 1000,
      );
      expect(deployment().spec!.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
    });

    it('reads its configuration from the ConfigMap and the groundwork-secrets Secret', () => {
      const envFrom = appContainer().envFrom ?? [];
      const configMap = envFrom.find((source) => source.configMapRef)?.configMapRef?.name;
      const secret = envFrom.find((source) => source.secretRef)?.secretRef?.name;
      expect(resources().some((m) => m.kind === 'ConfigMap' && m.metadata.name === configMap)).toBe(
        true,
      );
      expect(secret).toBe(readManifests(SECRET_TEMPLATE)[0].metadata.name);
      expect(configData().NODE_ENV).toBe('production');
    });

    it('routes the Service to the API pods only, on the named http port', () => {
      const service = find<IService>(resources(), 'Service', 'groundwork');
      expect(service.spec!.type ?? 'ClusterIP').toBe('ClusterIP');
      expect(matchesLabels(service.spec!.selector ?? {}, podLabels())).toBe(true);
      expect(matchesLabels(service.spec!.selector ?? {}, jobPodLabels())).toBe(false);
      expect(service.spec!.ports).toEqual([
        expect.objectContaining({ port: 80, targetPort: 'http', name: 'http' }),
      ]);
    });

    it('autoscales the Deployment on 70% CPU from its declared replica count', () => {
      const hpa = find<IHorizontalPodAutoscaler>(resources(), 'HorizontalPodAutoscaler');
      expect(hpa.spec!.scaleTargetRef).toEqual({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        name: 'groundwork',
      });
      expect(hpa.spec!.metrics).toContainEqual({
        type: 'Resource',
        resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } },
      });
      // Utilization is measured against requests; without one the HPA cannot act.
      expect(appContainer().resources?.requests?.cpu).toBeDefined();
      expect(hpa.spec!.minReplicas).toBe(deployment().spec!.replicas);
      expect(hpa.spec!.maxReplicas).toBeGreaterThan(hpa.spec!.minReplicas!);
    });

    it('protects availability with a PDB that never blocks a node drain', () => {
      const pdbs = findAll<IPodDisruptionBudget>(resources(), 'PodDisruptionBudget');
      const replicas = deployment().spec!.replicas!;
      if (replicas === 1) {
        // minAvailable 1 of 1 would make every eviction impossible.
        expect(pdbs).toEqual([]);
        return;
      }
      expect(pdbs).toHaveLength(1);
      expect(pdbs[0].spec!.minAvailable).toBe(1);
      expect(replicas).toBeGreaterThan(1);
      expect(matchesLabels(pdbs[0].spec!.selector!.matchLabels ?? {}, podLabels())).toBe(true);
    });

    it('limits network traffic: ingress on the app port, egress to DNS, PostgreSQL, Redis, SMTP, HTTPS', () => {
      const policy = find<INetworkPolicy>(resources(), 'NetworkPolicy');
      const selector = policy.spec!.podSelector.matchLabels ?? {};
      expect(matchesLabels(selector, podLabels())).toBe(true);
      expect(matchesLabels(selector, jobPodLabels())).toBe(true);
      expect(policy.spec!.policyTypes).toEqual(expect.arrayContaining(['Ingress', 'Egress']));

      const ingressPorts = (policy.spec!.ingress ?? []).flatMap((rule) => {
        expect(rule.ports?.length).toBeGreaterThan(0);
        return rule.ports!.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`);
      });
      expect(ingressPorts).toEqual(['3000/TCP']);

      const egressPorts = (policy.spec!.egress ?? []).flatMap((rule) => {
        // A rule without ports would open every port to its peers.
        expect(rule.ports?.length).toBeGreaterThan(0);
        return rule.ports!.map((p) => `${p.port}/${p.protocol ?? 'TCP'}`);
      });
      expect(egressPorts.sort()).toEqual(
        ['53/UDP', '53/TCP', '5432/TCP', '6379/TCP', '587/TCP', '443/TCP'].sort(),
      );
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
      expect(container.envFrom).toEqual(appContainer().envFrom);
      expect(container.securityContext).toEqual(appContainer().securityContext);
      expect(pod.securityContext).toEqual(deployment().spec!.template.spec!.securityContext);
      expect(migrate.metadata!.labels!['app.kubernetes.io/component']).toBe('migrate');
    });
  });

  describe('overlays', () => {
    it.each(OVERLAYS)(
      '%s puts every object in its namespace and pulls from a registry',
      (overlay) => {
        const k = readKustomization(join(K8S, 'overlays', overlay, 'kustomization.yaml'));
        for (const m of rendering(overlay)) expect(m.metadata.namespace).toBe(k.namespace);
        const image = find<IDeployment>(rendering(overlay), 'Deployment').spec!.template.spec!
          .containers[0].image!;
        expect(image).toBe(`${k.images![0].newName}:${k.images![0].newTag}`);
        expect(splitImage(image).name).toContain('/');
      },
    );

    it('runs production on 3 replicas with more CPU and memory than the base', () => {
      const container = (name: RenderingName) =>
        find<IDeployment>(rendering(name), 'Deployment').spec!.template.spec!.containers[0];
      expect(find<IDeployment>(rendering('production'), 'Deployment').spec!.replicas).toBe(3);
      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          expect(quantity(container('production').resources![kind]![resource])).toBeGreaterThan(
            quantity(container('base').resources![kind]![resource]),
          );
        }
      }
    });

    it('gives each overlay its own public URL', () => {
      const urls = OVERLAYS.map(
        (overlay) => find<IConfigMap>(rendering(overlay), 'ConfigMap').data!.PUBLIC_URL,
      );
      for (const url of urls) expect(url).toMatch(/^https:\/\//);
      expect(new Set(urls).size).toBe(OVERLAYS.length);
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
    expect(instructionsOf(runtime(), 'RUN')).toEqual([]);
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

  it('runs the app, a one-shot migration, PostgreSQL 16, Redis 7 and Mailpit', () => {
    expect(Object.keys(services()).sort()).toEqual([
      'app',
      'mailpit',
      'migrate',
      'postgres',
      'redis',
    ]);
    expect(services().postgres.image).toMatch(/^postgres:16(\.|-|$)/);
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
    const commands = [
      JSON.parse(instructionsOf(readDockerfile().stages.at(-1)!, 'CMD')[0]) as string[],
      [services.migrate.command ?? []].flat(),
      job.spec!.template.spec!.containers[0].command ?? [],
    ];
    const scripts = commands.flatMap((command) => command.filter((arg) => arg.endsWith('.js')));
    expect([...new Set(scripts)].sort()).toEqual(['dist/src/cli/migrate.js', 'dist/src/main.js']);
    for (const script of scripts) {
      // `swc src migrations -d dist` writes src/x.ts to dist/src/x.js.
      const source = script.replace(/^dist\//, '').replace(/\.js$/, '.ts');
      expect({ script, source: existsSync(join(ROOT, source)) }).toEqual({ script, source: true });
    }
  });
});

// ---------------------------------------------------------------- configuration names

describe('environment variable names', () => {
  it('are read from the specs of src/config/app-config.ts', () => {
    const names = appEnvNames();
    expect(names.size).toBeGreaterThanOrEqual(10);
    for (const name of ['NODE_ENV', 'PORT', 'DATABASE_URL', 'JWT_SECRET', 'DATA_ENCRYPTION_KEYS']) {
      expect(names).toContain(name);
    }
  });

  it('are all known to the app in manifests, the Secret template, compose and the Dockerfile', () => {
    const known = new Set([...appEnvNames(), ...PLANNED_ENV_NAMES]);
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
