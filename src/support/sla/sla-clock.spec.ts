import fc from 'fast-check';
import {
  addBusinessTime,
  ALWAYS_OPEN,
  BusinessCalendar,
  businessMsBetween,
} from './business-calendar';
import {
  breachingSoon,
  compareByTimeToBreach,
  evaluateSla,
  intervalsFromChanges,
  isBreachingSoon,
  SlaClockInput,
  StatusInterval,
  TicketStatus,
  timeToBreach,
} from './sla-clock';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const at = (iso: string) => new Date(iso);
const iso = (date: Date | null | undefined) => date?.toISOString();
const plus = (date: Date, ms: number) => new Date(date.getTime() + ms);

/** Mon–Fri 09:00–17:00 UTC; Monday 2026-01-05. */
const office = new BusinessCalendar({
  timeZone: 'UTC',
  weeklyHours: Object.fromEntries([1, 2, 3, 4, 5].map((day) => [day, [['09:00', '17:00']]])),
});

const ticket = (overrides: Partial<SlaClockInput> = {}): SlaClockInput => ({
  targets: { firstResponseMs: 4 * HOUR, resolutionMs: 16 * HOUR },
  calendar: office,
  createdAt: at('2026-01-05T10:00Z'),
  timeline: [],
  firstRespondedAt: null,
  resolvedAt: null,
  ...overrides,
});
const interval = (status: TicketStatus, from: string, to: string | null): StatusInterval => ({
  status,
  from: at(from),
  to: to === null ? null : at(to),
});

