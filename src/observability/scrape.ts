import { setTimeout as sleep } from 'node:timers/promises';

/**
 * A scrape-time read with a deadline: Prometheus gives up on a slow scrape
 * (10 s by default), so a collector waiting on a sick database must fail
 * fast and let the rest of the scrape through.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      work,
      sleep(ms, undefined, { signal: timer.signal }).then(() => {
        throw new Error(`${what} took longer than ${ms} ms`);
      }),
    ]);
  } finally {
    timer.abort();
  }
}
