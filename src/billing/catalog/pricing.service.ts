import { Injectable } from '@nestjs/common';
import { Clock } from '../../common/clock';
import { TtlCache } from '../../common/ttl-cache';
import { CURRENCIES, Currency } from '../entities/money';
import { CatalogService } from './catalog.service';
import { PricingDto } from './dtos/pricing.dto';
import { buildPricing, strongEtag } from './pricing';

/**
 * The public pricing page is read far more often than the catalog changes: a
 * few seconds in process bound the staleness other replicas may show after an
 * admin change (this process drops its copy at once).
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
  private readonly cache = new TtlCache<string, PricingPage>(CACHE_TTL_MS, CURRENCIES.length + 1);
  /** Bumped by every invalidation, so a read that raced a change is not cached over it. */
  private generation = 0;

  constructor(
    private readonly catalog: CatalogService,
    private readonly clock: Clock,
  ) {}

  async page(currency?: Currency): Promise<PricingPage> {
    const key = currency ?? '*';
    const hit = this.cache.get(key, this.clock.now().getTime());
    if (hit) return hit.value;
    const generation = this.generation;
    const body = buildPricing(await this.catalog.snapshot(), currency);
    const page = { body, etag: strongEtag(body) };
    if (generation === this.generation) this.cache.set(key, page, this.clock.now().getTime());
    return page;
  }

  /** After a committed catalog change: the next request reads the catalog again. */
  invalidate(): void {
    this.generation += 1;
    this.cache.clear();
  }
}
