import { Injectable, OnModuleInit } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { JobQueue } from '../../src/common/jobs/job-queue';
import { eventually } from '../support/polling';
import { bootTestApp, TestApp } from '../support/test-app';

interface Probe {
  running: number;
  peak: number;
  done: string[];
  tries: Map<string, number>;
}

const probe = (): Probe => ({ running: 0, peak: 0, done: [], tries: new Map() });
const lanes = { parallel: probe(), serial: probe() };

/** Two queues on the real pg-boss: one runs three jobs of a batch at once, one (the default) one by one. */
@Injectable()
class ProbeQueues implements OnModuleInit {
  constructor(private readonly jobs: JobQueue) {}

  onModuleInit(): void {
    const handler = (p: Probe) => async (data: { key: string; failOnce?: boolean }) => {
      const tries = (p.tries.get(data.key) ?? 0) + 1;
      p.tries.set(data.key, tries);
      p.running++;
      p.peak = Math.max(p.peak, p.running);
      try {
        await sleep(150);
        if (data.failOnce && tries === 1) throw new Error(`${data.key} fails its first try`);
        p.done.push(data.key);
      } finally {
        p.running--;
      }
    };
    this.jobs.define({
      name: 'test.parallel',
      batchSize: 6,
      concurrency: 3,
      retryLimit: 2,
      retryDelaySeconds: 1,
      pollingIntervalSeconds: 0.5,
      handle: handler(lanes.parallel),
    });
    this.jobs.define({
      name: 'test.serial',
      batchSize: 6,
      pollingIntervalSeconds: 0.5,
      handle: handler(lanes.serial),
    });
  }
}

describe('job queue: jobs of a batch in parallel lanes', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await bootTestApp({ providers: [ProbeQueues] });
  });
  afterAll(() => t.close());

  it('runs at most `concurrency` jobs at once, and a failed one is retried alone', async () => {
    const queue = t.app.get(JobQueue);
    const keys = ['a', 'b', 'c', 'd', 'e', 'f'];
    for (const key of keys) await queue.send('test.parallel', { key, failOnce: key === 'c' });
    await eventually(
      'every parallel job done',
      () => Promise.resolve(lanes.parallel.done.length === keys.length),
      30_000,
    );

    expect(lanes.parallel.peak).toBe(3);
    expect([...lanes.parallel.done].sort()).toEqual(keys);
    // Only the failing job ran twice; its batch's others completed once.
    expect(Object.fromEntries(lanes.parallel.tries)).toEqual({
      a: 1,
      b: 1,
      c: 2,
      d: 1,
      e: 1,
      f: 1,
    });
  });

  it('runs the jobs of a queue without `concurrency` one after another', async () => {
    const queue = t.app.get(JobQueue);
    const keys = ['p', 'q', 'r', 's'];
    for (const key of keys) await queue.send('test.serial', { key });
    await eventually(
      'every serial job done',
      () => Promise.resolve(lanes.serial.done.length === keys.length),
      30_000,
    );

    expect(lanes.serial.peak).toBe(1);
    expect([...lanes.serial.done].sort()).toEqual(keys);
  });
});