describe('evaluateSla', () => {
  it('counts business time from creation', () => {
    const state = evaluateSla(ticket(), at('2026-01-05T12:00Z'));
    expect(state.firstResponse).toEqual({
      targetMs: 4 * HOUR,
      dueAt: at('2026-01-05T14:00Z'),
      metAt: null,
      breached: false,
      paused: false,
      elapsedMs: 2 * HOUR,
      remainingMs: 2 * HOUR,
    });
    // 7 h on Monday, 8 h on Tuesday, 1 h on Wednesday.
    expect(iso(state.resolution?.dueAt)).toBe('2026-01-07T10:00:00.000Z');
  });

  it('is met on time, or breached when met late', () => {
    const onTime = evaluateSla(
      ticket({ firstRespondedAt: at('2026-01-05T13:00Z') }),
      at('2026-01-06T12:00Z'),
    ).firstResponse;
    expect(onTime).toMatchObject({ breached: false, remainingMs: HOUR, elapsedMs: 3 * HOUR });
    expect(onTime?.metAt).toEqual(at('2026-01-05T13:00Z'));

    const late = evaluateSla(
      ticket({ firstRespondedAt: at('2026-01-05T15:00Z') }),
      at('2026-01-06T12:00Z'),
    ).firstResponse;
    expect(late).toMatchObject({ breached: true, remainingMs: -HOUR, elapsedMs: 5 * HOUR });

    const exactly = evaluateSla(
      ticket({ firstRespondedAt: at('2026-01-05T14:00Z') }),
      at('2026-01-06T12:00Z'),
    ).firstResponse;
    expect(exactly).toMatchObject({ breached: false, remainingMs: 0 });
  });

  it('is breached once now passes the due time', () => {
    const state = evaluateSla(ticket(), at('2026-01-06T10:00Z'));
    expect(state.firstResponse).toMatchObject({ breached: true, remainingMs: -4 * HOUR });
    expect(state.resolution).toMatchObject({ breached: false, remainingMs: 8 * HOUR });
  });

  it('is breached with nothing remaining when the due time passed out of hours', () => {
    const state = evaluateSla(
      ticket({ createdAt: at('2026-01-09T13:00Z') }),
      at('2026-01-09T18:00Z'),
    );
    expect(iso(state.firstResponse?.dueAt)).toBe('2026-01-09T17:00:00.000Z');
    expect(state.firstResponse).toMatchObject({ breached: true, remainingMs: 0 });
  });

  it('starts at the next opening for a ticket raised out of hours', () => {
    const friday = evaluateSla(
      ticket({ createdAt: at('2026-01-09T15:00Z') }),
      at('2026-01-09T15:00Z'),
    );
    expect(iso(friday.firstResponse?.dueAt)).toBe('2026-01-12T11:00:00.000Z');
    const saturday = evaluateSla(
      ticket({ createdAt: at('2026-01-10T08:00Z') }),
      at('2026-01-11T08:00Z'),
    );
    expect(iso(saturday.firstResponse?.dueAt)).toBe('2026-01-12T13:00:00.000Z');
    expect(saturday.firstResponse).toMatchObject({ elapsedMs: 0, remainingMs: 4 * HOUR });
  });

  it('moves due times later by the business time spent pending', () => {
    // Pending Mon 11:00 → Tue 11:00 holds 6 h + 2 h of business time.
    const input = ticket({
      timeline: [
        interval('new', '2026-01-05T10:00Z', '2026-01-05T11:00Z'),
        interval('pending', '2026-01-05T11:00Z', '2026-01-06T11:00Z'),
        interval('open', '2026-01-06T11:00Z', null),
      ],
    });
    const state = evaluateSla(input, at('2026-01-06T12:00Z'));
    expect(iso(state.firstResponse?.dueAt)).toBe('2026-01-06T14:00:00.000Z');
    expect(state.firstResponse).toMatchObject({ elapsedMs: 2 * HOUR, paused: false });
    // 16 h + 8 h paused from Monday 10:00.
    expect(iso(state.resolution?.dueAt)).toBe('2026-01-08T10:00:00.000Z');
  });

  it('freezes the remaining time while pending and projects the due time from now', () => {
    const input = ticket({
      timeline: [
        interval('open', '2026-01-05T10:00Z', '2026-01-05T11:00Z'),
        interval('pending', '2026-01-05T11:00Z', null),
      ],
    });
    const tuesday = evaluateSla(input, at('2026-01-06T10:00Z')).firstResponse;
    expect(tuesday).toMatchObject({ paused: true, breached: false, remainingMs: 3 * HOUR });
    expect(iso(tuesday?.dueAt)).toBe('2026-01-06T13:00:00.000Z');
    const saturday = evaluateSla(input, at('2026-01-10T10:00Z')).firstResponse;
    expect(saturday).toMatchObject({ paused: true, breached: false, remainingMs: 3 * HOUR });
    expect(iso(saturday?.dueAt)).toBe('2026-01-12T12:00:00.000Z');
  });

  it('keeps a breach that happened before the ticket went pending', () => {
    const state = evaluateSla(
      ticket({ timeline: [interval('pending', '2026-01-05T15:00Z', null)] }),
      at('2026-01-07T10:00Z'),
    );
    expect(iso(state.firstResponse?.dueAt)).toBe('2026-01-05T14:00:00.000Z');
    expect(state.firstResponse).toMatchObject({ breached: true, paused: true, remainingMs: -HOUR });
  });

  it('keeps running on hold by default, and pauses on hold when the policy says so', () => {
    const timeline = [
      interval('open', '2026-01-05T10:00Z', '2026-01-05T11:00Z'),
      interval('on_hold', '2026-01-05T11:00Z', '2026-01-05T13:00Z'),
      interval('open', '2026-01-05T13:00Z', null),
    ];
    const running = evaluateSla(ticket({ timeline }), at('2026-01-05T13:00Z'));
    expect(iso(running.firstResponse?.dueAt)).toBe('2026-01-05T14:00:00.000Z');
    const paused = evaluateSla(
      ticket({ timeline, pausedStatuses: ['pending', 'on_hold', 'solved', 'closed'] }),
      at('2026-01-05T13:00Z'),
    );
    expect(iso(paused.firstResponse?.dueAt)).toBe('2026-01-05T16:00:00.000Z');
  });

  it('stops the clock while solved, and resumes it when the ticket reopens', () => {
    const solved = ticket({
      timeline: [
        interval('open', '2026-01-05T10:00Z', '2026-01-05T12:00Z'),
        interval('solved', '2026-01-05T12:00Z', null),
      ],
      resolvedAt: at('2026-01-05T12:00Z'),
    });
    const state = evaluateSla(solved, at('2026-01-08T12:00Z'));
    expect(state.resolution).toMatchObject({ breached: false, elapsedMs: 2 * HOUR, paused: false });
    expect(state.resolution?.metAt).toEqual(at('2026-01-05T12:00Z'));
    // Solved without a public reply: the first-response clock stands still.
    expect(state.firstResponse).toMatchObject({
      paused: true,
      breached: false,
      remainingMs: 2 * HOUR,
    });

    // Reopened Tuesday 12:00 (the service clears resolvedAt): 8 h in `solved` do not count.
    const reopened = ticket({
      timeline: [
        interval('open', '2026-01-05T10:00Z', '2026-01-05T12:00Z'),
        interval('solved', '2026-01-05T12:00Z', '2026-01-06T12:00Z'),
        interval('open', '2026-01-06T12:00Z', null),
      ],
    });
    const after = evaluateSla(reopened, at('2026-01-06T12:00Z'));
    expect(after.resolution).toMatchObject({ elapsedMs: 2 * HOUR, remainingMs: 14 * HOUR });
    expect(iso(after.resolution?.dueAt)).toBe('2026-01-08T10:00:00.000Z');
  });

  it('has no metric without a target', () => {
    const state = evaluateSla(
      ticket({ targets: { firstResponseMs: null, resolutionMs: null } }),
      at('2026-01-06T12:00Z'),
    );
    expect(state).toEqual({ firstResponse: null, resolution: null });
    expect(timeToBreach(state)).toBeNull();
    expect(
      breachingSoon(
        ticket({ targets: { firstResponseMs: null, resolutionMs: null } }),
        at('2026-01-06T12:00Z'),
        DAY,
      ),
    ).toBe(false);
  });

  it('ignores what happens after now when evaluating the past', () => {
    const input = ticket({
      firstRespondedAt: at('2026-01-05T13:00Z'),
      timeline: [interval('pending', '2026-01-05T13:00Z', null)],
    });
    const noon = evaluateSla(input, at('2026-01-05T12:00Z')).firstResponse;
    expect(noon).toMatchObject({ metAt: null, paused: false, remainingMs: 2 * HOUR });
  });

  it('counts wall time on the 24/7 calendar', () => {
    const state = evaluateSla(
      ticket({ calendar: ALWAYS_OPEN, createdAt: at('2026-01-10T22:30Z') }),
      at('2026-01-10T23:00Z'),
    );
    expect(iso(state.firstResponse?.dueAt)).toBe('2026-01-11T02:30:00.000Z');
    expect(iso(state.resolution?.dueAt)).toBe('2026-01-11T14:30:00.000Z');
  });

  it('rejects inconsistent input', () => {
    const now = at('2026-01-06T12:00Z');
    expect(() =>
      evaluateSla(ticket({ targets: { firstResponseMs: 0, resolutionMs: null } }), now),
    ).toThrow('first response target must be a positive whole number of ms: 0');
    expect(() => evaluateSla(ticket({ firstRespondedAt: at('2026-01-05T09:00Z') }), now)).toThrow(
      'first response time is before the ticket was created',
    );
    expect(() =>
      evaluateSla(
        ticket({
          timeline: [
            interval('open', '2026-01-05T10:00Z', '2026-01-05T12:00Z'),
            interval('pending', '2026-01-05T11:00Z', null),
          ],
        }),
        now,
      ),
    ).toThrow('timeline intervals overlap or are out of order');
    expect(() =>
      evaluateSla(
        ticket({
          timeline: [
            interval('open', '2026-01-05T10:00Z', null),
            interval('pending', '2026-01-05T11:00Z', null),
          ],
        }),
        now,
      ),
    ).toThrow('only the last timeline interval may be open-ended');
    expect(() => evaluateSla(ticket(), new Date(NaN))).toThrow('now is not a valid date');
  });
});

