import fc from 'fast-check';
import {
  addBusinessTime,
  ALWAYS_OPEN,
  BusinessCalendar,
  BusinessCalendarSpec,
  businessMsBetween,
  InvalidBusinessCalendarError,
  isOpen,
  LocalTimeRange,
  nextOpening,
  Weekday,
} from './business-calendar';

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const at = (iso: string) => new Date(iso);
const iso = (date: Date) => date.toISOString();
const plus = (date: Date, ms: number) => new Date(date.getTime() + ms);

const weekdays = (ranges: readonly LocalTimeRange[], days: readonly Weekday[] = [1, 2, 3, 4, 5]) =>
  Object.fromEntries(days.map((day) => [day, ranges])) as BusinessCalendarSpec['weeklyHours'];
const EVERY_DAY: readonly Weekday[] = [0, 1, 2, 3, 4, 5, 6];

/** Mon–Fri 09:00–17:00 UTC. */
const office = new BusinessCalendar({
  timeZone: 'UTC',
  weeklyHours: weekdays([['09:00', '17:00']]),
});
/** Mon–Fri with a lunch break, two French holidays (Fri 1 May, Thu 14 May 2026). */
const paris = new BusinessCalendar({
  timeZone: 'Europe/Paris',
  weeklyHours: weekdays([
    ['13:00', '17:30'],
    ['09:00', '12:00'],
  ]),
  holidays: ['2026-05-14', '2026-05-01'],
});
const everyDay = (timeZone: string, ranges: readonly LocalTimeRange[]) =>
  new BusinessCalendar({ timeZone, weeklyHours: weekdays(ranges, EVERY_DAY) });

