import { Injectable } from '@nestjs/common';

/**
 * How many seats (members plus pending invitations) an organisation may fill.
 * Billing will provide an implementation fed from the plan; until then,
 * unlimited.
 */
@Injectable()
export class SeatLimit {
  /** undefined: no limit. */
  limitFor(_tenantId: string): Promise<number | undefined> {
    return Promise.resolve(undefined);
  }
}
