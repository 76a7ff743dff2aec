/**
 * Business calendars: when a support team is at work, in its own time zone.
 *
 * Pure arithmetic on instants (`Date`), no dependency: UTC offsets come from
 * `Intl.DateTimeFormat`. The calendar is open at an instant exactly when the
 * local clock then reads a time inside one of that weekday's ranges, on a local
 * date that is not a holiday. So opening hours keep their wall-clock meaning on
 * daylight-saving days: a 09:00–17:00 day is 09:00–17:00 local time and lasts
 * 8 hours unless the change falls inside it; a range inside a spring-forward gap
 * never opens; one inside a fall-back overlap opens twice.
 */

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
const MINUTES_PER_DAY = 1_440;
/** `addBusinessTime` gives up after this many local days without enough open time. */
const MAX_SCAN_DAYS = 100 * 366;
/** Local days whose open spans are cached per calendar; the cache is cleared past it. */
const DAY_CACHE_LIMIT = 4_096;

/** 0 = Sunday … 6 = Saturday, as `Date#getDay`. */
export type Weekday = 0 | 1 | 2 | 3 | 4 | 5 | 6;

/** A `[start, end)` range of local wall-clock time, `'HH:MM'`; the end may be `'24:00'`. */
export type LocalTimeRange = readonly [start: string, end: string];

export interface BusinessCalendarSpec {
  /** IANA zone, e.g. `Europe/Paris`. */
  timeZone: string;
  /** Open ranges per weekday; a missing or empty weekday is closed all day. */
  weeklyHours: Partial<Record<Weekday, readonly LocalTimeRange[]>>;
  /** Local dates `YYYY-MM-DD` closed all day. */
  holidays?: readonly string[];
}

