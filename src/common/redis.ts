import { Global, Inject, Injectable, Module, OnApplicationShutdown } from '@nestjs/common';
import Redis from 'ioredis';
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

  async onApplicationShutdown(): Promise<void> {
    // quit() is refused while Redis is unreachable (no offline queue): then drop
    // the connection, or its reconnect timer keeps the process alive.
    await this.client?.quit().catch(() => this.client?.disconnect());
  }
}

@Global()
@Module({ providers: [RedisConnection], exports: [RedisConnection] })
export class RedisModule {}

export const InjectRedis = (): ParameterDecorator => Inject(RedisConnection);
