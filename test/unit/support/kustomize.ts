import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { IPodSpec } from 'kubernetes-models/v1';

/*
 * The part of kustomize that k8s/ uses, implemented so the manifests can be
 * checked without a kustomize binary: resources (files and nested
 * kustomizations), configMapGenerator (files and literals, no name hash),
 * strategic-merge patches (with `$patch: delete`), namespace, namePrefix /
 * nameSuffix with the references kustomize renames along (HPA
 * scaleTargetRef, a pod's ConfigMaps, Secrets, ServiceAccount and volume
 * claims), labels (with includeSelectors / includeTemplates on the field
 * paths kustomize writes), replicas and images. Any other kustomization field
 * fails loudly instead of being silently ignored. deploy-manifests.spec.ts
 * compares the result with `kubectl kustomize` wherever one is installed.
 */

export const ROOT = resolve(__dirname, '../../..');
export const rel = (file: string): string => relative(ROOT, file);
export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export interface Manifest {
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
export function readDocuments(file: string): unknown[] {
  const documents = Array.from(parseAllDocuments(readFileSync(file, 'utf8')));
  return documents
    .map((document) => {
      const [error] = [...document.errors, ...document.warnings];
      if (error) throw new Error(`${rel(file)}: ${error.message}`);
      return document.toJS() as unknown;
    })
    .filter((value) => value !== null && value !== undefined);
}

export function asManifest(value: unknown, where: string): Manifest {
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

export const readManifests = (file: string): Manifest[] =>
  readDocuments(file).map((value, index) =>
    asManifest(value, `${rel(file)} document ${index + 1}`),
  );

export const idOf = (m: Manifest): string => `${m.kind}/${m.metadata.name}`;

// ---------------------------------------------------------------- kustomization files

interface LabelEntry {
  pairs: Record<string, string>;
  includeSelectors?: boolean;
  includeTemplates?: boolean;
}

interface GeneratorOptions {
  disableNameSuffixHash?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface Kustomization {
  apiVersion: string;
  kind: string;
  namespace?: string;
  namePrefix?: string;
  nameSuffix?: string;
  resources?: string[];
  patches?: { path?: string; patch?: string; target?: unknown; options?: unknown }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  replicas?: { name: string; count: number }[];
  labels?: LabelEntry[];
  configMapGenerator?: {
    name: string;
    files?: string[];
    literals?: string[];
    behavior?: string;
    options?: GeneratorOptions;
  }[];
  generatorOptions?: GeneratorOptions;
}

/** The kustomize features this renderer implements; anything else fails loudly. */
const KUSTOMIZATION_FIELDS = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'namePrefix',
  'nameSuffix',
  'resources',
  'patches',
  'images',
  'replicas',
  'labels',
  'configMapGenerator',
  'generatorOptions',
]);

export function readKustomization(file: string): Kustomization {
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

// ---------------------------------------------------------------- object paths

const groupOf = (apiVersion: string): string =>
  apiVersion.includes('/') ? apiVersion.split('/')[0] : '';

/** Kinds whose objects have no namespace: the namespace transformer leaves them alone. */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PersistentVolume',
  'StorageClass',
  'PriorityClass',
  'ValidatingWebhookConfiguration',
  'MutatingWebhookConfiguration',
]);

const WORKLOADS = new Set(['Deployment', 'ReplicaSet', 'DaemonSet', 'StatefulSet']);

/** Walks `path` (dot-separated, `[]` = every item of a list); `create` makes missing maps. */
function mapsAt(root: unknown, path: string, create: boolean): Record<string, unknown>[] {
  let current: unknown[] = [root];
  for (const raw of path.split('.')) {
    const each = raw.endsWith('[]');
    const key = each ? raw.slice(0, -2) : raw;
    const next: unknown[] = [];
    for (const node of current) {
      if (!isObject(node)) continue;
      if (node[key] === undefined && create && !each) node[key] = {};
      const child = node[key];
      if (each) {
        if (Array.isArray(child)) next.push(...(child as unknown[]));
      } else if (child !== undefined && child !== null) {
        next.push(child);
      }
    }
    current = next;
  }
  return current.filter(isObject);
}