describe('BusinessCalendar construction', () => {
  const problemsOf = (spec: BusinessCalendarSpec): readonly string[] => {
    try {
      new BusinessCalendar(spec);
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidBusinessCalendarError);
      return (error as InvalidBusinessCalendarError).problems;
    }
    throw new Error('expected the calendar to be rejected');
  };

  it('normalises ranges and holidays', () => {
    expect(paris.weeklyHours[1]).toEqual([
      ['09:00', '12:00'],
      ['13:00', '17:30'],
    ]);
    expect(paris.weeklyHours[0]).toEqual([]);
    expect(paris.holidays).toEqual(['2026-05-01', '2026-05-14']);
    expect(new BusinessCalendar(paris.toSpec()).toSpec()).toEqual(paris.toSpec());
    expect(paris.alwaysOpen).toBe(false);
    expect(ALWAYS_OPEN.alwaysOpen).toBe(true);
  });

  it('allows touching ranges, 24:00 as an end, and duplicate holidays', () => {
    const calendar = new BusinessCalendar({
      timeZone: 'Asia/Tokyo',
      weeklyHours: {
        3: [
          ['00:00', '12:00'],
          ['12:00', '24:00'],
        ],
      },
      holidays: ['2026-01-01', '2026-01-01'],
    });
    expect(calendar.holidays).toEqual(['2026-01-01']);
    expect(businessMsBetween(calendar, at('2026-01-06T15:00Z'), at('2026-01-07T15:00Z'))).toBe(DAY);
  });

  it.each<[string, BusinessCalendarSpec, string]>([
    [
      'overlapping ranges',
      {
        timeZone: 'UTC',
        weeklyHours: {
          1: [
            ['09:00', '13:00'],
            ['12:00', '17:00'],
          ],
        },
      },
      'Monday: ranges 09:00–13:00 and 12:00–17:00 overlap',
    ],
    [
      'an end before its start',
      { timeZone: 'UTC', weeklyHours: { 2: [['17:00', '09:00']] } },
      'Tuesday: range 17:00–09:00 ends before it starts',
    ],
    [
      'an empty range',
      { timeZone: 'UTC', weeklyHours: { 2: [['09:00', '09:00']] } },
      'Tuesday: range 09:00–09:00 ends before it starts',
    ],
    [
      'an unpadded time',
      { timeZone: 'UTC', weeklyHours: { 3: [['9:00', '17:00']] } },
      'Wednesday: start "9:00" is not a HH:MM time',
    ],
    [
      'minute 60',
      { timeZone: 'UTC', weeklyHours: { 3: [['09:00', '23:60']] } },
      'Wednesday: end "23:60" is not a HH:MM time (or 24:00)',
    ],
    [
      '24:00 as a start',
      { timeZone: 'UTC', weeklyHours: { 4: [['24:00', '24:00']] } },
      'Thursday: start "24:00" is not a HH:MM time',
    ],
    [
      'a range that is not a pair',
      { timeZone: 'UTC', weeklyHours: { 5: [['09:00'] as unknown as LocalTimeRange] } },
      'Friday: ["09:00"] is not a [start, end] pair',
    ],
    [
      'an unknown weekday',
      {
        timeZone: 'UTC',
        weeklyHours: { 1: [['09:00', '17:00']], 7: [['09:00', '17:00']] } as never,
      },
      'weekday "7" is not 0 (Sunday) to 6 (Saturday)',
    ],
    [
      'an unknown time zone',
      { timeZone: 'Mars/Olympus_Mons', weeklyHours: { 1: [['09:00', '17:00']] } },
      'time zone "Mars/Olympus_Mons" is not a known IANA time zone',
    ],
    [
      'a date that does not exist',
      { timeZone: 'UTC', weeklyHours: { 1: [['09:00', '17:00']] }, holidays: ['2026-02-29'] },
      'holiday "2026-02-29" is not a valid YYYY-MM-DD date',
    ],
    [
      'a badly written date',
      { timeZone: 'UTC', weeklyHours: { 1: [['09:00', '17:00']] }, holidays: ['2026-5-1'] },
      'holiday "2026-5-1" is not a valid YYYY-MM-DD date',
    ],
    [
      'no open hours at all',
      { timeZone: 'UTC', weeklyHours: { 0: [], 6: [] } },
      'the calendar has no open hours in the week',
    ],
  ])('rejects %s', (_, spec, problem) => {
    expect(problemsOf(spec)).toContain(problem);
  });

  it('reports every problem at once', () => {
    const problems = problemsOf({
      timeZone: 'Nowhere/Else',
      weeklyHours: { 1: [['18:00', '08:00']] },
      holidays: ['yesterday'],
    });
    expect(problems).toHaveLength(4);
    expect(() => new BusinessCalendar({ timeZone: 'Nowhere', weeklyHours: {} })).toThrow(
      /^Invalid business calendar: time zone "Nowhere" is not a known IANA time zone; /,
    );
  });
});

