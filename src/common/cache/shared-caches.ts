import { randomUUID } from 'node:crypto';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import type Redis from 'ioredis';
import { Clock } from '../clock';
import { RedisConnection } from '../redis-connection';
import { TtlCache } from '../ttl-cache';

/** The Redis channel every replica listens on for invalidations. */
export const INVALIDATION_CHANNEL = 'gw:cache:invalidate';

/** How long start-up waits for the subscription before serving without it. */
const SUBSCRIBE_WAIT_MS = 1000;

/** One invalidation as it travels between replicas; no `key`: the whole cache. */
interface InvalidationMessage {
  origin: string;
  cache: string;
  key?: string;
}

/**
 * A few-second in-process cache whose invalidations reach every replica.
 * Reads are local (no network on the hot path); `invalidate` and `clear` act
 * here at once and, with Redis, are published so other replicas drop their
 * copy within milliseconds instead of serving it until the TTL runs out.
 */
export class SharedCache<V> {
  private readonly local: TtlCache<string, V>;
  /** Bumped by every invalidation, so a load that raced a change is not cached over it. */
  private generation = 0;

  constructor(
    readonly name: string,
    ttlMs: number,
    maxEntries: number,
    private readonly clock: Clock,
    private readonly broadcast: (cache: string, key?: string) => void,
  ) {
    this.local = new TtlCache(ttlMs, maxEntries);
  }

  /** Loads under way, so concurrent misses of one key share one load (a burst after expiry costs one query). */
  private readonly loading = new Map<string, { generation: number; value: Promise<V> }>();

  /**
   * The cached value for `key`, or what `load` returns (then cached, unless
   * invalidated meanwhile). Callers that miss while a load of the same key is
   * under way, with no invalidation since it began, wait for that load.
   */
  getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.local.get(key, this.clock.now().getTime());
    if (hit) return Promise.resolve(hit.value);
    const pending = this.loading.get(key);
    if (pending && pending.generation === this.generation) return pending.value;
    const generation = this.generation;
    const value = load()
      .then((loaded) => {
        if (generation === this.generation) this.local.set(key, loaded, this.clock.now().getTime());
        return loaded;
      })
      .finally(() => {
        if (this.loading.get(key)?.value === value) this.loading.delete(key);
      });
    this.loading.set(key, { generation, value });
    return value;
  }

  /** After a committed change to what `key` names: every replica reads it again. */
  invalidate(key: string): void {
    this.drop(key);
    this.broadcast(this.name, key);
  }

  /** After a change that may touch every entry. */
  clear(): void {
    this.drop();
    this.broadcast(this.name);
  }

  /** Drops `key` (or everything) here only: for invalidations that came from elsewhere. */
  drop(key?: string): void {
    this.generation += 1;
    if (key === undefined) this.local.clear();
    else this.local.delete(key);
  }
}

/**
 * Makes the request-path caches (tenants, memberships, entitlements, the
 * pricing page) and carries their invalidations between replicas on a Redis
 * channel when `REDIS_URL` is set. Without Redis each process is on its own,
 * as a single process needs. While Redis is unreachable an invalidation
 * reaches other replicas only through the TTL (seconds), and a replica whose
 * subscription comes back drops everything it holds, since it may have missed
 * some.
 */
@Injectable()
export class SharedCaches implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SharedCaches.name);
  private readonly caches = new Map<string, SharedCache<unknown>>();
  /** Tells this process's own messages apart when they come back from Redis. */
  private readonly origin = randomUUID();
  private readonly subscriber?: Redis;

  constructor(
    private readonly redis: RedisConnection,
    private readonly clock: Clock,
  ) {
    // A connection in subscriber mode can do nothing else, hence its own. It
    // queues the SUBSCRIBE until connected and repeats it after a reconnect.
    this.subscriber = redis.client?.duplicate({ enableOfflineQueue: true, lazyConnect: true });
    this.subscriber?.on('error', () => undefined);
  }

  /** A new cache; `name` is what replicas call it in invalidations, one per cache. */
  create<V>(name: string, ttlMs: number, maxEntries = 10_000): SharedCache<V> {
    if (this.caches.has(name)) throw new Error(`A shared cache named "${name}" already exists.`);
    const cache = new SharedCache<V>(name, ttlMs, maxEntries, this.clock, (cache, key) =>
      this.publish(cache, key),
    );
    this.caches.set(name, cache);
    return cache;
  }

  async onModuleInit(): Promise<void> {
    const subscriber = this.subscriber;
    if (!subscriber) return;
    subscriber.on('message', (_channel: string, raw: string) => this.receive(raw));
    let connectedBefore = false;
    subscriber.on('ready', () => {
      if (connectedBefore) this.dropAll();
      connectedBefore = true;
    });
    // Serve without waiting long when Redis is down: the TTL bounds staleness.
    const subscribed = subscriber
      .connect()
      .then(() => subscriber.subscribe(INVALIDATION_CHANNEL))
      .then(() => true);
    const timedOut = new Promise<boolean>((resolve) =>
      setTimeout(() => resolve(false), SUBSCRIBE_WAIT_MS).unref(),
    );
    const ok = await Promise.race([subscribed.catch(() => false), timedOut]);
    if (!ok) {
      this.logger.warn(
        'Redis does not answer: cache invalidations from other replicas arrive only through the TTL until it does.',
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscriber?.quit().catch(() => this.subscriber?.disconnect());
  }

  private publish(cache: string, key?: string): void {
    const client = this.redis.client;
    if (!client) return;
    const message: InvalidationMessage = { origin: this.origin, cache, key };
    client.publish(INVALIDATION_CHANNEL, JSON.stringify(message)).catch((error: unknown) => {
      this.logger.warn(
        { cache, err: error },
        'Could not publish a cache invalidation: other replicas see the change within the TTL.',
      );
    });
  }

  private receive(raw: string): void {
    let message: InvalidationMessage;
    try {
      message = JSON.parse(raw) as InvalidationMessage;
    } catch {
      return;
    }
    if (message.origin === this.origin) return;
    this.caches.get(message.cache)?.drop(message.key);
  }

  private dropAll(): void {
    for (const cache of this.caches.values()) cache.drop();
  }
}