/** Where pod specs sit in each workload kind. */
export function podSpecPaths(kind: string): string[] {
  if (WORKLOADS.has(kind) || kind === 'Job') return ['spec.template.spec'];
  if (kind === 'CronJob') return ['spec.jobTemplate.spec.template.spec'];
  if (kind === 'Pod') return ['spec'];
  return [];
}

/** Label field paths kustomize's `labels` writes, as in its built-in field specs. */
function templateLabelPaths(kind: string): { path: string; create: boolean }[] {
  if (WORKLOADS.has(kind) || kind === 'Job') {
    return [{ path: 'spec.template.metadata.labels', create: true }];
  }
  if (kind === 'CronJob') {
    return [
      { path: 'spec.jobTemplate.metadata.labels', create: true },
      { path: 'spec.jobTemplate.spec.template.metadata.labels', create: true },
    ];
  }
  return [];
}

function selectorLabelPaths(kind: string): { path: string; create: boolean }[] {
  const affinity = ['podAffinity', 'podAntiAffinity'].flatMap((type) => [
    `spec.template.spec.affinity.${type}.requiredDuringSchedulingIgnoredDuringExecution[].labelSelector.matchLabels`,
    `spec.template.spec.affinity.${type}.preferredDuringSchedulingIgnoredDuringExecution[].podAffinityTerm.labelSelector.matchLabels`,
  ]);
  if (WORKLOADS.has(kind)) {
    return [
      { path: 'spec.selector.matchLabels', create: true },
      ...[
        ...affinity,
        'spec.template.spec.topologySpreadConstraints[].labelSelector.matchLabels',
      ].map((path) => ({ path, create: false })),
    ];
  }
  switch (kind) {
    case 'Service':
      return [{ path: 'spec.selector', create: true }];
    case 'Job':
      return [{ path: 'spec.selector.matchLabels', create: false }];
    case 'CronJob':
      return [{ path: 'spec.jobTemplate.spec.selector.matchLabels', create: false }];
    case 'PodDisruptionBudget':
      return [{ path: 'spec.selector.matchLabels', create: false }];
    case 'NetworkPolicy':
      return [
        { path: 'spec.podSelector.matchLabels', create: false },
        { path: 'spec.ingress[].from[].podSelector.matchLabels', create: false },
        { path: 'spec.egress[].to[].podSelector.matchLabels', create: false },
      ];
    default:
      return [];
  }
}

function applyLabels(m: Manifest, entry: LabelEntry): void {
  const targets = [{ path: 'metadata.labels', create: true }];
  if (entry.includeSelectors || entry.includeTemplates) targets.push(...templateLabelPaths(m.kind));
  if (entry.includeSelectors) targets.push(...selectorLabelPaths(m.kind));
  for (const { path, create } of targets) {
    for (const labels of mapsAt(m, path, create)) Object.assign(labels, entry.pairs);
  }
}

/** References kustomize renames along with their target: [kind referred to, path of the name field]. */
function nameReferences(
  m: Manifest,
): { kind: string; holder: Record<string, unknown>; key: string }[] {
  const refs: { kind: string; holder: Record<string, unknown>; key: string }[] = [];
  const add = (kind: string, holders: Record<string, unknown>[], key: string) => {
    for (const holder of holders)
      if (typeof holder[key] === 'string') refs.push({ kind, holder, key });
  };
  if (m.kind === 'HorizontalPodAutoscaler') {
    for (const target of mapsAt(m, 'spec.scaleTargetRef', false)) {
      if (typeof target.kind === 'string') add(target.kind, [target], 'name');
    }
  }
  for (const podPath of podSpecPaths(m.kind)) {
    for (const pod of mapsAt(m, podPath, false)) {
      add('ServiceAccount', [pod], 'serviceAccountName');
      add('Secret', mapsAt(pod, 'imagePullSecrets[]', false), 'name');
      add('ConfigMap', mapsAt(pod, 'volumes[].configMap', false), 'name');
      add('Secret', mapsAt(pod, 'volumes[].secret', false), 'secretName');
      add(
        'PersistentVolumeClaim',
        mapsAt(pod, 'volumes[].persistentVolumeClaim', false),
        'claimName',
      );
      for (const list of ['containers', 'initContainers']) {
        add('ConfigMap', mapsAt(pod, `${list}[].envFrom[].configMapRef`, false), 'name');
        add('Secret', mapsAt(pod, `${list}[].envFrom[].secretRef`, false), 'name');
        add('ConfigMap', mapsAt(pod, `${list}[].env[].valueFrom.configMapKeyRef`, false), 'name');
        add('Secret', mapsAt(pod, `${list}[].env[].valueFrom.secretKeyRef`, false), 'name');
      }
    }
  }
  return refs;
}