describe('business time, Mon–Fri 09:00–17:00 UTC (week of Monday 2026-01-05)', () => {
  it.each([
    ['the same day', '2026-01-05T10:00Z', '2026-01-05T12:30Z', 2.5 * HOUR],
    ['from before opening', '2026-01-05T07:00Z', '2026-01-05T10:00Z', HOUR],
    ['to after closing', '2026-01-05T16:00Z', '2026-01-05T20:00Z', HOUR],
    ['across a night', '2026-01-05T16:00Z', '2026-01-06T10:00Z', 2 * HOUR],
    ['across a weekend', '2026-01-09T15:00Z', '2026-01-12T11:00Z', 4 * HOUR],
    ['within a weekend', '2026-01-10T00:00Z', '2026-01-12T00:00Z', 0],
    ['a whole week', '2026-01-05T00:00Z', '2026-01-12T00:00Z', 40 * HOUR],
    ['zero duration', '2026-01-05T10:00Z', '2026-01-05T10:00Z', 0],
    ['one millisecond', '2026-01-05T16:59:59.999Z', '2026-01-05T17:00Z', 1],
  ])('between %s', (_, from, to, expected) => {
    expect(businessMsBetween(office, at(from), at(to))).toBe(expected);
  });

  it('is negative when the end comes first', () => {
    expect(businessMsBetween(office, at('2026-01-06T10:00Z'), at('2026-01-05T16:00Z'))).toBe(
      -2 * HOUR,
    );
  });

  it.each([
    ['within the day', '2026-01-05T10:00Z', 3 * HOUR, '2026-01-05T13:00:00.000Z'],
    ['over the night', '2026-01-05T16:00Z', 2 * HOUR, '2026-01-06T10:00:00.000Z'],
    ['to the closing time exactly', '2026-01-09T16:00Z', HOUR, '2026-01-09T17:00:00.000Z'],
    ['over the weekend', '2026-01-09T16:30Z', HOUR, '2026-01-12T09:30:00.000Z'],
    ['from a Saturday', '2026-01-10T10:00Z', HOUR, '2026-01-12T10:00:00.000Z'],
    [
      'a whole week from Monday opening',
      '2026-01-05T09:00Z',
      40 * HOUR,
      '2026-01-09T17:00:00.000Z',
    ],
    ['nothing, while open', '2026-01-05T10:00Z', 0, '2026-01-05T10:00:00.000Z'],
    ['nothing, at closing', '2026-01-05T17:00Z', 0, '2026-01-06T09:00:00.000Z'],
    ['nothing, on a Saturday', '2026-01-10T10:00Z', 0, '2026-01-12T09:00:00.000Z'],
    ['a year of hours', '2026-01-05T09:00Z', 2_000 * HOUR, '2026-12-18T17:00:00.000Z'],
  ])('add %s', (_, from, ms, expected) => {
    expect(iso(addBusinessTime(office, at(from), ms))).toBe(expected);
  });

  it('rejects a negative or fractional duration', () => {
    expect(() => addBusinessTime(office, at('2026-01-05T10:00Z'), -1)).toThrow(RangeError);
    expect(() => addBusinessTime(office, at('2026-01-05T10:00Z'), 0.5)).toThrow(RangeError);
    expect(() => businessMsBetween(office, new Date(NaN), at('2026-01-05T10:00Z'))).toThrow(
      'from is not a valid date',
    );
  });

  it('knows when it is open', () => {
    expect(isOpen(office, at('2026-01-05T09:00Z'))).toBe(true);
    expect(isOpen(office, at('2026-01-05T16:59:59.999Z'))).toBe(true);
    expect(isOpen(office, at('2026-01-05T17:00Z'))).toBe(false);
    expect(isOpen(office, at('2026-01-05T08:59:59.999Z'))).toBe(false);
    expect(isOpen(office, at('2026-01-10T12:00Z'))).toBe(false);
  });

  it.each([
    ['while open: now', '2026-01-05T12:00Z', '2026-01-05T12:00:00.000Z'],
    ['at closing: the next morning', '2026-01-05T17:00Z', '2026-01-06T09:00:00.000Z'],
    ['on Friday evening: Monday', '2026-01-09T17:00Z', '2026-01-12T09:00:00.000Z'],
    ['late on Sunday: Monday', '2026-01-11T23:59Z', '2026-01-12T09:00:00.000Z'],
  ])('next opening %s', (_, from, expected) => {
    expect(iso(nextOpening(office, at(from)))).toBe(expected);
  });
});