describe('breaching soon and the queue order', () => {
  const now = at('2026-01-05T13:00Z');

  it('flags running metrics due within the window of wall time', () => {
    // First response due 14:00.
    expect(breachingSoon(ticket(), now, HOUR)).toBe(true);
    expect(breachingSoon(ticket(), now, 59 * MINUTE)).toBe(false);
    // Responded: the resolution is due on Wednesday.
    expect(breachingSoon(ticket({ firstRespondedAt: now }), now, HOUR)).toBe(false);
    // Already breached: not "soon".
    expect(breachingSoon(ticket(), at('2026-01-05T15:00Z'), HOUR)).toBe(false);
    // Pending: the clock does not run.
    expect(
      breachingSoon(
        ticket({ timeline: [interval('pending', '2026-01-05T12:00Z', null)] }),
        now,
        DAY,
      ),
    ).toBe(false);
    expect(() => isBreachingSoon(evaluateSla(ticket(), now), now, -1)).toThrow(RangeError);
  });

  it('sorts by business time to breach, breached first, untargeted last', () => {
    const tickets = {
      breached: ticket({ createdAt: at('2026-01-05T09:00Z') }),
      untargeted: ticket({ targets: { firstResponseMs: null, resolutionMs: null } }),
      later: ticket({ createdAt: at('2026-01-05T12:30Z') }),
      sooner: ticket({ createdAt: at('2026-01-05T10:00Z') }),
      answered: ticket({
        createdAt: at('2026-01-05T09:00Z'),
        firstRespondedAt: at('2026-01-05T09:30Z'),
      }),
    };
    const states = Object.entries(tickets).map(
      ([name, input]) => [name, evaluateSla(input, at('2026-01-05T13:30Z'))] as const,
    );
    states.sort(([, a], [, b]) => compareByTimeToBreach(a, b));
    expect(states.map(([name]) => name)).toEqual([
      'breached',
      'sooner',
      'later',
      'answered',
      'untargeted',
    ]);
    expect(timeToBreach(states[0][1])).toBe(-30 * MINUTE);
  });
});