// ---------------------------------------------------------------- strategic merge

/** Patch merge keys of the list fields the overlays may patch; other lists are replaced. */
function mergeKeyOf(field: string, items: unknown[]): string | undefined {
  if (['containers', 'initContainers', 'env', 'volumes', 'imagePullSecrets'].includes(field)) {
    return 'name';
  }
  if (field === 'volumeMounts') return 'mountPath';
  if (field === 'ports') {
    return items.every((item) => isObject(item) && 'containerPort' in item)
      ? 'containerPort'
      : 'port';
  }
  return undefined;
}

function strategicMerge(target: unknown, patch: unknown, where: string, field = ''): unknown {
  if (isObject(patch)) {
    if ('$patch' in patch) throw new Error(`${where}: nested $patch directives are not rendered`);
    const merged: Record<string, unknown> = isObject(target) ? { ...target } : {};
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) delete merged[key];
      else merged[key] = strategicMerge(merged[key], value, `${where}.${key}`, key);
    }
    return merged;
  }
  if (Array.isArray(patch) && Array.isArray(target)) {
    const key = mergeKeyOf(field, [...patch, ...target] as unknown[]);
    if (key && [...patch, ...target].every((item) => isObject(item) && key in item)) {
      const merged = [...(target as Record<string, unknown>[])];
      // Items only the patch has come first, in the patch's order, as kustomize writes them.
      const added: Record<string, unknown>[] = [];
      for (const item of patch as Record<string, unknown>[]) {
        const index = merged.findIndex((existing) => existing[key] === item[key]);
        if (index === -1) added.push(structuredClone(item));
        else {
          merged[index] = strategicMerge(
            merged[index],
            item,
            `${where}[${String(item[key])}]`,
          ) as Record<string, unknown>;
        }
      }
      return [...added, ...merged];
    }
  }
  return structuredClone(patch);
}

// ---------------------------------------------------------------- images

export const splitImage = (image: string): { name: string; tag?: string; digest?: string } => {
  const [withTag, digest] = image.split('@');
  const slash = withTag.lastIndexOf('/');
  const colon = withTag.lastIndexOf(':');
  return colon > slash
    ? { name: withTag.slice(0, colon), tag: withTag.slice(colon + 1), digest }
    : { name: withTag, digest };
};

/** Every pod spec of a rendered object (Deployment, Job, CronJob, Pod). */
export function podSpecsOf(m: Manifest): IPodSpec[] {
  return podSpecPaths(m.kind).flatMap((path) => mapsAt(m, path, false)) as unknown as IPodSpec[];
}

// ---------------------------------------------------------------- render

/** Which role each file under k8s/ played in the renderings so far. */
export const usedFiles = new Map<string, 'kustomization' | 'resource' | 'patch' | 'generated'>();

const sameObject = (a: Manifest, b: Manifest): boolean =>
  groupOf(a.apiVersion) === groupOf(b.apiVersion) &&
  a.kind === b.kind &&
  a.metadata.name === b.metadata.name;

