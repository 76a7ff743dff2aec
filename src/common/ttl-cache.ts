/**
 * A small in-process cache whose entries live `ttlMs` (by the caller's clock)
 * and which never grows past `maxEntries` (oldest dropped first). For the
 * few-second caches on the request path: tenant lookup, membership, sessions.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /** The cached value, or `undefined` when absent or expired. */
  get(key: K, nowMs: number): { value: V } | undefined {
    const hit = this.entries.get(key);
    return hit && hit.expires > nowMs ? { value: hit.value } : undefined;
  }

  set(key: K, value: V, nowMs: number): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries)
      this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, { value, expires: nowMs + this.ttlMs });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
