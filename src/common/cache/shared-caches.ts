import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Injectable, Logger, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { EntityManager } from '@mikro-orm/postgresql';
import { Clock } from '../clock';
import { RedisConnection } from '../redis-connection';
import { TtlCache } from '../ttl-cache';
import { AppConfig } from '../../config/app-config';
import { InjectConfig } from '../../config/config.module';
import {
  ChannelListener,
  InvalidationChannel,
  PostgresInvalidationChannel,
  RedisInvalidationChannel,
} from './invalidation-channel';

/** How long start-up waits for the subscription before serving without it. */
const SUBSCRIBE_WAIT_MS = 1000;
/** The longest a response waits for its invalidations to leave (see `published`). */
const PUBLISH_WAIT_MS = 1000;

/** Each process pings itself through the channel this often... */
export const PING_INTERVAL_MS = 2_000;
/** ...and trusts the channel while its last ping came back within this. */
export const LIVE_WINDOW_MS = 3 * PING_INTERVAL_MS;

/**
 * After an invalidation of a key (or of the whole cache), what is loaded for
 * it is kept only for the short lifetime during this long: a caller that
 * invalidated before its transaction committed lets a reader in between load
 * the old row, and that copy must not outlive the short lifetime.
 */
export const SETTLE_MS = 30_000;

/** One message as it travels between replicas: an invalidation (no `key`: the whole cache) or a ping. */
interface ChannelMessage {
  origin: string;
  cache?: string;
  key?: string;
  ping?: number;
}

/** How long entries live: long while invalidations are known to arrive, short otherwise. */
export interface CacheLifetimes {
  /** While the channel delivers (its pings come back). */
  ttlMs: number;
  /** Without a working channel, and for reloads just after a change. */
  fallbackTtlMs: number;
}

/**
 * An in-process cache whose invalidations reach every replica. Reads are
 * local (no network on the hot path); `invalidate` and `clear` act here at
 * once and are published so other replicas drop their copy within
 * milliseconds. Entries live long (`ttlMs`) while the channel is known to
 * deliver, and only `fallbackTtlMs` (seconds) when it is not, or when the key
 * changed moments ago; the short lifetime is what bounds staleness when an
 * invalidation cannot arrive.
 */
export class SharedCache<V> {
  private readonly local: TtlCache<string, V>;
  /** Bumped by every invalidation, so a load that raced a change is not cached over it. */
  private generation = 0;
  /** Keys invalidated in the last SETTLE_MS, and when the whole cache last was. */
  private readonly settling: TtlCache<string, true>;
  private clearedAt = Number.NEGATIVE_INFINITY;
  private readonly lifetimes: CacheLifetimes;

  constructor(
    readonly name: string,
    lifetimes: CacheLifetimes | number,
    maxEntries: number,
    private readonly clock: Clock,
    private readonly broadcast: (cache: string, key?: string) => void,
    /** Whether invalidations from other processes are arriving; without a channel, never. */
    private readonly channelLive: () => boolean = () => false,
  ) {
    this.lifetimes =
      typeof lifetimes === 'number' ? { ttlMs: lifetimes, fallbackTtlMs: lifetimes } : lifetimes;
    this.local = new TtlCache(
      Math.max(this.lifetimes.ttlMs, this.lifetimes.fallbackTtlMs),
      maxEntries,
    );
    this.settling = new TtlCache(SETTLE_MS, maxEntries);
  }

  /** Loads under way, so concurrent misses of one key share one load (a burst after expiry costs one query). */
  private readonly loading = new Map<string, { generation: number; value: Promise<V> }>();

