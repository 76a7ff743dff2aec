import { Global, Inject, Module } from '@nestjs/common';
import { SharedCaches } from './cache/shared-caches';
import { RedisConnection } from './redis-connection';

export { RedisConnection } from './redis-connection';

/** Redis when `REDIS_URL` is set, and what is shared through it: rate limits and caches. */
@Global()
@Module({ providers: [RedisConnection, SharedCaches], exports: [RedisConnection, SharedCaches] })
export class RedisModule {}

export const InjectRedis = (): ParameterDecorator => Inject(RedisConnection);
