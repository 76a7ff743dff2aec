import { INestApplicationContext } from '@nestjs/common';
import { Clock, ManualClock } from '../common/clock';

/**
 * Puts the application's one `Clock` under a `ManualClock` for a simulation:
 * every service that reads time (billing, dunning, SLA, audit, tokens' rows)
 * injected that same instance, so moving the manual clock moves them all.
 * Returns the manual clock and a function that gives the real time back.
 *
 * The app is built by the ordinary factory (a command cannot override providers
 * the way a test module does), so the instance's `now` is swapped rather than the
 * provider; that is what the `Clock` abstraction exists for.
 */
export function takeOverClock(
  app: INestApplicationContext,
  start: Date,
): { clock: ManualClock; release: () => void } {
  const target = app.get(Clock);
  const clock = new ManualClock(start);
  const own = Object.getOwnPropertyDescriptor(target, 'now');
  Object.defineProperty(target, 'now', {
    configurable: true,
    writable: true,
    value: () => clock.now(),
  });
  return {
    clock,
    release: () => {
      if (own) Object.defineProperty(target, 'now', own);
      else delete (target as { now?: unknown }).now;
    },
  };
}
