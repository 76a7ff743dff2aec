/**
 * A small in-process cache whose entries live `ttlMs` (by the caller's clock;
 * a `set` may give its entry a shorter life) and which never grows past
 * `maxEntries` (oldest dropped first). For the caches on the request path:
 * tenant lookup, membership, sessions.
 */
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; storedAt: number; ttlMs: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
  ) {}

  /**
   * The cached value, or `undefined` when absent or expired. `maxAgeMs`
   * shortens every entry's life for this read (a reader that trusts its
   * copies less for now), without dropping anything.
   */
  get(key: K, nowMs: number, maxAgeMs = Number.POSITIVE_INFINITY): { value: V } | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    const age = nowMs - hit.storedAt;
    return age < hit.ttlMs && age < maxAgeMs ? { value: hit.value } : undefined;
  }

  set(key: K, value: V, nowMs: number, ttlMs = this.ttlMs): void {
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries)
      this.entries.delete(this.entries.keys().next().value as K);
    this.entries.set(key, { value, storedAt: nowMs, ttlMs: Math.min(ttlMs, this.ttlMs) });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }
}
