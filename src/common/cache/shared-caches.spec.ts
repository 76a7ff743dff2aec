import { ManualClock } from '../clock';
import { SharedCache } from './shared-caches';

describe('SharedCache', () => {
  let clock: ManualClock;
  let sent: [string, string | undefined][];
  let cache: SharedCache<string | null>;

  beforeEach(() => {
    clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
    sent = [];
    cache = new SharedCache('tenant', 1000, 100, clock, (name, key) => sent.push([name, key]));
  });

  it('serves a loaded value, absences included, until its TTL is up', async () => {
    let loads = 0;
    const load = () => Promise.resolve(++loads > 1 ? 'second' : null);
    expect(await cache.getOrLoad('a', load)).toBeNull();
    clock.advance(999);
    expect(await cache.getOrLoad('a', load)).toBeNull();
    clock.advance(1);
    expect(await cache.getOrLoad('a', load)).toBe('second');
    expect(loads).toBe(2);
  });

  it('drops a key or everything on invalidation and tells the other replicas', async () => {
    await cache.getOrLoad('a', () => Promise.resolve('old a'));
    await cache.getOrLoad('b', () => Promise.resolve('old b'));
    cache.invalidate('a');
    expect(await cache.getOrLoad('a', () => Promise.resolve('new a'))).toBe('new a');
    expect(await cache.getOrLoad('b', () => Promise.resolve('new b'))).toBe('old b');
    cache.clear();
    expect(await cache.getOrLoad('b', () => Promise.resolve('new b'))).toBe('new b');
    expect(sent).toEqual([
      ['tenant', 'a'],
      ['tenant', undefined],
    ]);
  });

  it('drops without telling anyone when the invalidation came from elsewhere', async () => {
    await cache.getOrLoad('a', () => Promise.resolve('old'));
    cache.drop('a');
    expect(await cache.getOrLoad('a', () => Promise.resolve('new'))).toBe('new');
    expect(sent).toEqual([]);
  });

  it('does not cache a load that an invalidation overtook', async () => {
    let finish!: (value: string) => void;
    const racing = cache.getOrLoad('a', () => new Promise<string>((resolve) => (finish = resolve)));
    // The change commits (and is announced) while the read of the old row is in flight.
    cache.drop('a');
    finish('read before the change');
    expect(await racing).toBe('read before the change');
    expect(await cache.getOrLoad('a', () => Promise.resolve('after'))).toBe('after');
  });

  it('shares one load among concurrent misses of a key, and fails them together', async () => {
    let loads = 0;
    let finish!: (value: string) => void;
    const load = () => {
      loads++;
      return new Promise<string>((resolve) => (finish = resolve));
    };
    const burst = Promise.all([1, 2, 3].map(() => cache.getOrLoad('a', load)));
    finish('loaded once');
    expect(await burst).toEqual(['loaded once', 'loaded once', 'loaded once']);
    expect(loads).toBe(1);

    cache.drop('a');
    const failing = [1, 2].map(() => cache.getOrLoad('a', () => Promise.reject(new Error('down'))));
    await expect(Promise.all(failing)).rejects.toThrow('down');
    // A failed load is not remembered: the next miss loads again.
    expect(await cache.getOrLoad('a', () => Promise.resolve('back'))).toBe('back');
  });

  it('does not hand a load that an invalidation overtook to callers after it', async () => {
    let finish!: (value: string) => void;
    const before = cache.getOrLoad('a', () => new Promise<string>((resolve) => (finish = resolve)));
    cache.drop('a');
    const after = cache.getOrLoad('a', () => Promise.resolve('read after the change'));
    finish('read before the change');
    expect(await before).toBe('read before the change');
    expect(await after).toBe('read after the change');
  });
});

describe('SharedCache lifetimes', () => {
  let clock: ManualClock;
  let live: boolean;
  let cache: SharedCache<string>;
  const lifetimes = { ttlMs: 60_000, fallbackTtlMs: 5_000 };

  beforeEach(() => {
    clock = new ManualClock(new Date('2026-01-01T00:00:00Z'));
    live = true;
    cache = new SharedCache(
      'membership',
      lifetimes,
      100,
      clock,
      () => undefined,
      () => live,
    );
  });

  const read = (key: string, value: string) => cache.getOrLoad(key, () => Promise.resolve(value));

  it('keeps entries the long lifetime while the channel delivers', async () => {
    await read('a', 'first');
    clock.advance(59_999);
    expect(await read('a', 'second')).toBe('first');
    clock.advance(1);
    expect(await read('a', 'second')).toBe('second');
  });

  it('trusts nothing older than the short lifetime once the channel stops delivering', async () => {
    await read('a', 'first');
    clock.advance(5_000);
    live = false;
    expect(await read('a', 'second')).toBe('second');
    // Loaded while the channel is down: the short lifetime, even once it is back.
    clock.advance(5_000);
    live = true;
    expect(await read('a', 'third')).toBe('third');
  });

  it('keeps what it reloads just after a change only the short lifetime', async () => {
    await read('a', 'before');
    await read('b', 'other');
    cache.invalidate('a');
    // A reader between the invalidation and the writer's commit may load the old row.
    expect(await read('a', 'maybe stale')).toBe('maybe stale');
    clock.advance(5_000);
    expect(await read('a', 'committed')).toBe('committed');
    expect(await read('b', 'unchanged key keeps its copy')).toBe('other');
    // Once the change has settled, reloads get the long lifetime again.
    clock.advance(30_000);
    cache.drop('b');
    clock.advance(30_000);
    expect(await read('b', 'settled')).toBe('settled');
    clock.advance(59_999);
    expect(await read('b', 'later')).toBe('settled');
  });

  it('treats a whole-cache change like a change of every key, unless it follows none', async () => {
    cache.clear();
    await read('a', 'after clear');
    clock.advance(5_000);
    expect(await read('a', 'reloaded')).toBe('reloaded');
    clock.advance(30_000);
    cache.drop(undefined, false);
    await read('a', 'after a channel came back');
    clock.advance(59_999);
    expect(await read('a', 'later')).toBe('after a channel came back');
  });
});