describe('lunch breaks and holidays, Europe/Paris', () => {
  // June 2026: CEST, UTC+2. Monday 1 June.
  it('does not count the lunch break', () => {
    expect(businessMsBetween(paris, at('2026-06-01T09:00Z'), at('2026-06-01T12:00Z'))).toBe(
      2 * HOUR,
    );
    expect(businessMsBetween(paris, at('2026-06-01T00:00Z'), at('2026-06-02T00:00Z'))).toBe(
      7.5 * HOUR,
    );
    expect(iso(addBusinessTime(paris, at('2026-06-01T09:30Z'), HOUR))).toBe(
      '2026-06-01T11:30:00.000Z',
    );
    // 11:00 local + 1 h ends exactly at the lunch break.
    expect(iso(addBusinessTime(paris, at('2026-06-01T09:00Z'), HOUR))).toBe(
      '2026-06-01T10:00:00.000Z',
    );
    expect(isOpen(paris, at('2026-06-01T10:30Z'))).toBe(false);
    expect(iso(nextOpening(paris, at('2026-06-01T10:15Z')))).toBe('2026-06-01T11:00:00.000Z');
  });

  it('skips holidays over a long weekend', () => {
    // Thursday 30 April 17:00 local + 1 h: 30 min on Thursday; Friday 1 May is a
    // holiday; 30 min on Monday.
    expect(iso(addBusinessTime(paris, at('2026-04-30T15:00Z'), HOUR))).toBe(
      '2026-05-04T07:30:00.000Z',
    );
    expect(businessMsBetween(paris, at('2026-04-29T22:00Z'), at('2026-05-03T22:00Z'))).toBe(
      7.5 * HOUR,
    );
    // Ascension Thursday 14 May.
    expect(isOpen(paris, at('2026-05-14T08:00Z'))).toBe(false);
    expect(isOpen(paris, at('2026-05-15T08:00Z'))).toBe(true);
  });

  it('reads holidays as local dates', () => {
    // 23:30 UTC on 30 April is already 1 May in Paris.
    const lateShift = new BusinessCalendar({
      timeZone: 'Europe/Paris',
      weeklyHours: weekdays([['00:00', '24:00']], EVERY_DAY),
      holidays: ['2026-05-01'],
    });
    expect(isOpen(lateShift, at('2026-04-30T21:59Z'))).toBe(true);
    expect(isOpen(lateShift, at('2026-04-30T22:00Z'))).toBe(false);
    expect(isOpen(lateShift, at('2026-05-01T21:59Z'))).toBe(false);
    expect(isOpen(lateShift, at('2026-05-01T22:00Z'))).toBe(true);
  });
});

describe('a Sunday-start week, Asia/Jerusalem Sun–Thu 08:00–17:00 (UTC+2 in January)', () => {
  const israel = new BusinessCalendar({
    timeZone: 'Asia/Jerusalem',
    weeklyHours: weekdays([['08:00', '17:00']], [0, 1, 2, 3, 4]),
  });

  it('opens on Sunday and closes on Friday and Saturday', () => {
    expect(isOpen(israel, at('2026-01-04T06:00Z'))).toBe(true); // Sunday 08:00
    expect(isOpen(israel, at('2026-01-09T08:00Z'))).toBe(false); // Friday 10:00
    expect(businessMsBetween(israel, at('2026-01-03T22:00Z'), at('2026-01-10T22:00Z'))).toBe(
      45 * HOUR,
    );
    // Thursday 16:00 + 2 h: Sunday 09:00.
    expect(iso(addBusinessTime(israel, at('2026-01-08T14:00Z'), 2 * HOUR))).toBe(
      '2026-01-11T07:00:00.000Z',
    );
  });
});