  /**
   * The cached value for `key`, or what `load` returns (then cached, unless
   * invalidated meanwhile). Callers that miss while a load of the same key is
   * under way, with no invalidation since it began, wait for that load.
   */
  getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const now = this.clock.now().getTime();
    const maxAge = this.channelLive() ? undefined : this.lifetimes.fallbackTtlMs;
    const hit = this.local.get(key, now, maxAge);
    if (hit) return Promise.resolve(hit.value);
    const pending = this.loading.get(key);
    if (pending && pending.generation === this.generation) return pending.value;
    const generation = this.generation;
    const value = load()
      .then((loaded) => {
        if (generation === this.generation) {
          const at = this.clock.now().getTime();
          this.local.set(key, loaded, at, this.lifetimeFor(key, at));
        }
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

  /**
   * Drops `key` (or everything) here only: for invalidations that came from
   * elsewhere. `settle: false` for drops that follow no change (a channel
   * that came back): reloads then keep the long lifetime.
   */
  drop(key?: string, settle = true): void {
    this.generation += 1;
    const now = this.clock.now().getTime();
    if (key === undefined) {
      this.local.clear();
      if (settle) this.clearedAt = now;
    } else {
      this.local.delete(key);
      this.settling.set(key, true, now);
    }
  }

  private lifetimeFor(key: string, now: number): number {
    const settled = now - this.clearedAt >= SETTLE_MS && !this.settling.get(key, now);
    return this.channelLive() && settled ? this.lifetimes.ttlMs : this.lifetimes.fallbackTtlMs;
  }
}

/**
 * Makes the request-path caches (tenants, memberships, entitlements, the
 * pricing page, sessions) and carries their invalidations between replicas:
 * on Redis pub/sub when `REDIS_URL` is set, else on PostgreSQL's
 * LISTEN/NOTIFY on the application's database. Each process pings itself
 * through the channel every PING_INTERVAL_MS; while the pings come back,
 * entries live `CACHE_TTL_MS` (a minute), otherwise only a few seconds, which
 * is then what bounds staleness. A process whose subscription broke and came
 * back drops everything it holds, since it may have missed messages.
 */
@Injectable()
export class SharedCaches implements OnModuleInit, OnApplicationShutdown {
  private readonly logger = new Logger(SharedCaches.name);
  private readonly caches = new Map<string, SharedCache<unknown>>();
  /** Tells this process's own messages apart when they come back. */
  private readonly origin = randomUUID();
  private readonly channel?: InvalidationChannel;
  private readonly ttlMs: number;
  /** performance.now() of the last own ping that came back through the channel. */
  private lastEcho = Number.NEGATIVE_INFINITY;
  private pings = 0;
  private pinger?: NodeJS.Timeout;
  private startedAt = 0;

  constructor(
    redis: RedisConnection,
    private readonly clock: Clock,
    @InjectConfig() config: AppConfig,
    em: EntityManager,
  ) {
    this.ttlMs = config.caches.ttlMs;
    const url = config.database.url?.reveal();
    if (config.caches.channel === 'redis' && redis.client)
      this.channel = new RedisInvalidationChannel(redis.client);
    else if (config.caches.channel === 'postgres' && url)
      this.channel = new PostgresInvalidationChannel(
        url,
        config.database.connectTimeoutMs,
        async (channel, payload) => {
          await em.getConnection().execute('select pg_notify(?, ?)', [channel, payload]);
        },
      );
  }

  /**
   * A new cache; `name` is what replicas call it in invalidations, one per
   * cache. `fallbackTtlMs` is its lifetime when the channel cannot be trusted
   * (and just after a change); with a working channel entries live
   * `CACHE_TTL_MS`, or `fallbackTtlMs` if that is longer.
   */
  create<V>(name: string, fallbackTtlMs: number, maxEntries = 10_000): SharedCache<V> {
    if (this.caches.has(name)) throw new Error(`A shared cache named "${name}" already exists.`);
    const cache = new SharedCache<V>(
      name,
      { ttlMs: Math.max(this.ttlMs, fallbackTtlMs), fallbackTtlMs },
      maxEntries,
      this.clock,
      (cache, key) => this.publish({ origin: this.origin, cache, key }),
      () => this.live(),
    );
    this.caches.set(name, cache);
    return cache;
  }

  /** Whether invalidations are known to arrive: a ping came back within LIVE_WINDOW_MS. */
  live(): boolean {
    return performance.now() - this.lastEcho < LIVE_WINDOW_MS;
  }

  /** Which channel carries invalidations, for logs and tests. */
  get channelKind(): InvalidationChannel['kind'] | 'none' {
    return this.channel?.kind ?? 'none';
  }

  async onModuleInit(): Promise<void> {
    const channel = this.channel;
    if (!channel) return;
    const listener: ChannelListener = {
      message: (raw) => this.receive(raw),
      resubscribed: () => this.dropAll(),
      lost: () => (this.lastEcho = Number.NEGATIVE_INFINITY),
    };
    // Serve without waiting long when the channel is down: the short TTL bounds staleness.
    const subscribed = channel.start(listener).then(() => true);
    const timedOut = new Promise<boolean>((resolve) =>
      setTimeout(() => resolve(false), SUBSCRIBE_WAIT_MS).unref(),
    );
    const ok = await Promise.race([subscribed.catch(() => false), timedOut]);
    if (!ok) {
      this.logger.warn(
        `The cache invalidation channel (${channel.kind}) does not answer: caches keep their short lifetime until it does.`,
      );
    }
    this.startedAt = performance.now();
    this.ping();
    this.pinger = setInterval(() => this.ping(), PING_INTERVAL_MS);
    this.pinger.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.pinger);
    await this.channel?.stop();
  }

  /** performance.now() of the last reset of a channel that stopped delivering. */
  private lastReset = Number.NEGATIVE_INFINITY;
  private warnedSilent = false;
  /** Whether any own ping ever came back (a channel that never delivered is not reset over and over). */
  private deliveredOnce = false;

  private ping(): void {
    const now = performance.now();
    const silentFor = now - Math.max(this.lastEcho, this.lastReset, this.startedAt);
    if (silentFor > 2 * LIVE_WINDOW_MS) {
      if (this.deliveredOnce) {
        // It delivered before: a half-open connection, or a subscription lost without a
        // close. A new connection costs little; stale copies cost more.
        this.logger.warn(
          `The cache invalidation channel (${this.channelKind}) went silent: reconnecting.`,
        );
        this.lastReset = now;
        this.channel?.reset();
      } else if (!this.warnedSilent) {
        // Never delivered: a LISTEN behind a transaction pooler, most likely.
        this.warnedSilent = true;
        this.logger.warn(
          `No ping came back through the cache invalidation channel (${this.channelKind}); caches keep their short lifetime. Behind a transaction-pooling PgBouncer set REDIS_URL or CACHE_CHANNEL=none.`,
        );
      }
    }
    this.publish({ origin: this.origin, ping: ++this.pings }, true);
  }

  /** Invalidations sent and not yet acknowledged by the channel. */
  private readonly inFlight = new Set<Promise<void>>();

  /**
   * Resolves once the invalidations sent so far have left (or failed, or
   * PUBLISH_WAIT_MS passed); undefined when none is under way. The HTTP layer
   * waits for it before answering, so a client told "done" finds the change
   * on whichever replica serves its next request.
   */
  published(): Promise<void> | undefined {
    if (this.inFlight.size === 0) return undefined;
    const timer = new AbortController();
    return Promise.race([
      Promise.allSettled([...this.inFlight]).then(() => timer.abort()),
      sleep(PUBLISH_WAIT_MS, undefined, { signal: timer.signal }).catch(() => undefined),
    ]);
  }

  private publish(message: ChannelMessage, quiet = false): void {
    if (!this.channel) return;
    const sent = this.channel.publish(JSON.stringify(message)).catch((error: unknown) => {
      if (quiet) return;
      this.logger.warn(
        { cache: message.cache, err: error },
        'Could not publish a cache invalidation: other replicas see the change within the short TTL.',
      );
    });
    if (quiet) return;
    this.inFlight.add(sent);
    void sent.finally(() => this.inFlight.delete(sent));
  }

  private receive(raw: string): void {
    let message: ChannelMessage;
    try {
      message = JSON.parse(raw) as ChannelMessage;
    } catch {
      return;
    }
    if (message.origin !== this.origin) {
      if (message.cache) this.caches.get(message.cache)?.drop(message.key);
      return;
    }
    if (message.ping === undefined) return;
    // A ping back after a silence: messages in between may be lost.
    if (!this.live()) this.dropAll();
    this.lastEcho = performance.now();
    this.deliveredOnce = true;
  }

  private dropAll(): void {
    for (const cache of this.caches.values()) cache.drop(undefined, false);
  }
}