export function render(dir: string): Manifest[] {
  const file = join(dir, 'kustomization.yaml');
  if (!existsSync(file)) throw new Error(`${rel(dir)}: no kustomization.yaml`);
  usedFiles.set(file, 'kustomization');
  const k = readKustomization(file);

  // 1. resources, then generated ConfigMaps
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
  for (const generator of k.configMapGenerator ?? []) {
    const options = { ...k.generatorOptions, ...generator.options };
    if (!options.disableNameSuffixHash) {
      throw new Error(`${rel(file)}: ${generator.name}: name hashes are not rendered`);
    }
    if (generator.behavior !== undefined && generator.behavior !== 'create') {
      throw new Error(
        `${rel(file)}: ${generator.name}: behavior ${generator.behavior} is not rendered`,
      );
    }
    const data: Record<string, string> = {};
    for (const literal of generator.literals ?? []) {
      const at = literal.indexOf('=');
      data[literal.slice(0, at)] = literal.slice(at + 1);
    }
    for (const entry of generator.files ?? []) {
      const [key, source] = entry.includes('=') ? entry.split('=', 2) : [basename(entry), entry];
      const path = resolve(dir, source);
      if (!existsSync(path)) throw new Error(`${rel(file)}: file ${source} does not exist`);
      usedFiles.set(path, 'generated');
      data[key] = readFileSync(path, 'utf8');
    }
    resources.push({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: {
        name: generator.name,
        ...(options.labels ? { labels: { ...options.labels } } : {}),
        ...(options.annotations ? { annotations: { ...options.annotations } } : {}),
      },
      data,
    });
  }
  resources = resources.map((m) => structuredClone(m));
  const ids = resources.map((m) => `${groupOf(m.apiVersion)}/${idOf(m)}`);
  const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
  if (duplicate) throw new Error(`${rel(file)}: ${duplicate} is defined twice`);

  // 2. patches
  for (const entry of k.patches ?? []) {
    if (!entry.path || entry.patch !== undefined || entry.target !== undefined || entry.options) {
      throw new Error(`${rel(file)}: only file patches without target or options are rendered`);
    }
    const path = resolve(dir, entry.path);
    if (!existsSync(path)) throw new Error(`${rel(file)}: patch ${entry.path} does not exist`);
    usedFiles.set(path, 'patch');
    for (const patch of readManifests(path)) {
      const index = resources.findIndex((m) => sameObject(m, patch));
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

  // 3. namespace, names (with the references to them), labels
  const renamed = new Map<string, string>();
  for (const m of resources) {
    if (k.namespace && !CLUSTER_SCOPED.has(m.kind)) m.metadata.namespace = k.namespace;
    if (k.namePrefix || k.nameSuffix) {
      const name = `${k.namePrefix ?? ''}${m.metadata.name}${k.nameSuffix ?? ''}`;
      renamed.set(`${m.kind}/${m.metadata.name}`, name);
      m.metadata.name = name;
    }
    for (const entry of k.labels ?? []) applyLabels(m, entry);
  }
  for (const m of resources) {
    for (const { kind, holder, key } of nameReferences(m)) {
      const name = renamed.get(`${kind}/${String(holder[key])}`);
      if (name) holder[key] = name;
    }
  }

  // 4. replicas and images
  for (const { name, count } of k.replicas ?? []) {
    const targets = resources.filter((m) => WORKLOADS.has(m.kind) && m.metadata.name === name);
    if (targets.length !== 1) throw new Error(`${rel(file)}: replicas: no workload ${name}`);
    (targets[0].spec as Record<string, unknown>).replicas = count;
  }
  for (const m of resources) {
    for (const pod of podSpecsOf(m)) {
      for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
        for (const image of k.images ?? []) {
          const current = splitImage(container.image ?? '');
          if (current.name !== image.name) continue;
          const tag = image.newTag ?? current.tag;
          const digest = image.digest ?? current.digest;
          container.image = `${image.newName ?? current.name}${tag ? `:${tag}` : ''}${digest ? `@${digest}` : ''}`;
        }
      }
    }
  }
  return resources;
}
