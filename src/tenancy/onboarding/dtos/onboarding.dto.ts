import { ApiProperty } from '@nestjs/swagger';
import { ONBOARDING_STEP_KEYS, type OnboardingStepKey } from '../onboarding-steps';

export class OnboardingStepDto {
  @ApiProperty({ enum: ONBOARDING_STEP_KEYS, enumName: 'OnboardingStepKey' })
  key!: OnboardingStepKey;

  @ApiProperty({ example: 'Invite a teammate' })
  title!: string;

  @ApiProperty({ description: 'Done once, it stays done (see docs/onboarding.md).' })
  done!: boolean;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'When the step was first done; null while it is not.',
  })
  doneAt!: string | null;

  @ApiProperty({ example: 'POST', description: 'The method of the route that does the step.' })
  method!: string;

  @ApiProperty({
    example: '/v1/tenant/invitations',
    description: 'The API route that does the step (a portal links its own page for it).',
  })
  href!: string;
}

/** The organisation's onboarding checklist, computed from what it has really done. */
export class OnboardingDto {
  @ApiProperty({ type: [OnboardingStepDto], description: 'Always the six steps, in this order.' })
  steps!: OnboardingStepDto[];

  @ApiProperty({ example: 4, description: 'Steps done.' })
  completed!: number;

  @ApiProperty({ example: 6 })
  total!: number;

  @ApiProperty({ example: 66, description: 'completed / total in percent, rounded down.' })
  percent!: number;

  @ApiProperty({
    format: 'date-time',
    nullable: true,
    type: String,
    description: 'When the last step was done; null until every step is.',
  })
  completedAt!: string | null;
}
