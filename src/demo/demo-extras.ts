import { NestFastifyApplication } from '@nestjs/platform-fastify';
import { ManualClock } from '../common/clock';
import { User } from '../identity/entities/user.entity';
import { DemoWorld } from './demo-world';

/** Parts of the world that depend on optional modules (feedback, feature flags). */
export class DemoExtras {
  constructor(
    private readonly app: NestFastifyApplication,
    private readonly world: DemoWorld,
  ) {}

  /** Seeds what it can; returns one line per part seeded. */
  async seed(
    _tenantIds: Map<string, string>,
    _users: Map<string, User>,
    _clock: ManualClock,
  ): Promise<string[]> {
    await Promise.resolve();
    return [];
  }
}
