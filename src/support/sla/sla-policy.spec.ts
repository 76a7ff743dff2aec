import { SupportTier } from '../../billing/entities/plan.entity';
import { ALWAYS_OPEN, businessMsBetween } from './business-calendar';
import {
  ALWAYS_OPEN_CALENDAR,
  DEFAULT_CALENDAR,
  hasSla,
  slaPolicyFor,
  TICKET_PRIORITIES,
  TicketPriority,
} from './sla-policy';

const HOUR = 3_600_000;
const TIERS = Object.values(SupportTier);
/** Worst to best. */
const TIER_ORDER = [
  SupportTier.Community,
  SupportTier.Standard,
  SupportTier.Priority,
  SupportTier.Dedicated,
];

describe('slaPolicyFor', () => {
  it('covers every tier and priority', () => {
    expect([...TIER_ORDER].sort()).toEqual([...TIERS].sort());
    for (const tier of TIERS) {
      for (const priority of TICKET_PRIORITIES) {
        const policy = slaPolicyFor(tier, priority);
        expect(policy).toMatchObject({ tier, priority });
        for (const target of [policy.targets.firstResponseMs, policy.targets.resolutionMs]) {
          if (target !== null) expect(Number.isSafeInteger(target) && target > 0).toBe(true);
        }
      }
    }
  });

  it('gives community no SLA and every paid tier both targets', () => {
    for (const priority of TICKET_PRIORITIES) {
      expect(slaPolicyFor(SupportTier.Community, priority).targets).toEqual({
        firstResponseMs: null,
        resolutionMs: null,
      });
      expect(hasSla(SupportTier.Community, priority)).toBe(false);
      for (const tier of TIER_ORDER.slice(1)) {
        const { targets } = slaPolicyFor(tier, priority);
        expect(targets.firstResponseMs).not.toBeNull();
        expect(targets.resolutionMs).not.toBeNull();
        expect(targets.firstResponseMs!).toBeLessThan(targets.resolutionMs!);
        expect(hasSla(tier, priority)).toBe(true);
      }
    }
  });

  it('never loosens a target for a better tier or a higher priority', () => {
    const targets = (tier: SupportTier, priority: TicketPriority) =>
      slaPolicyFor(tier, priority).targets;
    for (let t = 2; t < TIER_ORDER.length; t++) {
      for (let p = 0; p < TICKET_PRIORITIES.length; p++) {
        const here = targets(TIER_ORDER[t], TICKET_PRIORITIES[p]);
        const worseTier = targets(TIER_ORDER[t - 1], TICKET_PRIORITIES[p]);
        expect(here.firstResponseMs!).toBeLessThanOrEqual(worseTier.firstResponseMs!);
        expect(here.resolutionMs!).toBeLessThanOrEqual(worseTier.resolutionMs!);
        if (p > 0) {
          const lowerPriority = targets(TIER_ORDER[t], TICKET_PRIORITIES[p - 1]);
          expect(here.firstResponseMs!).toBeLessThanOrEqual(lowerPriority.firstResponseMs!);
          expect(here.resolutionMs!).toBeLessThanOrEqual(lowerPriority.resolutionMs!);
        }
      }
    }
  });

  it('uses the 24/7 calendar for dedicated urgent tickets only', () => {
    expect(ALWAYS_OPEN_CALENDAR).toBe(ALWAYS_OPEN);
    for (const tier of TIERS) {
      for (const priority of TICKET_PRIORITIES) {
        const dedicatedUrgent = tier === SupportTier.Dedicated && priority === 'urgent';
        expect(slaPolicyFor(tier, priority).calendar).toBe(
          dedicatedUrgent ? ALWAYS_OPEN_CALENDAR : DEFAULT_CALENDAR,
        );
      }
    }
    expect(slaPolicyFor(SupportTier.Standard, 'normal').targets.firstResponseMs).toBe(16 * HOUR);
    expect(slaPolicyFor(SupportTier.Dedicated, 'urgent').targets.firstResponseMs).toBe(HOUR);
  });

  it('opens the default calendar Monday to Friday, 09:00–17:00 UTC', () => {
    expect(DEFAULT_CALENDAR.toSpec()).toEqual({
      timeZone: 'UTC',
      weeklyHours: {
        0: [],
        1: [['09:00', '17:00']],
        2: [['09:00', '17:00']],
        3: [['09:00', '17:00']],
        4: [['09:00', '17:00']],
        5: [['09:00', '17:00']],
        6: [],
      },
      holidays: [],
    });
    const week = businessMsBetween(
      DEFAULT_CALENDAR,
      new Date('2026-01-05T00:00Z'),
      new Date('2026-01-12T00:00Z'),
    );
    expect(week).toBe(40 * HOUR);
  });

  it('rejects an unknown tier or priority', () => {
    expect(() => slaPolicyFor('gold' as SupportTier, 'normal')).toThrow(
      'no SLA policy for tier "gold" and priority "normal"',
    );
    expect(() => slaPolicyFor(SupportTier.Standard, 'critical' as TicketPriority)).toThrow(
      RangeError,
    );
  });
});