describe('daylight saving', () => {
  describe('Europe/Paris (2026: forward Sun 29 March, back Sun 25 October, at 01:00 UTC)', () => {
    const nineToFive = everyDay('Europe/Paris', [['09:00', '17:00']]);

    it('keeps 09:00–17:00 local, 8 hours, on both change days', () => {
      expect(isOpen(nineToFive, at('2026-03-28T08:00Z'))).toBe(true); // Sat 09:00 CET
      expect(isOpen(nineToFive, at('2026-03-29T07:00Z'))).toBe(true); // Sun 09:00 CEST
      expect(isOpen(nineToFive, at('2026-03-29T06:59Z'))).toBe(false);
      expect(isOpen(nineToFive, at('2026-03-29T15:00Z'))).toBe(false); // Sun 17:00 CEST
      expect(businessMsBetween(nineToFive, at('2026-03-29T00:00Z'), at('2026-03-30T00:00Z'))).toBe(
        8 * HOUR,
      );
      expect(businessMsBetween(nineToFive, at('2026-10-25T00:00Z'), at('2026-10-26T00:00Z'))).toBe(
        8 * HOUR,
      );
      expect(isOpen(nineToFive, at('2026-10-24T07:00Z'))).toBe(true); // Sat 09:00 CEST
      expect(isOpen(nineToFive, at('2026-10-25T07:00Z'))).toBe(false); // Sun 08:00 CET
      expect(isOpen(nineToFive, at('2026-10-25T08:00Z'))).toBe(true); // Sun 09:00 CET
    });

    it('adds across the change', () => {
      // Sat 16:00 CET + 2 h: 1 h on Saturday, 1 h on Sunday → Sun 10:00 CEST.
      expect(iso(addBusinessTime(nineToFive, at('2026-03-28T15:00Z'), 2 * HOUR))).toBe(
        '2026-03-29T08:00:00.000Z',
      );
      // Sat 16:00 CEST + 2 h → Sun 10:00 CET.
      expect(iso(addBusinessTime(nineToFive, at('2026-10-24T14:00Z'), 2 * HOUR))).toBe(
        '2026-10-25T09:00:00.000Z',
      );
    });

    it('counts wall-clock hours when the change falls inside the hours', () => {
      const nightShift = new BusinessCalendar({
        timeZone: 'Europe/Paris',
        weeklyHours: { 0: [['01:00', '04:00']] },
      });
      const sunday = (date: string) =>
        businessMsBetween(nightShift, at(`${date}T00:00+02:00`), at(`${date}T12:00Z`));
      expect(sunday('2026-03-22')).toBe(3 * HOUR);
      expect(sunday('2026-03-29')).toBe(2 * HOUR);
      expect(sunday('2026-10-25')).toBe(4 * HOUR);
      expect(iso(addBusinessTime(nightShift, at('2026-03-29T00:00Z'), 90 * MINUTE))).toBe(
        '2026-03-29T01:30:00.000Z', // 03:30 CEST: 02:00–03:00 never happened
      );
    });

    it('never opens in the skipped hour and opens twice in the repeated one', () => {
      const twoToThree = new BusinessCalendar({
        timeZone: 'Europe/Paris',
        weeklyHours: { 0: [['02:00', '03:00']] },
      });
      const sunday = (date: string) =>
        businessMsBetween(twoToThree, at(`${date}T00:00+02:00`), at(`${date}T12:00Z`));
      expect(sunday('2026-03-22')).toBe(HOUR);
      expect(sunday('2026-03-29')).toBe(0);
      expect(sunday('2026-10-25')).toBe(2 * HOUR);
      expect(isOpen(twoToThree, at('2026-10-25T00:30Z'))).toBe(true); // 02:30 CEST
      expect(isOpen(twoToThree, at('2026-10-25T01:30Z'))).toBe(true); // 02:30 CET
      expect(isOpen(twoToThree, at('2026-10-25T02:00Z'))).toBe(false); // 03:00 CET
      // From before the spring change, the next opening is a week later.
      expect(iso(nextOpening(twoToThree, at('2026-03-28T12:00Z')))).toBe(
        '2026-04-05T00:00:00.000Z',
      );
    });

    it('keeps a 40-hour week across the change (it happens on a Sunday)', () => {
      const week = new BusinessCalendar({
        timeZone: 'Europe/Paris',
        weeklyHours: weekdays([['09:00', '17:00']]),
      });
      expect(
        businessMsBetween(week, at('2026-03-23T00:00+01:00'), at('2026-04-06T00:00+02:00')),
      ).toBe(80 * HOUR);
    });
  });

  describe('America/New_York (2026: forward Sun 8 March, back Sun 1 November)', () => {
    const nineToFive = everyDay('America/New_York', [['09:00', '17:00']]);

    it('keeps 09:00–17:00 local on both change days', () => {
      expect(isOpen(nineToFive, at('2026-03-07T14:00Z'))).toBe(true); // Sat 09:00 EST
      expect(isOpen(nineToFive, at('2026-03-08T13:00Z'))).toBe(true); // Sun 09:00 EDT
      expect(isOpen(nineToFive, at('2026-03-08T21:00Z'))).toBe(false); // Sun 17:00 EDT
      expect(isOpen(nineToFive, at('2026-11-01T13:00Z'))).toBe(false); // Sun 08:00 EST
      expect(isOpen(nineToFive, at('2026-11-01T14:00Z'))).toBe(true);
      expect(businessMsBetween(nineToFive, at('2026-03-08T05:00Z'), at('2026-03-09T04:00Z'))).toBe(
        8 * HOUR,
      );
      expect(businessMsBetween(nineToFive, at('2026-11-01T04:00Z'), at('2026-11-02T05:00Z'))).toBe(
        8 * HOUR,
      );
      // Sat 16:00 EST + 2 h → Sun 10:00 EDT.
      expect(iso(addBusinessTime(nineToFive, at('2026-03-07T21:00Z'), 2 * HOUR))).toBe(
        '2026-03-08T14:00:00.000Z',
      );
      // Sat 16:00 EDT + 2 h → Sun 10:00 EST.
      expect(iso(addBusinessTime(nineToFive, at('2026-10-31T20:00Z'), 2 * HOUR))).toBe(
        '2026-11-01T15:00:00.000Z',
      );
    });

    it('counts the short and the long night', () => {
      const night = new BusinessCalendar({
        timeZone: 'America/New_York',
        weeklyHours: { 0: [['00:00', '06:00']] },
      });
      expect(businessMsBetween(night, at('2026-03-08T00:00Z'), at('2026-03-09T00:00Z'))).toBe(
        5 * HOUR,
      );
      expect(businessMsBetween(night, at('2026-11-01T00:00Z'), at('2026-11-02T00:00Z'))).toBe(
        7 * HOUR,
      );
      expect(businessMsBetween(night, at('2026-11-08T00:00Z'), at('2026-11-09T00:00Z'))).toBe(
        6 * HOUR,
      );
    });
  });

  it('handles a change at midnight (America/Santiago)', () => {
    // 2026-09-06: 00:00 local jumps to 01:00; 2026-04-05: 00:00 falls back to 23:00 on the 4th.
    const calendar = everyDay('America/Santiago', [
      ['00:00', '12:00'],
      ['12:00', '24:00'],
    ]);
    expect(businessMsBetween(calendar, at('2026-09-01T00:00Z'), at('2026-09-10T00:00Z'))).toBe(
      9 * DAY,
    );
    expect(businessMsBetween(calendar, at('2026-04-01T00:00Z'), at('2026-04-10T00:00Z'))).toBe(
      9 * DAY,
    );
  });
});

