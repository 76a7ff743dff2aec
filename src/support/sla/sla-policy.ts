/**
 * Default SLA policies: targets per support tier of the tenant's plan and per
 * ticket priority, in business hours of a calendar. Pure data and a lookup.
 */
import { SupportTier } from '../../billing/entities/plan.entity';
import { ALWAYS_OPEN, BusinessCalendar } from './business-calendar';
import { SlaTargets } from './sla-clock';

export type TicketPriority = 'low' | 'normal' | 'high' | 'urgent';

export const TICKET_PRIORITIES: readonly TicketPriority[] = ['low', 'normal', 'high', 'urgent'];

const HOUR_MS = 3_600_000;

/** Monday to Friday, 09:00–17:00 UTC, no holidays. */
export const DEFAULT_CALENDAR = new BusinessCalendar({
  timeZone: 'UTC',
  weeklyHours: {
    1: [['09:00', '17:00']],
    2: [['09:00', '17:00']],
    3: [['09:00', '17:00']],
    4: [['09:00', '17:00']],
    5: [['09:00', '17:00']],
  },
  holidays: [],
});

/** Around the clock, for `dedicated` + `urgent`. */
export const ALWAYS_OPEN_CALENDAR = ALWAYS_OPEN;

export interface SlaPolicy {
  tier: SupportTier;
  priority: TicketPriority;
  /** Business milliseconds in `calendar`; both null: no SLA. */
  targets: SlaTargets;
  calendar: BusinessCalendar;
}

/** [first response, resolution] in business hours; null: no target. */
type Hours = readonly [firstResponse: number | null, resolution: number | null];

/**
 * No target grows with a better tier or a higher priority (a unit test checks it).
 * `dedicated` + `urgent` counts on the 24/7 calendar, so its hours are wall hours.
 */
const TARGET_HOURS: Readonly<Record<SupportTier, Readonly<Record<TicketPriority, Hours>>>> = {
  [SupportTier.Community]: {
    low: [null, null],
    normal: [null, null],
    high: [null, null],
    urgent: [null, null],
  },
  [SupportTier.Standard]: {
    low: [24, 120],
    normal: [16, 80],
    high: [8, 40],
    urgent: [4, 24],
  },
  [SupportTier.Priority]: {
    low: [8, 40],
    normal: [4, 24],
    high: [2, 16],
    urgent: [1, 8],
  },
  [SupportTier.Dedicated]: {
    low: [4, 24],
    normal: [2, 16],
    high: [1, 8],
    urgent: [1, 4],
  },
};

/** The default policy for a tier and priority (community: null targets). */
export function slaPolicyFor(tier: SupportTier, priority: TicketPriority): SlaPolicy {
  const byPriority = TARGET_HOURS[tier];
  const hours = byPriority?.[priority];
  if (!hours) throw new RangeError(`no SLA policy for tier "${tier}" and priority "${priority}"`);
  const [firstResponse, resolution] = hours;
  return {
    tier,
    priority,
    targets: {
      firstResponseMs: firstResponse === null ? null : firstResponse * HOUR_MS,
      resolutionMs: resolution === null ? null : resolution * HOUR_MS,
    },
    calendar:
      tier === SupportTier.Dedicated && priority === 'urgent'
        ? ALWAYS_OPEN_CALENDAR
        : DEFAULT_CALENDAR,
  };
}

/** Whether the tier and priority carry any SLA target at all. */
export function hasSla(tier: SupportTier, priority: TicketPriority): boolean {
  const { targets } = slaPolicyFor(tier, priority);
  return targets.firstResponseMs !== null || targets.resolutionMs !== null;
}
