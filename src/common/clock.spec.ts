import { Clock, ManualClock, SystemClock } from './clock';

const START = new Date('2025-01-31T23:59:59.000Z');

describe('ManualClock', () => {
  it('is not moved by later changes to the Date it was started from', () => {
    const start = new Date('2026-01-01T00:00:00Z');
    const clock = new ManualClock(start);
    start.setUTCFullYear(1999);
    expect(clock.now().toISOString()).toBe('2026-01-01T00:00:00.000Z');
  });

  it('is a Clock', () => {
    expect(new ManualClock(START)).toBeInstanceOf(Clock);
  });

  it('stands still at the time it was created with', () => {
    const clock = new ManualClock(START);

    expect(clock.now().toISOString()).toBe('2025-01-31T23:59:59.000Z');
    expect(clock.now().getTime()).toBe(clock.now().getTime());
  });

  it('starts at the current time when given none', () => {
    const before = Date.now();
    const now = new ManualClock().now().getTime();
    const after = Date.now();

    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(after);
  });

  it('does not move with the real time', async () => {
    const clock = new ManualClock(START);
    await new Promise((resolve) => setTimeout(resolve, 5));

    expect(clock.now()).toEqual(START);
  });

  it('advances by the given milliseconds, across month boundaries', () => {
    const clock = new ManualClock(START);

    clock.advance(1000);
    expect(clock.now().toISOString()).toBe('2025-02-01T00:00:00.000Z');
    clock.advance(28 * 24 * 60 * 60 * 1000);
    expect(clock.now().toISOString()).toBe('2025-03-01T00:00:00.000Z');
  });

  it('accumulates advances and can move backwards', () => {
    const clock = new ManualClock(START);

    clock.advance(500);
    clock.advance(500);
    clock.advance(-2000);
    expect(clock.now().getTime()).toBe(START.getTime() - 1000);
  });

  it('jumps to the time given to set()', () => {
    const clock = new ManualClock(START);
    const later = new Date('2030-06-15T12:00:00.000Z');

    clock.set(later);
    expect(clock.now()).toEqual(later);
  });

  it('is not affected when the caller mutates a date it returned', () => {
    const clock = new ManualClock(START);

    clock.now().setFullYear(1999);
    expect(clock.now()).toEqual(START);
  });

  it('is not affected when the caller mutates the date it was set to', () => {
    const clock = new ManualClock(START);
    const target = new Date('2030-01-01T00:00:00.000Z');

    clock.set(target);
    target.setFullYear(1999);
    expect(clock.now().toISOString()).toBe('2030-01-01T00:00:00.000Z');
  });

  it('returns a new Date object on every call', () => {
    const clock = new ManualClock(START);

    expect(clock.now()).not.toBe(clock.now());
  });
});

describe('SystemClock', () => {
  it('reads the real time', () => {
    const before = Date.now();
    const now = new SystemClock().now().getTime();

    expect(now).toBeGreaterThanOrEqual(before);
    expect(now).toBeLessThanOrEqual(Date.now());
  });
});
