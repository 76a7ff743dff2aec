import { CONTEXT_LIMITS, contextProblem, FeedbackKind, scoreProblem } from './feedback-rules';

describe('feedback rules', () => {
  it.each([
    [FeedbackKind.Rating, 1, true],
    [FeedbackKind.Rating, 5, true],
    [FeedbackKind.Rating, 0, false],
    [FeedbackKind.Rating, 6, false],
    [FeedbackKind.Nps, 0, true],
    [FeedbackKind.Nps, 10, true],
    [FeedbackKind.Nps, -1, false],
    [FeedbackKind.Nps, 11, false],
    [FeedbackKind.Nps, 7.5, false],
    [FeedbackKind.Rating, '3', false],
  ])('%s score %j allowed: %s', (kind, score, ok) => {
    expect(scoreProblem(kind, score) === null).toBe(ok);
  });

  it('names the range of the kind', () => {
    expect(scoreProblem(FeedbackKind.Rating, 9)).toBe(
      'score must be an integer from 1 to 5 for rating feedback',
    );
  });

  it('accepts a flat, small context', () => {
    expect(
      contextProblem({ page: '/billing', appVersion: '4.2.0', retina: true, width: 1280, x: null }),
    ).toBeNull();
    expect(contextProblem({})).toBeNull();
  });

  it.each([
    ['an array', ['a'], 'context must be an object'],
    ['a string', 'page', 'context must be an object'],
    ['null', null, 'context must be an object'],
    ['a nested object', { a: { b: 1 } }, 'context.a must be'],
    ['an array value', { a: [1] }, 'context.a must be'],
    ['a long string', { a: 'x'.repeat(CONTEXT_LIMITS.maxStringLength + 1) }, 'context.a must be'],
    [
      'too many keys',
      Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i])),
      'at most 20 keys',
    ],
    ['a key with a space', { 'my key': 1 }, 'context key "my key"'],
    ['a key starting with a digit', { '1a': 1 }, 'context key "1a"'],
    ['a key too long', { ['k'.repeat(65)]: 1 }, 'at most 64 characters'],
    [
      'too many bytes',
      Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`k${i}`, 'é'.repeat(500)])),
      'at most 4096 bytes',
    ],
  ])('refuses %s', (_name, value, message) => {
    expect(contextProblem(value)).toContain(message);
  });
});
