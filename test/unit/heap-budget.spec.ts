import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { IMAGE_NODE_OPTIONS } from '../../bench/lib/app-process';
import { isObject, Manifest, render, ROOT } from './support/kustomize';

/** `--max-old-space-size=<MiB>` out of a NODE_OPTIONS value. */
const heapMiB = (nodeOptions: string): number => {
  const match = /--max-old-space-size=(\d+)/.exec(nodeOptions);
  if (!match) throw new Error(`no --max-old-space-size in NODE_OPTIONS "${nodeOptions}"`);
  return Number(match[1]);
};

const MIB: Record<string, number> = { Mi: 1, Gi: 1024 };
const limitMiB = (quantity: string): number => {
  const match = /^(\d+)(Mi|Gi)$/.exec(quantity);
  if (!match) throw new Error(`unexpected memory quantity ${quantity}`);
  return Number(match[1]) * MIB[match[2]];
};

interface Container {
  name: string;
  env?: { name: string; value?: string }[];
  resources?: { limits?: { memory?: string } };
}

const imageNodeOptions = (): string => {
  const dockerfile = readFileSync(join(ROOT, 'docker/Dockerfile'), 'utf8');
  const runtime = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const match = /NODE_OPTIONS=(\S+)/.exec(runtime);
  if (!match) throw new Error('the runtime stage of docker/Dockerfile sets no NODE_OPTIONS');
  return match[1];
};

/**
 * The V8 heap budget: the image sets one, the benchmark runs the server with
 * the same, and every deployment leaves room beside it under its memory
 * limit (code, sockets and argon2's native memory live outside the heap).
 */
describe('heap budget', () => {
  it('the bench runs the server with the image NODE_OPTIONS', () => {
    expect(imageNodeOptions()).toBe(IMAGE_NODE_OPTIONS);
  });

  it.each(['base', 'staging', 'production', 'demo'])(
    '%s: each app container heap budget is at most 60%% of its memory limit',
    (name) => {
      const dir = name === 'base' ? join(ROOT, 'k8s/base') : join(ROOT, 'k8s/overlays', name);
      const apps = render(dir)
        .filter((m: Manifest) => m.kind === 'Deployment')
        .flatMap((m: Manifest) => {
          const spec = (m.spec as { template: { spec: { containers: Container[] } } }).template
            .spec;
          return spec.containers.filter((c) => c.name === 'app');
        });
      expect(apps.length).toBeGreaterThan(0);
      for (const app of apps) {
        const options = app.env?.find((e) => e.name === 'NODE_OPTIONS')?.value;
        const heap = heapMiB(options ?? imageNodeOptions());
        const limit = app.resources?.limits?.memory;
        expect(isObject(app.resources) && typeof limit === 'string').toBe(true);
        expect(heap).toBeLessThanOrEqual(0.6 * limitMiB(limit!));
      }
    },
  );
});
