/** Where a ticket is in its life. */
export enum TicketStatus {
  New = 'new',
  Open = 'open',
  /** Waiting for the requester: the SLA clock stops. */
  Pending = 'pending',
  /** Waiting for a third party: the SLA clock runs. */
  OnHold = 'on_hold',
  Solved = 'solved',
  /** Final: no change, no reply. */
  Closed = 'closed',
}

export enum TicketPriority {
  Low = 'low',
  Normal = 'normal',
  High = 'high',
  Urgent = 'urgent',
}

/** Status changes an agent may make; anything else is refused. */
const TRANSITIONS: Record<TicketStatus, readonly TicketStatus[]> = {
  [TicketStatus.New]: [
    TicketStatus.Open,
    TicketStatus.Pending,
    TicketStatus.OnHold,
    TicketStatus.Solved,
    TicketStatus.Closed,
  ],
  [TicketStatus.Open]: [
    TicketStatus.Pending,
    TicketStatus.OnHold,
    TicketStatus.Solved,
    TicketStatus.Closed,
  ],
  [TicketStatus.Pending]: [
    TicketStatus.Open,
    TicketStatus.OnHold,
    TicketStatus.Solved,
    TicketStatus.Closed,
  ],
  [TicketStatus.OnHold]: [
    TicketStatus.Open,
    TicketStatus.Pending,
    TicketStatus.Solved,
    TicketStatus.Closed,
  ],
  [TicketStatus.Solved]: [TicketStatus.Open, TicketStatus.Closed],
  [TicketStatus.Closed]: [],
};

export function canTransition(from: TicketStatus, to: TicketStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * The status after a public reply: the requester answering reopens a ticket
 * waiting on them or solved; an agent's first answer opens a new ticket.
 * A closed ticket takes no reply (the caller refuses it first).
 */
export function statusAfterReply(current: TicketStatus, by: 'requester' | 'agent'): TicketStatus {
  if (by === 'requester') {
    return current === TicketStatus.Pending || current === TicketStatus.Solved
      ? TicketStatus.Open
      : current;
  }
  return current === TicketStatus.New ? TicketStatus.Open : current;
}