describe('intervalsFromChanges', () => {
  it('turns a history of changes into intervals', () => {
    expect(
      intervalsFromChanges(at('2026-01-05T10:00Z'), [
        { status: 'open', at: at('2026-01-05T10:00Z') },
        { status: 'pending', at: at('2026-01-05T11:00Z') },
        { status: 'open', at: at('2026-01-06T11:00Z') },
      ]),
    ).toEqual([
      interval('open', '2026-01-05T10:00Z', '2026-01-05T11:00Z'),
      interval('pending', '2026-01-05T11:00Z', '2026-01-06T11:00Z'),
      interval('open', '2026-01-06T11:00Z', null),
    ]);
    expect(intervalsFromChanges(at('2026-01-05T10:00Z'), [])).toEqual([
      interval('new', '2026-01-05T10:00Z', null),
    ]);
    expect(() =>
      intervalsFromChanges(at('2026-01-05T10:00Z'), [
        { status: 'open', at: at('2026-01-05T09:00Z') },
      ]),
    ).toThrow(RangeError);
  });
});

// ---------------------------------------------------------------- properties

const CALENDARS = [
  office,
  ALWAYS_OPEN,
  new BusinessCalendar({
    timeZone: 'Europe/Paris',
    weeklyHours: Object.fromEntries(
      [1, 2, 3, 4, 5].map((day) => [
        day,
        [
          ['09:00', '12:00'],
          ['13:00', '17:30'],
        ],
      ]),
    ),
    holidays: ['2026-03-30', '2026-04-06', '2026-05-01'],
  }),
  new BusinessCalendar({
    timeZone: 'America/New_York',
    weeklyHours: Object.fromEntries(
      [0, 1, 2, 3, 4, 5, 6].map((day) => [day, [['08:00', '20:00']]]),
    ),
  }),
];
const STATUSES: TicketStatus[] = ['new', 'open', 'pending', 'on_hold', 'solved', 'closed'];

/** A ticket created around the 2026 spring changes, with a random status history. */
const ticketArb = fc
  .record({
    calendar: fc.constantFrom(...CALENDARS),
    createdMs: fc.integer({ min: Date.UTC(2026, 2, 1), max: Date.UTC(2026, 3, 15) }),
    firstResponseMs: fc.integer({ min: 1, max: 24 * HOUR }),
    resolutionMs: fc.integer({ min: 1, max: 120 * HOUR }),
    steps: fc.array(
      fc.record({ status: fc.constantFrom(...STATUSES), ms: fc.integer({ min: 1, max: 3 * DAY }) }),
      { maxLength: 8 },
    ),
    lastOpen: fc.boolean(),
  })
  .map(({ calendar, createdMs, firstResponseMs, resolutionMs, steps, lastOpen }) => {
    const timeline: StatusInterval[] = [];
    let cursor = createdMs;
    steps.forEach(({ status, ms }, i) => {
      const open = lastOpen && i === steps.length - 1;
      timeline.push({
        status,
        from: new Date(cursor),
        to: open ? null : new Date(cursor + ms),
      });
      cursor += ms;
    });
    const input: SlaClockInput = {
      targets: { firstResponseMs, resolutionMs },
      calendar,
      createdAt: new Date(createdMs),
      timeline,
      firstRespondedAt: null,
      resolvedAt: null,
    };
    return input;
  });

