import fc from 'fast-check';
import { PaymentErrorCategory } from '../payments/payment-gateway';
import {
  actionDueAt,
  classifyFailure,
  DEFAULT_RECOVERY_RULES,
  DunningAction,
  FailureClass,
  HARD_DECLINE_CODES,
  nextRetryAt,
  policyProblems,
  RecoveryRules,
  stepDueAt,
} from './recovery-policy';

const origin = new Date('2031-02-10T00:00:00.000Z');
const day = (n: number) => new Date(origin.getTime() + n * 86_400_000);
const rules = (patch: Partial<RecoveryRules>): RecoveryRules => ({
  ...DEFAULT_RECOVERY_RULES,
  ...patch,
});

describe('recovery policy', () => {
  it('the default policy is valid: retries on days 1, 3, 5, 7; notify, remind, warn, suspend (10), cancel (30)', () => {
    expect(policyProblems(DEFAULT_RECOVERY_RULES)).toEqual([]);
    expect(DEFAULT_RECOVERY_RULES.retryDays).toEqual([1, 3, 5, 7]);
    expect(DEFAULT_RECOVERY_RULES.steps.map((s) => `${s.day}:${s.action}`)).toEqual([
      '0:notify',
      '3:remind',
      '7:warn',
      '10:suspend',
      '30:cancel',
    ]);
  });

  it.each<[string, Partial<RecoveryRules>, string]>([
    ['retries out of order', { retryDays: [3, 1] }, 'retry days must be strictly increasing'],
    ['a retry on day 0', { retryDays: [0, 2] }, 'retry days must be whole days from 1 to 180'],
    ['a fractional day', { retryDays: [1.5] }, 'retry days must be whole days from 1 to 180'],
    ['eleven retries', { retryDays: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11] }, 'at most 10 retries'],
    ['no step', { steps: [] }, 'a campaign needs at least one step'],
    [
      'steps out of order',
      {
        steps: [
          { day: 5, action: DunningAction.Notify },
          { day: 1, action: DunningAction.Remind },
        ],
      },
      'steps must be in order of their day',
    ],
    [
      'cancel before the end',
      {
        steps: [
          { day: 0, action: DunningAction.Notify },
          { day: 20, action: DunningAction.Cancel },
          { day: 25, action: DunningAction.Remind },
        ],
      },
      'cancel must be the last step',
    ],
    [
      'two suspends',
      {
        steps: [
          { day: 5, action: DunningAction.Suspend },
          { day: 6, action: DunningAction.Suspend },
        ],
      },
      'at most one suspend step',
    ],
    [
      'a warning with nothing to warn of',
      {
        steps: [
          { day: 0, action: DunningAction.Notify },
          { day: 7, action: DunningAction.Warn },
          { day: 30, action: DunningAction.Cancel },
        ],
      },
      'a warn step needs a suspend step after it',
    ],
    [
      'a retry after cancellation',
      {
        retryDays: [1, 40],
        steps: [
          { day: 0, action: DunningAction.Notify },
          { day: 30, action: DunningAction.Cancel },
        ],
      },
      'every retry must fall on or before the cancel step',
    ],
    ['a negative notice', { cardExpiryNoticeDays: -1 }, 'card expiry notice must be 0 to 60 days'],
  ])('refuses %s', (_name, patch, problem) => {
    expect(policyProblems(rules(patch))).toContain(problem);
  });

  it('plans the next retry strictly after the last attempt, from the same origin as the steps', () => {
    const r = DEFAULT_RECOVERY_RULES;
    expect(nextRetryAt(r, origin, origin)).toEqual(day(1));
    expect(nextRetryAt(r, origin, day(1))).toEqual(day(3));
    // A "pay now" on day 2 that fails keeps the schedule: the next slot is still day 3.
    expect(nextRetryAt(r, origin, new Date(day(2).getTime() + 3_600_000))).toEqual(day(3));
    expect(nextRetryAt(r, origin, day(7))).toBeNull();
    expect(stepDueAt(r, origin, 3)).toEqual(day(10));
    expect(stepDueAt(r, origin, 5)).toBeNull();
    expect(actionDueAt(r, origin, DunningAction.Suspend)).toEqual(day(10));
    expect(
      actionDueAt(
        rules({ steps: [{ day: 0, action: DunningAction.Notify }] }),
        origin,
        DunningAction.Suspend,
      ),
    ).toBeNull();
  });

  it('every retry falls on a policy day, in order, and never more retries than days (property)', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: 60 }), { minLength: 1, maxLength: 10 }),
        (days) => {
          const r = rules({
            retryDays: [...days].sort((a, b) => a - b),
            steps: [{ day: 0, action: DunningAction.Notify }],
          });
          const seen: Date[] = [];
          let at: Date | null = origin;
          while ((at = nextRetryAt(r, origin, at))) seen.push(at);
          expect(seen).toEqual(r.retryDays.map(day));
        },
      ),
    );
  });

  describe('classification', () => {
    it.each<
      [
        string,
        { category: string; declineCode?: string | null; outcomeUnknown?: boolean },
        FailureClass,
      ]
    >([
      [
        'insufficient funds',
        { category: PaymentErrorCategory.InsufficientFunds, declineCode: 'insufficient_funds' },
        FailureClass.SoftDecline,
      ],
      [
        'a generic decline',
        { category: PaymentErrorCategory.CardDeclined, declineCode: 'generic_decline' },
        FailureClass.SoftDecline,
      ],
      [
        'do not honor',
        { category: PaymentErrorCategory.CardDeclined, declineCode: 'do_not_honor' },
        FailureClass.SoftDecline,
      ],
      [
        'try again later',
        { category: PaymentErrorCategory.ProcessingError, declineCode: 'try_again_later' },
        FailureClass.SoftDecline,
      ],
      [
        'processing error',
        { category: PaymentErrorCategory.ProcessingError, declineCode: 'processing_error' },
        FailureClass.SoftDecline,
      ],
      [
        'a stolen card',
        { category: PaymentErrorCategory.CardDeclined, declineCode: 'stolen_card' },
        FailureClass.HardDecline,
      ],
      [
        'a lost card',
        { category: PaymentErrorCategory.CardDeclined, declineCode: 'lost_card' },
        FailureClass.HardDecline,
      ],
      [
        'pick up card',
        { category: PaymentErrorCategory.CardDeclined, declineCode: 'pickup_card' },
        FailureClass.HardDecline,
      ],
      [
        'fraud',
        { category: PaymentErrorCategory.CardDeclined, declineCode: 'fraudulent' },
        FailureClass.HardDecline,
      ],
      [
        'an incorrect number',
        { category: PaymentErrorCategory.CardDeclined, declineCode: 'incorrect_number' },
        FailureClass.HardDecline,
      ],
      [
        'an expired card',
        { category: PaymentErrorCategory.ExpiredCard, declineCode: 'expired_card' },
        FailureClass.HardDecline,
      ],
      [
        'a card the gateway no longer knows',
        { category: PaymentErrorCategory.InvalidRequest },
        FailureClass.HardDecline,
      ],
      [
        'authentication required',
        {
          category: PaymentErrorCategory.AuthenticationRequired,
          declineCode: 'authentication_required',
        },
        FailureClass.NeedsAuthentication,
      ],
      ['rate limited', { category: PaymentErrorCategory.RateLimited }, FailureClass.Transient],
      [
        'a refused connection',
        { category: PaymentErrorCategory.GatewayUnavailable },
        FailureClass.Transient,
      ],
      [
        'our misconfiguration',
        { category: PaymentErrorCategory.Configuration },
        FailureClass.Transient,
      ],
      [
        'a 500 that may have charged',
        { category: PaymentErrorCategory.GatewayUnavailable, outcomeUnknown: true },
        FailureClass.UnknownOutcome,
      ],
      [
        'a dropped connection',
        { category: PaymentErrorCategory.GatewayUnavailable, outcomeUnknown: true },
        FailureClass.UnknownOutcome,
      ],
    ])('%s', (_name, failure, expected) => {
      expect(classifyFailure(failure)).toBe(expected);
    });

    it('every hard decline code is hard whatever the category says it declined as', () => {
      for (const code of HARD_DECLINE_CODES) {
        expect(
          classifyFailure({ category: PaymentErrorCategory.CardDeclined, declineCode: code }),
        ).toBe(FailureClass.HardDecline);
      }
    });
  });
});