describe('ALWAYS_OPEN', () => {
  it('makes business time wall time', () => {
    const from = at('2026-03-29T00:30Z');
    expect(businessMsBetween(ALWAYS_OPEN, from, at('2027-03-29T00:30Z'))).toBe(365 * DAY);
    expect(iso(addBusinessTime(ALWAYS_OPEN, from, 36 * HOUR))).toBe('2026-03-30T12:30:00.000Z');
    expect(isOpen(ALWAYS_OPEN, from)).toBe(true);
    expect(nextOpening(ALWAYS_OPEN, from)).toEqual(from);
  });
});

// ---------------------------------------------------------------- properties

const ZONES = [
  'UTC',
  'Europe/Paris',
  'America/New_York',
  'Asia/Jerusalem',
  'America/Santiago',
  'America/St_Johns',
  'Australia/Lord_Howe',
  'Pacific/Chatham',
  'Asia/Kolkata',
];
/** Offset changes in 2026 of the zones above, to draw instants near them. */
const CHANGES = [
  '2026-03-29T01:00Z',
  '2026-10-25T01:00Z',
  '2026-03-08T07:00Z',
  '2026-11-01T06:00Z',
  '2026-03-27T00:00Z',
  '2026-10-24T23:00Z',
  '2026-04-05T03:00Z',
  '2026-09-06T04:00Z',
  '2026-03-08T05:30Z',
  '2026-11-01T04:30Z',
  '2026-04-04T15:00Z',
  '2026-10-03T15:30Z',
  '2026-04-04T14:00Z',
  '2026-09-26T14:00Z',
].map((text) => at(text).getTime());

