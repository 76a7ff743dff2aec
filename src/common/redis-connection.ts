import { Injectable, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
import {
  IRateLimiterOptions,
  RateLimiterAbstract,
  RateLimiterMemory,
  RateLimiterRedis,
} from 'rate-limiter-flexible';
import { AppConfig } from '../config/app-config';
import { InjectConfig } from '../config/config.module';

/**
 * The shared Redis connection when `REDIS_URL` is set, so rate limits and
 * caches are shared by every replica; `client` is undefined otherwise and
 * callers fall back to in-process state.
 */
@Injectable()
export class RedisConnection implements OnApplicationShutdown {
  readonly client?: Redis;

  constructor(@InjectConfig() config: AppConfig) {
    const url = config.redis.url?.reveal();
    // Fail fast instead of queueing commands while Redis is down: callers have
    // an in-process fallback.
    this.client = url
      ? new Redis(url, { lazyConnect: false, enableOfflineQueue: false, maxRetriesPerRequest: 1 })
      : undefined;
    this.client?.on('error', () => undefined);
  }

  /**
   * A rate limiter counted in Redis when configured, so every replica shares
   * it, with an in-memory one standing in while Redis does not answer (the
   * limit then holds per process); memory only without Redis. Keys in Redis
   * are `gw:<prefix>:…`.
   */
  limiter(prefix: string, options: Omit<IRateLimiterOptions, 'keyPrefix'>): RateLimiterAbstract {
    const memory = new RateLimiterMemory({ ...options, keyPrefix: prefix });
    return this.client
      ? new RateLimiterRedis({
          ...options,
          storeClient: this.client,
          keyPrefix: `gw:${prefix}`,
          insuranceLimiter: memory,
        })
      : memory;
  }

  async onApplicationShutdown(): Promise<void> {
    // quit() is refused while Redis is unreachable (no offline queue): then drop
    // the connection, or its reconnect timer keeps the process alive.
    await this.client?.quit().catch(() => this.client?.disconnect());
  }
}
