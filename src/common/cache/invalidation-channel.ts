import { Logger } from '@nestjs/common';
import type Redis from 'ioredis';
import { Client } from 'pg';
import { sslFromUrl } from '../../database/orm.config';

/** What a channel tells the caches: a message arrived, or it may have missed some. */
export interface ChannelListener {
  message(raw: string): void;
  /** The subscription is back after a break: anything published meanwhile was lost. */
  resubscribed(): void;
  /** The subscription broke: until it is back, nothing published reaches this process. */
  lost(): void;
}

/**
 * How cache invalidations travel between replicas: every process publishes
 * and every process (itself included) receives. Delivery is best effort;
 * `SharedCaches` checks it by sending itself pings, so a channel that
 * silently delivers nothing (LISTEN behind a transaction pooler) is noticed.
 */
export interface InvalidationChannel {
  readonly kind: 'redis' | 'postgres';
  /** Resolves once subscribed (the PostgreSQL one rejects when its first try fails); keeps trying in the background. */
  start(listener: ChannelListener): Promise<void>;
  publish(raw: string): Promise<void>;
  /** Drops the subscription's connection and makes a new one (it stopped delivering). */
  reset(): void;
  stop(): Promise<void>;
}

/** The Redis channel every replica listens on. */
export const REDIS_CHANNEL = 'gw:cache:invalidate';

/** Pub/sub on the shared Redis: a connection of its own for the subscription. */
export class RedisInvalidationChannel implements InvalidationChannel {
  readonly kind = 'redis';
  private readonly subscriber: Redis;

  constructor(private readonly client: Redis) {
    // A connection in subscriber mode can do nothing else, hence its own. It
    // queues the SUBSCRIBE until connected and repeats it after a reconnect.
    this.subscriber = client.duplicate({ enableOfflineQueue: true, lazyConnect: true });
    this.subscriber.on('error', () => undefined);
  }

  start(listener: ChannelListener): Promise<void> {
    const subscriber = this.subscriber;
    subscriber.on('message', (_channel: string, raw: string) => listener.message(raw));
    subscriber.on('close', () => listener.lost());
    let subscribedBefore = false;
    return new Promise((resolve) => {
      // On every connection, the first included: a process that starts while Redis is
      // down subscribes once it answers (ioredis keeps reconnecting on its own).
      subscriber.on('ready', () => {
        subscriber
          .subscribe(REDIS_CHANNEL)
          .then(() => {
            if (subscribedBefore) listener.resubscribed();
            subscribedBefore = true;
            resolve();
          })
          .catch(() => undefined);
      });
      subscriber.connect().catch(() => undefined);
    });
  }

  async publish(raw: string): Promise<void> {
    await this.client.publish(REDIS_CHANNEL, raw);
  }

  reset(): void {
    // Reconnects (and subscribes again on `ready`).
    this.subscriber.disconnect(true);
  }

  async stop(): Promise<void> {
    await this.subscriber.quit().catch(() => this.subscriber.disconnect());
  }
}

/** The PostgreSQL notification channel every replica LISTENs on. */
export const POSTGRES_CHANNEL = 'gw_cache_invalidate';

/** Reconnect delays after the listening connection breaks: doubling, capped. */
const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 10_000;

/**
 * LISTEN/NOTIFY on the application's own database, for deployments without
 * Redis: one connection per process listens; messages are sent on another
 * (`notify`, the ORM's pool), so a ping that comes back proves delivery from
 * one session to another, and a publish does not depend on the listening
 * connection being up. Behind a transaction-pooling PgBouncer the listening
 * client holds no server connection between statements, so nothing comes
 * back and the caches keep their short lifetime (set CACHE_CHANNEL=none or
 * REDIS_URL there: the LISTEN itself stays on a pooled server connection).
 */
export class PostgresInvalidationChannel implements InvalidationChannel {
  readonly kind = 'postgres';
  private readonly logger = new Logger('CacheInvalidation');
  private client?: Client;
  private listener?: ChannelListener;
  private stopped = false;
  private reconnectDelay = RECONNECT_MIN_MS;
  private reconnectTimer?: NodeJS.Timeout;
  private subscribedBefore = false;

  constructor(
    private readonly url: string,
    private readonly connectTimeoutMs: number,
    /** Runs `select pg_notify(channel, payload)` on a connection other than the listening one. */
    private readonly notify: (channel: string, payload: string) => Promise<void>,
  ) {}

  start(listener: ChannelListener): Promise<void> {
    this.listener = listener;
    return this.connect();
  }

  publish(raw: string): Promise<void> {
    return this.notify(POSTGRES_CHANNEL, raw);
  }

  reset(): void {
    // Ending it emits `end`: the usual path, lost() and a reconnect.
    void this.client?.end().catch(() => undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reconnectTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new Client({
      connectionString: this.url,
      ssl: sslFromUrl(this.url),
      application_name: 'groundwork-cache-invalidation',
      connectionTimeoutMillis: this.connectTimeoutMs,
      // An idle listener notices a dead peer (a failover, a dropped NAT entry) in minutes,
      // not hours; SharedCaches also resets a channel whose pings stop coming back.
      keepAlive: true,
    });
    let broken = false;
    const onBroken = (error?: Error) => {
      if (broken) return;
      broken = true;
      if (this.client === client) this.client = undefined;
      this.listener?.lost();
      void client.end().catch(() => undefined);
      if (this.stopped) return;
      this.logger.warn(
        { err: error },
        'The cache invalidation connection broke: caches keep their short lifetime until it is back.',
      );
      this.scheduleReconnect();
    };
    client.on('error', onBroken);
    client.on('end', () => onBroken());
    client.on('notification', (message) => {
      if (message.channel === POSTGRES_CHANNEL && message.payload)
        this.listener?.message(message.payload);
    });
    try {
      await client.connect();
      await client.query(`listen ${POSTGRES_CHANNEL}`);
    } catch (error) {
      onBroken(error as Error);
      throw error;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.reconnectDelay = RECONNECT_MIN_MS;
    if (this.subscribedBefore) this.listener?.resubscribed();
    this.subscribedBefore = true;
  }

  private scheduleReconnect(): void {
    clearTimeout(this.reconnectTimer);
    const delay = this.reconnectDelay;
    this.reconnectDelay = Math.min(delay * 2, RECONNECT_MAX_MS);
    this.reconnectTimer = setTimeout(() => {
      this.connect().catch(() => undefined);
    }, delay);
    this.reconnectTimer.unref();
  }
}