/** A calendar that cannot be built; `problems` lists every reason, one sentence each. */
export class InvalidBusinessCalendarError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid business calendar: ${problems.join('; ')}`);
    this.name = 'InvalidBusinessCalendarError';
  }
}

/** An open span as epoch milliseconds, `[start, end)`. */
interface Span {
  start: number;
  end: number;
}

const WEEKDAYS: readonly Weekday[] = [0, 1, 2, 3, 4, 5, 6];
const WEEKDAY_NAMES = [
  'Sunday',
  'Monday',
  'Tuesday',
  'Wednesday',
  'Thursday',
  'Friday',
  'Saturday',
];
const TIME_PATTERN = /^(\d{2}):(\d{2})$/;
const DATE_PATTERN = /^(\d{4})-(\d{2})-(\d{2})$/;

export class BusinessCalendar {
  readonly timeZone: string;
  /** Open ranges per weekday, sorted, every weekday present (closed: empty). */
  readonly weeklyHours: Readonly<Record<Weekday, readonly LocalTimeRange[]>>;
  /** Holidays, sorted and without duplicates. */
  readonly holidays: readonly string[];
  /** Open all day every day with no holiday: business time is wall time. */
  readonly alwaysOpen: boolean;

  private readonly minutes: readonly (readonly (readonly [number, number])[])[];
  private readonly holidayDays: ReadonlySet<number>;
  private readonly offsets: ZoneOffsets;
  private readonly daySpans = new Map<number, readonly Span[]>();

  constructor(spec: BusinessCalendarSpec) {
    const problems: string[] = [];

    const timeZone = typeof spec.timeZone === 'string' ? spec.timeZone : '';
    let offsets: ZoneOffsets | null = null;
    try {
      offsets = new ZoneOffsets(timeZone);
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      problems.push(`time zone "${String(spec.timeZone)}" is not a known IANA time zone`);
    }

    const weeklyHours = {} as Record<Weekday, readonly LocalTimeRange[]>;
    const minutes: (readonly [number, number])[][] = [];
    const given = (spec.weeklyHours ?? {}) as Record<string, unknown>;
    for (const key of Object.keys(given)) {
      if (!WEEKDAYS.some((day) => String(day) === key)) {
        problems.push(`weekday "${key}" is not 0 (Sunday) to 6 (Saturday)`);
      }
    }
    for (const day of WEEKDAYS) {
      const ranges = given[day] ?? [];
      const parsed: { range: LocalTimeRange; start: number; end: number }[] = [];
      if (!Array.isArray(ranges)) {
        problems.push(`${WEEKDAY_NAMES[day]}: hours must be a list of [start, end] ranges`);
      } else {
        for (const range of ranges as unknown[]) {
          const one = parseRange(range, WEEKDAY_NAMES[day], problems);
          if (one) parsed.push(one);
        }
      }
      parsed.sort((a, b) => a.start - b.start || a.end - b.end);
      for (let i = 1; i < parsed.length; i++) {
        if (parsed[i].start < parsed[i - 1].end) {
          problems.push(
            `${WEEKDAY_NAMES[day]}: ranges ${show(parsed[i - 1].range)} and ${show(parsed[i].range)} overlap`,
          );
        }
      }
      weeklyHours[day] = parsed.map(({ range }) => [range[0], range[1]] as const);
      minutes.push(parsed.map(({ start, end }) => [start, end] as const));
    }
    if (minutes.every((ranges) => ranges.length === 0)) {
      problems.push('the calendar has no open hours in the week');
    }

    const holidayDays = new Set<number>();
    const holidays = spec.holidays ?? [];
    if (!Array.isArray(holidays)) {
      problems.push('holidays must be a list of YYYY-MM-DD dates');
    } else {
      for (const holiday of holidays as unknown[]) {
        const day = parseLocalDate(holiday);
        if (day === null)
          problems.push(`holiday "${String(holiday)}" is not a valid YYYY-MM-DD date`);
        else holidayDays.add(day);
      }
    }

    if (problems.length > 0 || offsets === null) throw new InvalidBusinessCalendarError(problems);

    this.timeZone = timeZone;
    this.weeklyHours = Object.freeze(weeklyHours);
    this.holidays = Object.freeze([...holidayDays].sort((a, b) => a - b).map(formatLocalDate));
    this.minutes = minutes;
    this.holidayDays = holidayDays;
    this.offsets = offsets;
    this.alwaysOpen =
      holidayDays.size === 0 &&
      minutes.every((ranges) => ranges.length === 1 && ranges[0][0] === 0 && ranges[0][1] === 1440);
  }

  /** The plain description this calendar was built from (normalised), for storage. */
  toSpec(): BusinessCalendarSpec {
    return {
      timeZone: this.timeZone,
      weeklyHours: { ...this.weeklyHours },
      holidays: [...this.holidays],
    };
  }

  isOpen(at: Date): boolean {
    const t = instant(at, 'at');
    if (this.alwaysOpen) return true;
    const day = this.localDayOf(t);
    for (let d = day - 1; d <= day + 1; d++) {
      for (const span of this.spansOfDay(d)) if (span.start <= t && t < span.end) return true;
    }
    return false;
  }

  nextOpening(at: Date): Date {
    return this.addBusinessTime(at, 0);
  }

  businessMsBetween(from: Date, to: Date): number {
    const a = instant(from, 'from');
    const b = instant(to, 'to');
    if (b < a) return 0 - this.forwardMsBetween(b, a); // never -0
    return this.forwardMsBetween(a, b);
  }

  addBusinessTime(from: Date, ms: number): Date {
    const start = instant(from, 'from');
    if (!Number.isSafeInteger(ms) || ms < 0) {
      throw new RangeError(
        `business time to add must be a whole, non-negative number of ms: ${ms}`,
      );
    }
    if (this.alwaysOpen) return new Date(start + ms);
    let remaining = ms;
    const first = this.localDayOf(start) - 1;
    for (let day = first; day < first + MAX_SCAN_DAYS; day++) {
      for (const span of this.spansOfDay(day)) {
        if (span.end <= start) continue;
        const open = Math.max(span.start, start);
        const available = span.end - open;
        // `<=`: the earliest instant is wanted, so a target reached exactly at a
        // closing time is that closing time, not the next opening.
        if (remaining <= available) return new Date(open + remaining);
        remaining -= available;
      }
    }
    throw new RangeError(
      `not enough business time within ${MAX_SCAN_DAYS} days of ${from.toISOString()}`,
    );
  }

  private forwardMsBetween(from: number, to: number): number {
    if (from === to) return 0;
    if (this.alwaysOpen) return to - from;
    let total = 0;
    const last = this.localDayOf(to) + 1;
    for (let day = this.localDayOf(from) - 1; day <= last; day++) {
      for (const span of this.spansOfDay(day)) {
        const overlap = Math.min(span.end, to) - Math.max(span.start, from);
        if (overlap > 0) total += overlap;
      }
    }
    return total;
  }

  /** The local day (days since 1970-01-01 in this zone) that instant `t` falls on. */
  private localDayOf(t: number): number {
    return Math.floor((t + this.offsets.at(t)) / DAY_MS);
  }

  /** The open spans of one local day, as instants, sorted and disjoint. */
  private spansOfDay(day: number): readonly Span[] {
    const cached = this.daySpans.get(day);
    if (cached) return cached;
    const pieces: Span[] = [];
    if (!this.holidayDays.has(day)) {
      for (const [startMinute, endMinute] of this.minutes[mod(day + 4, 7)]) {
        // 1970-01-01 was a Thursday, hence `day + 4`.
        const wallStart = day * DAY_MS + startMinute * MINUTE_MS;
        pieces.push(...this.offsets.instantsOf(wallStart, day * DAY_MS + endMinute * MINUTE_MS));
      }
    }
    pieces.sort((a, b) => a.start - b.start);
    const spans: Span[] = [];
    for (const piece of pieces) {
      const last = spans[spans.length - 1];
      if (last && last.end === piece.start)
        spans[spans.length - 1] = { start: last.start, end: piece.end };
      else spans.push(piece);
    }
    if (this.daySpans.size >= DAY_CACHE_LIMIT) this.daySpans.clear();
    this.daySpans.set(day, spans);
    return spans;
  }
}

// ---------------------------------------------------------------- time zones

const formatters = new Map<string, Intl.DateTimeFormat>();
const LOCAL_PATTERN = /^(\d+)\/(\d+)\/(\d+),? (\d+):(\d+):(\d+)$/;

/** UTC offsets of one IANA zone, and the instants at which the local clock reads given times. */
class ZoneOffsets {
  private readonly format: Intl.DateTimeFormat;
  private readonly fixedUtc: boolean;

  constructor(timeZone: string) {
    let format = formatters.get(timeZone);
    if (!format) {
      // Throws a RangeError for an unknown zone.
      format = new Intl.DateTimeFormat('en-US', {
        timeZone,
        hourCycle: 'h23',
        year: 'numeric',
        month: 'numeric',
        day: 'numeric',
        hour: 'numeric',
        minute: 'numeric',
        second: 'numeric',
      });
      formatters.set(timeZone, format);
    }
    this.format = format;
    this.fixedUtc = format.resolvedOptions().timeZone === 'UTC';
  }

  /** Offset in ms at instant `t`: local wall-clock time = `t + offset`. */
  at(t: number): number {
    if (this.fixedUtc) return 0;
    const match = LOCAL_PATTERN.exec(this.format.format(t));
    if (!match) throw new Error(`unexpected date format for ${new Date(t).toISOString()}`);
    const [, month, day, year, hour, minute, second] = match.map(Number);
    const wall = new Date(0);
    wall.setUTCFullYear(year, month - 1, day);
    wall.setUTCHours(hour, minute, second, 0);
    return wall.getTime() - (t - mod(t, 1000));
  }

  /**
   * The instants at which the local clock reads a time in `[wallStart, wallEnd)`
   * (wall-clock times as ms since the local epoch). Wall-clock meaning on
   * daylight-saving days: a range in a spring-forward gap is empty, a range in a
   * fall-back overlap happens twice.
   */
  instantsOf(wallStart: number, wallEnd: number): Span[] {
    if (this.fixedUtc) return [{ start: wallStart, end: wallEnd }];
    // Assumes at most one offset change within a day of the range, which holds
    // for every zone in the tz database since 1970.
    const before = this.at(wallStart - DAY_MS);
    const after = this.at(wallEnd + DAY_MS);
    if (before === after) return [{ start: wallStart - before, end: wallEnd - before }];
    let low = wallStart - DAY_MS;
    let high = wallEnd + DAY_MS;
    while (high - low > 1) {
      const middle = Math.floor((low + high) / 2);
      if (this.at(middle) === before) low = middle;
      else high = middle;
    }
    const change = high; // the first instant on the new offset
    const spans: Span[] = [];
    const first = { start: wallStart - before, end: Math.min(wallEnd - before, change) };
    const second = { start: Math.max(wallStart - after, change), end: wallEnd - after };
    if (first.end > first.start) spans.push(first);
    if (second.end > second.start) {
      const last = spans[spans.length - 1];
      if (last && last.end === second.start) last.end = second.end;
      else spans.push(second);
    }
    return spans;
  }
}

// ---------------------------------------------------------------- parsing

function parseRange(
  range: unknown,
  dayName: string,
  problems: string[],
): { range: LocalTimeRange; start: number; end: number } | null {
  if (!Array.isArray(range) || range.length !== 2) {
    problems.push(`${dayName}: ${JSON.stringify(range)} is not a [start, end] pair`);
    return null;
  }
  const [startText, endText] = range as unknown[];
  const start = parseTime(startText, false);
  const end = parseTime(endText, true);
  if (start === null) problems.push(`${dayName}: start "${String(startText)}" is not a HH:MM time`);
  if (end === null)
    problems.push(`${dayName}: end "${String(endText)}" is not a HH:MM time (or 24:00)`);
  if (start === null || end === null) return null;
  if (end <= start) {
    problems.push(
      `${dayName}: range ${startText as string}–${endText as string} ends before it starts`,
    );
    return null;
  }
  return { range: [startText as string, endText as string], start, end };
}

/** Minutes since local midnight; `24:00` only as an end. */
function parseTime(text: unknown, isEnd: boolean): number | null {
  if (typeof text !== 'string') return null;
  const match = TIME_PATTERN.exec(text);
  if (!match) return null;
  const hours = Number(match[1]);
  const minutes = Number(match[2]);
  if (minutes > 59) return null;
  if (hours === 24 && minutes === 0 && isEnd) return MINUTES_PER_DAY;
  if (hours > 23) return null;
  return hours * 60 + minutes;
}

/** Days since 1970-01-01 of a `YYYY-MM-DD` date, or null when it is not a real date. */
function parseLocalDate(text: unknown): number | null {
  if (typeof text !== 'string') return null;
  const match = DATE_PATTERN.exec(text);
  if (!match) return null;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  if (
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  ) {
    return null;
  }
  return date.getTime() / DAY_MS;
}

function formatLocalDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function show(range: LocalTimeRange): string {
  return `${range[0]}–${range[1]}`;
}

function instant(date: Date, name: string): number {
  const t = date instanceof Date ? date.getTime() : NaN;
  if (!Number.isFinite(t)) throw new RangeError(`${name} is not a valid date`);
  return t;
}

function mod(a: number, n: number): number {
  return ((a % n) + n) % n;
}

// ---------------------------------------------------------------- API

/** Open around the clock, every day, in UTC: business time is wall time. */
export const ALWAYS_OPEN = new BusinessCalendar({
  timeZone: 'UTC',
  weeklyHours: Object.fromEntries(WEEKDAYS.map((day) => [day, [['00:00', '24:00']]])),
});

/** Working milliseconds in `[from, to)`; negative (`-between(to, from)`) when `to` is before `from`. */
export function businessMsBetween(calendar: BusinessCalendar, from: Date, to: Date): number {
  return calendar.businessMsBetween(from, to);
}

/**
 * The earliest instant at which `ms` working milliseconds have elapsed since `from`.
 * From outside hours the count starts at the next opening; `ms = 0` gives that opening.
 */
export function addBusinessTime(calendar: BusinessCalendar, from: Date, ms: number): Date {
  return calendar.addBusinessTime(from, ms);
}

export function isOpen(calendar: BusinessCalendar, at: Date): boolean {
  return calendar.isOpen(at);
}

/** `at` itself when the calendar is open then, else the start of the next open span. */
export function nextOpening(calendar: BusinessCalendar, at: Date): Date {
  return calendar.nextOpening(at);
}
