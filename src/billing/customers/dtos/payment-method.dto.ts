import { ApiProperty } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength } from 'class-validator';
import { PaymentMethod } from '../../entities/payment-method.entity';

export class PaymentMethodDto {
  @ApiProperty({ format: 'uuid' })
  id!: string;

  @ApiProperty({ example: 'visa' })
  brand!: string;

  @ApiProperty({ example: '4242' })
  last4!: string;

  @ApiProperty({ example: 12 })
  expMonth!: number;

  @ApiProperty({ example: 2030 })
  expYear!: number;

  @ApiProperty({ description: 'Charged for renewals and changes.' })
  isDefault!: boolean;

  @ApiProperty()
  createdAt!: Date;

  static from(row: PaymentMethod, defaultId: string | null | undefined): PaymentMethodDto {
    return Object.assign(new PaymentMethodDto(), {
      id: row.id,
      brand: row.brand,
      last4: row.last4,
      expMonth: row.expMonth,
      expYear: row.expYear,
      isDefault: row.id === defaultId,
      createdAt: row.createdAt,
    });
  }
}

export class SetupIntentDto {
  @ApiProperty({ example: 'seti_1Nv…' })
  id!: string;

  @ApiProperty({
    description:
      'Give it to Stripe.js (`stripe.confirmCardSetup`) to collect the card in the browser; the card number never reaches Groundwork.',
  })
  clientSecret!: string;
}

export class AddPaymentMethodDto {
  @ApiProperty({
    description:
      "The gateway's payment method id from the browser (`pm_…`). With the simulated gateway, one of Stripe's test cards: `pm_card_visa`, `pm_card_chargeDeclinedInsufficientFunds`, `pm_card_authenticationRequired`, …",
    example: 'pm_card_visa',
  })
  @IsString()
  @MaxLength(255)
  @Matches(/^pm_[A-Za-z0-9_]+$/, {
    message: 'paymentMethodId must be a gateway payment method id (pm_…)',
  })
  paymentMethodId!: string;

  @ApiProperty({
    required: false,
    default: false,
    description: 'Make it the default. The first payment method is always the default.',
  })
  @IsOptional()
  @IsBoolean()
  makeDefault?: boolean;
}
