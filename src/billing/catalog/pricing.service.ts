import { Injectable } from '@nestjs/common';
import { SharedCache, SharedCaches } from '../../common/cache/shared-caches';
import { CURRENCIES, Currency } from '../entities/money';
import { CatalogService } from './catalog.service';
import { PricingDto } from './dtos/pricing.dto';
import { strongEtag } from '../../common/http/etag';
import { buildPricing } from './pricing';

/**
 * The public pricing page is read far more often than the catalog changes. An
 * admin change drops the copy at once here and, with Redis, on every replica;
 * the TTL bounds staleness while Redis is unreachable.
 */
const CACHE_TTL_MS = 5_000;

export interface PricingPage {
  /** Shared between requests: never mutate it. */
  body: PricingDto;
  /** Strong entity tag of `body`. */
  etag: string;
}

/** The pricing page, built from the active catalog and cached per currency filter. */
@Injectable()
export class PricingService {
  private readonly cache: SharedCache<PricingPage>;

  constructor(
    private readonly catalog: CatalogService,
    caches: SharedCaches,
  ) {
    this.cache = caches.create('pricing', CACHE_TTL_MS, CURRENCIES.length + 1);
  }

  page(currency?: Currency): Promise<PricingPage> {
    return this.cache.getOrLoad(currency ?? '*', async () => {
      const body = buildPricing(await this.catalog.snapshot(), currency);
      return { body, etag: strongEtag(body) };
    });
  }

  /** After a committed catalog change: every replica reads the catalog again. */
  invalidate(): void {
    this.cache.clear();
  }
}
