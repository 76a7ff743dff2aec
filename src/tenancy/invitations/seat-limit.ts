import { Injectable } from '@nestjs/common';
import { EntitlementSource } from '../../access/entitlements';

/**
 * How many seats (members plus pending invitations) an organisation may fill:
 * the seats its plan gives (the free plan's allowance, or the seats paid for).
 */
@Injectable()
export class SeatLimit {
  constructor(private readonly entitlements: EntitlementSource) {}

  /** undefined: no limit. */
  async limitFor(tenantId: string): Promise<number | undefined> {
    return (await this.entitlements.forTenant(tenantId)).seatLimit ?? undefined;
  }
}