const PAUSED = new Set<TicketStatus>(['pending', 'solved', 'closed']);
/** Business time in paused statuses within `[from, to)`. */
function pausedBusiness(input: SlaClockInput, from: Date, to: Date, now: Date): number {
  let total = 0;
  for (const { status, from: start, to: end } of input.timeline) {
    if (!PAUSED.has(status)) continue;
    const a = Math.max(start.getTime(), from.getTime());
    const b = Math.min(end?.getTime() ?? now.getTime(), to.getTime(), now.getTime());
    if (b > a) total += businessMsBetween(input.calendar, new Date(a), new Date(b));
  }
  return total;
}
const FAR = new Date(Date.UTC(2027, 0, 1));

describe('properties', () => {
  it('with nothing paused, the due time is creation + target in business time, never earlier', () => {
    fc.assert(
      fc.property(ticketArb, fc.nat(30 * DAY), (generated, sinceMs) => {
        const input = { ...generated, timeline: [] };
        const now = plus(input.createdAt, sinceMs);
        const state = evaluateSla(input, now);
        for (const [metric, target] of [
          [state.firstResponse, input.targets.firstResponseMs],
          [state.resolution, input.targets.resolutionMs],
        ] as const) {
          expect(metric?.dueAt).toEqual(addBusinessTime(input.calendar, input.createdAt, target!));
          expect(metric!.dueAt.getTime()).toBeGreaterThanOrEqual(
            input.createdAt.getTime() + target!,
          );
        }
      }),
      { numRuns: 200 },
    );
  });

  it('paused stretches push the due time by exactly the business time they contain', () => {
    fc.assert(
      fc.property(ticketArb, (input) => {
        const state = evaluateSla(input, FAR);
        for (const metric of [state.firstResponse!, state.resolution!]) {
          const dueAt = metric.dueAt;
          const paused = pausedBusiness(input, input.createdAt, dueAt, FAR);
          if (metric.paused) continue; // projected from `now`: checked below
          expect(businessMsBetween(input.calendar, input.createdAt, dueAt)).toBe(
            metric.targetMs + paused,
          );
          expect(dueAt.getTime()).toBeGreaterThanOrEqual(
            addBusinessTime(input.calendar, input.createdAt, metric.targetMs).getTime(),
          );
        }
      }),
      { numRuns: 300 },
    );
  });

  it('remaining = target - elapsed, elapsed = business time not paused, sign matches the breach', () => {
    fc.assert(
      fc.property(ticketArb, fc.nat(20 * DAY), (input, sinceMs) => {
        const now = plus(input.createdAt, sinceMs);
        const state = evaluateSla(input, now);
        for (const metric of [state.firstResponse!, state.resolution!]) {
          expect(metric.remainingMs).toBe(metric.targetMs - metric.elapsedMs);
          expect(metric.elapsedMs).toBe(
            businessMsBetween(input.calendar, input.createdAt, now) -
              pausedBusiness(input, input.createdAt, now, now),
          );
          expect(metric.breached).toBe(now.getTime() > metric.dueAt.getTime());
          if (metric.breached) expect(metric.remainingMs).toBeLessThanOrEqual(0);
          else expect(metric.remainingMs).toBeGreaterThanOrEqual(0);
          if (metric.paused && !metric.breached) {
            expect(metric.dueAt).toEqual(addBusinessTime(input.calendar, now, metric.remainingMs));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('elapsed time never decreases as now advances', () => {
    fc.assert(
      fc.property(ticketArb, fc.nat(20 * DAY), fc.nat(5 * DAY), (input, sinceMs, laterMs) => {
        const now = plus(input.createdAt, sinceMs);
        const before = evaluateSla(input, now);
        const after = evaluateSla(input, plus(now, laterMs));
        expect(after.resolution!.elapsedMs).toBeGreaterThanOrEqual(before.resolution!.elapsedMs);
        expect(after.firstResponse!.elapsedMs).toBeGreaterThanOrEqual(
          before.firstResponse!.elapsedMs,
        );
        if (before.resolution!.breached) expect(after.resolution!.breached).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('a met metric does not change after it is met, and is breached exactly when met late', () => {
    fc.assert(
      fc.property(ticketArb, fc.nat(20 * DAY), fc.nat(20 * DAY), (generated, metMs, laterMs) => {
        const metAt = plus(generated.createdAt, metMs);
        const input = { ...generated, firstRespondedAt: metAt };
        const atMet = evaluateSla(input, metAt).firstResponse!;
        const later = evaluateSla(input, plus(metAt, laterMs)).firstResponse!;
        expect(later).toEqual(atMet);
        expect(later.metAt).toEqual(metAt);
        expect(later.breached).toBe(metAt.getTime() > later.dueAt.getTime());
      }),
      { numRuns: 200 },
    );
  });
});
