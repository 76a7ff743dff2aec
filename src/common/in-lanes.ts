/**
 * Runs `work` over `items` with at most `lanes` in flight, each lane taking
 * the next item when its last one ends. Waits for every lane (nothing is left
 * running when it returns), then rethrows the first failure, if any.
 */
export async function inLanes<T>(
  items: readonly T[],
  lanes: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < items.length) await work(items[next++]);
  };
  const count = Math.max(1, Math.min(lanes, items.length));
  const settled = await Promise.allSettled(Array.from({ length: count }, lane));
  const broken = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (broken) throw broken.reason;
}