const FROM_MS = Date.UTC(2025, 6, 1);
const TO_MS = Date.UTC(2027, 6, 1);
const instantArb = fc
  .oneof(
    fc.integer({ min: FROM_MS, max: TO_MS }),
    fc
      .constantFrom(...CHANGES)
      .chain((change) => fc.integer({ min: change - 3 * DAY, max: change + 3 * DAY })),
  )
  .map((ms) => new Date(ms));

/** 0–3 ranges on a 15-minute grid, sometimes touching. */
const dayRangesArb = fc
  .uniqueArray(fc.integer({ min: 0, max: 96 }), { maxLength: 6 })
  .map((marks) => {
    const sorted = [...marks].sort((a, b) => a - b);
    const ranges: LocalTimeRange[] = [];
    for (let i = 0; i + 1 < sorted.length; i += 2)
      ranges.push([hhmm(sorted[i]), hhmm(sorted[i + 1])]);
    return ranges;
  });
function hhmm(quarter: number): string {
  const minutes = quarter * 15;
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}
const holidayArb = fc
  .integer({ min: FROM_MS / DAY, max: TO_MS / DAY })
  .map((day) => new Date(day * DAY).toISOString().slice(0, 10));

const specArb: fc.Arbitrary<BusinessCalendarSpec> = fc
  .record({
    timeZone: fc.constantFrom(...ZONES),
    days: fc.array(dayRangesArb, { minLength: 7, maxLength: 7 }),
    holidays: fc.array(holidayArb, { maxLength: 12 }),
  })
  .filter(({ days }) => days.some((ranges) => ranges.length > 0))
  .map(({ timeZone, days, holidays }) => ({
    timeZone,
    weeklyHours: Object.fromEntries(days.map((ranges, day) => [day, ranges])),
    holidays,
  }));
const calendarArb = specArb.map((spec) => new BusinessCalendar(spec));
const durationArb = fc.oneof(
  fc.integer({ min: 0, max: 2 * HOUR }),
  fc.integer({ min: 0, max: 120 * HOUR }),
);

/** Open, by reading the local clock directly: independent of the implementation. */
function openByLocalClock(spec: BusinessCalendarSpec, instant: Date): boolean {
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-US', {
      timeZone: spec.timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    })
      .formatToParts(instant)
      .map((part) => [part.type, part.value]),
  );
  if ((spec.holidays ?? []).includes(`${parts.year}-${parts.month}-${parts.day}`)) return false;
  const weekday = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(
    parts.weekday,
  ) as Weekday;
  const clock =
    ((Number(parts.hour) * 60 + Number(parts.minute)) * 60 + Number(parts.second)) * 1000 +
    (instant.getTime() % 1000);
  const toMs = (time: string) => (Number(time.slice(0, 2)) * 60 + Number(time.slice(3))) * MINUTE;
  return (spec.weeklyHours[weekday] ?? []).some(
    ([start, end]) => toMs(start) <= clock && clock < toMs(end),
  );
}

