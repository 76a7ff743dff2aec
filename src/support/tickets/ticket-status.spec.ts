import { canTransition, statusAfterReply, TicketStatus as S } from './ticket-status';

describe('ticket status', () => {
  it('closed is final', () => {
    for (const to of Object.values(S)) expect(canTransition(S.Closed, to)).toBe(false);
  });

  it('a solved ticket can only be reopened or closed', () => {
    expect(Object.values(S).filter((to) => canTransition(S.Solved, to))).toEqual([
      S.Open,
      S.Closed,
    ]);
  });

  it('no status transitions to itself or back to new', () => {
    for (const from of Object.values(S)) {
      expect(canTransition(from, from)).toBe(false);
      expect(canTransition(from, S.New)).toBe(false);
    }
  });

  it.each([
    [S.Pending, 'requester', S.Open],
    [S.Solved, 'requester', S.Open],
    [S.OnHold, 'requester', S.OnHold],
    [S.New, 'requester', S.New],
    [S.New, 'agent', S.Open],
    [S.Pending, 'agent', S.Pending],
    [S.Solved, 'agent', S.Solved],
  ] as const)('a reply on %s by the %s leaves it %s', (from, by, to) => {
    expect(statusAfterReply(from, by)).toBe(to);
  });
});
