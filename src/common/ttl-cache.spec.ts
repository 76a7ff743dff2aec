import { TtlCache } from './ttl-cache';

describe('TtlCache', () => {
  it('returns a value until its time is up, including cached absences', () => {
    const cache = new TtlCache<string, number | null>(1000);
    cache.set('a', 1, 0);
    cache.set('b', null, 0);
    expect(cache.get('a', 999)).toEqual({ value: 1 });
    expect(cache.get('b', 999)).toEqual({ value: null });
    expect(cache.get('a', 1000)).toBeUndefined();
    expect(cache.get('missing', 0)).toBeUndefined();
  });

  it('forgets on delete and clear, and drops the oldest entry when full', () => {
    const cache = new TtlCache<string, number>(1000, 2);
    cache.set('a', 1, 0);
    cache.set('b', 2, 0);
    cache.set('c', 3, 0);
    expect(cache.get('a', 0)).toBeUndefined();
    expect(cache.get('c', 0)).toEqual({ value: 3 });
    cache.delete('c');
    expect(cache.get('c', 0)).toBeUndefined();
    cache.clear();
    expect(cache.get('b', 0)).toBeUndefined();
  });
});

describe('TtlCache lifetimes', () => {
  it('gives an entry a shorter life when set with one, never a longer one', () => {
    const cache = new TtlCache<string, number>(1000);
    cache.set('short', 1, 0, 100);
    cache.set('capped', 2, 0, 5000);
    expect(cache.get('short', 99)).toEqual({ value: 1 });
    expect(cache.get('short', 100)).toBeUndefined();
    expect(cache.get('capped', 999)).toEqual({ value: 2 });
    expect(cache.get('capped', 1000)).toBeUndefined();
  });

  it('reads with a maximum age without dropping what is older', () => {
    const cache = new TtlCache<string, number>(1000);
    cache.set('a', 1, 0);
    expect(cache.get('a', 500, 200)).toBeUndefined();
    expect(cache.get('a', 500)).toEqual({ value: 1 });
  });
});