describe('properties', () => {
  it('is open exactly when the local clock reads an open time', () => {
    fc.assert(
      fc.property(
        specArb,
        fc.array(instantArb, { minLength: 1, maxLength: 20 }),
        (spec, instants) => {
          const calendar = new BusinessCalendar(spec);
          for (const instant of instants) {
            expect(isOpen(calendar, instant)).toBe(openByLocalClock(spec, instant));
            expect(businessMsBetween(calendar, instant, plus(instant, 1))).toBe(
              isOpen(calendar, instant) ? 1 : 0,
            );
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('between(from, add(from, d)) = d, and add gives the earliest such instant', () => {
    fc.assert(
      fc.property(calendarArb, instantArb, durationArb, (calendar, from, ms) => {
        const end = addBusinessTime(calendar, from, ms);
        expect(end.getTime()).toBeGreaterThanOrEqual(from.getTime());
        expect(businessMsBetween(calendar, from, end)).toBe(ms);
        if (ms > 0) expect(businessMsBetween(calendar, from, plus(end, -1))).toBe(ms - 1);
      }),
      { numRuns: 300 },
    );
  });

  it('between(from, add(from, d)) = d from inside open hours', () => {
    fc.assert(
      fc.property(calendarArb, instantArb, durationArb, (calendar, instant, ms) => {
        const from = nextOpening(calendar, instant);
        expect(isOpen(calendar, from)).toBe(true);
        expect(businessMsBetween(calendar, from, addBusinessTime(calendar, from, ms))).toBe(ms);
      }),
      { numRuns: 200 },
    );
  });

  it('add ends at an open instant or at the end of an open span', () => {
    fc.assert(
      fc.property(calendarArb, instantArb, durationArb, (calendar, from, ms) => {
        const end = addBusinessTime(calendar, from, ms);
        const atSpanEnd = ms > 0 && isOpen(calendar, plus(end, -1));
        expect(isOpen(calendar, end) || atSpanEnd).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('is additive: between(a, c) = between(a, b) + between(b, c), in any order', () => {
    fc.assert(
      fc.property(calendarArb, instantArb, instantArb, instantArb, (calendar, a, b, c) => {
        expect(businessMsBetween(calendar, a, c)).toBe(
          businessMsBetween(calendar, a, b) + businessMsBetween(calendar, b, c),
        );
      }),
      { numRuns: 100 },
    );
  });

  it('is additive over nearby instants', () => {
    const nearArb = fc.tuple(instantArb, fc.nat(4 * DAY), fc.nat(4 * DAY));
    fc.assert(
      fc.property(calendarArb, nearArb, (calendar, [a, x, y]) => {
        const b = plus(a, x);
        const c = plus(b, y);
        expect(businessMsBetween(calendar, a, c)).toBe(
          businessMsBetween(calendar, a, b) + businessMsBetween(calendar, b, c),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('is monotonic, and never more than wall time', () => {
    fc.assert(
      fc.property(
        calendarArb,
        instantArb,
        fc.nat(10 * DAY),
        fc.nat(10 * DAY),
        durationArb,
        durationArb,
        (calendar, from, x, y, d1, d2) => {
          const [near, far] = [plus(from, Math.min(x, y)), plus(from, Math.max(x, y))];
          const toNear = businessMsBetween(calendar, from, near);
          const toFar = businessMsBetween(calendar, from, far);
          expect(toNear).toBeGreaterThanOrEqual(0);
          expect(toNear).toBeLessThanOrEqual(toFar);
          expect(toFar).toBeLessThanOrEqual(far.getTime() - from.getTime());
          expect(businessMsBetween(calendar, far, from)).toBe(0 - toFar);
          const [short, long] = [Math.min(d1, d2), Math.max(d1, d2)];
          expect(addBusinessTime(calendar, from, short).getTime()).toBeLessThanOrEqual(
            addBusinessTime(calendar, from, long).getTime(),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('next opening is open, at or after the instant, with no business time before it', () => {
    fc.assert(
      fc.property(calendarArb, instantArb, (calendar, instant) => {
        const opening = nextOpening(calendar, instant);
        expect(isOpen(calendar, opening)).toBe(true);
        expect(opening.getTime()).toBeGreaterThanOrEqual(instant.getTime());
        expect(businessMsBetween(calendar, instant, opening)).toBe(0);
        if (isOpen(calendar, instant)) expect(opening).toEqual(instant);
      }),
      { numRuns: 300 },
    );
  });

  it('is wall time for ALWAYS_OPEN and for any all-day calendar in any zone', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ZONES), instantArb, fc.nat(60 * DAY), (timeZone, from, ms) => {
        const split = everyDay(timeZone, [
          ['00:00', '06:45'],
          ['06:45', '24:00'],
        ]);
        expect(split.alwaysOpen).toBe(false);
        for (const calendar of [ALWAYS_OPEN, split]) {
          expect(businessMsBetween(calendar, from, plus(from, ms))).toBe(ms);
          expect(addBusinessTime(calendar, from, ms)).toEqual(plus(from, ms));
        }
      }),
      { numRuns: 100 },
    );
  });
});
