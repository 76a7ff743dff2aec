import { DomainException } from '../common/errors/domain.exception';

export enum BillingErrorCode {
  PlanNotFound = 'plan_not_found',
  PlanCodeTaken = 'plan_code_taken',
  PriceNotFound = 'price_not_found',
  PriceUnavailable = 'price_unavailable',
  PriceExists = 'price_exists',
  PlanArchived = 'plan_archived',
  PlanFeaturesInvalid = 'plan_features_invalid',
  FreePlanNotArchivable = 'free_plan_not_archivable',
  FreePlanNotSubscribable = 'free_plan_not_subscribable',
  SubscriptionNotFound = 'subscription_not_found',
  SubscriptionExists = 'subscription_exists',
  SubscriptionNotChangeable = 'subscription_not_changeable',
  NoChange = 'subscription_no_change',
  CurrencyMismatch = 'currency_mismatch',
  SeatsOutOfRange = 'seats_out_of_range',
  SeatsBelowMembers = 'seats_below_members',
  TrialUnavailable = 'trial_unavailable',
  PaymentMethodRequired = 'payment_method_required',
  PaymentMethodNotFound = 'payment_method_not_found',
  PaymentMethodInUse = 'payment_method_in_use',
  PaymentMethodInvalid = 'payment_method_invalid',
  PaymentDeclined = 'payment_declined',
  GatewayUnavailable = 'gateway_unavailable',
  GatewayError = 'gateway_error',
  InvoiceNotFound = 'invoice_not_found',
  InvoiceNotPayable = 'invoice_not_payable',
  TestClocksDisabled = 'test_clocks_disabled',
  TestClockBackwards = 'test_clock_backwards',
  WebhookSignatureInvalid = 'webhook_signature_invalid',
  CampaignNotFound = 'campaign_not_found',
  /** The campaign ended (recovered, canceled, written off, closed): nothing left to act on. */
  CampaignNotRunning = 'campaign_not_running',
  CampaignAlreadyPaused = 'campaign_already_paused',
  CampaignNotPaused = 'campaign_not_paused',
  RecoveryPolicyNotFound = 'recovery_policy_not_found',
  RecoveryPolicyCodeTaken = 'recovery_policy_code_taken',
  RecoveryPolicyInvalid = 'recovery_policy_invalid',
  /** A figures window whose start is not before its end. */
  RecoveryRangeInvalid = 'recovery_range_invalid',
}

export class BillingException extends DomainException<BillingErrorCode> {
  constructor(
    code: BillingErrorCode,
    detail: string,
    extensions?: Record<string, unknown>,
    cause?: unknown,
  ) {
    super(code, detail, extensions, cause);
  }

  get status(): number {
    switch (this.code) {
      case BillingErrorCode.WebhookSignatureInvalid:
        return 400;
      case BillingErrorCode.PaymentDeclined:
        return 402;
      case BillingErrorCode.PlanNotFound:
      case BillingErrorCode.PriceNotFound:
      case BillingErrorCode.SubscriptionNotFound:
      case BillingErrorCode.PaymentMethodNotFound:
      case BillingErrorCode.InvoiceNotFound:
      case BillingErrorCode.TestClocksDisabled:
      case BillingErrorCode.CampaignNotFound:
      case BillingErrorCode.RecoveryPolicyNotFound:
        return 404;
      case BillingErrorCode.PlanCodeTaken:
      case BillingErrorCode.PriceUnavailable:
      case BillingErrorCode.PriceExists:
      case BillingErrorCode.PlanArchived:
      case BillingErrorCode.FreePlanNotArchivable:
      case BillingErrorCode.FreePlanNotSubscribable:
      case BillingErrorCode.SubscriptionExists:
      case BillingErrorCode.SubscriptionNotChangeable:
      case BillingErrorCode.NoChange:
      case BillingErrorCode.CurrencyMismatch:
      case BillingErrorCode.SeatsBelowMembers:
      case BillingErrorCode.TrialUnavailable:
      case BillingErrorCode.PaymentMethodRequired:
      case BillingErrorCode.PaymentMethodInUse:
      case BillingErrorCode.InvoiceNotPayable:
      case BillingErrorCode.CampaignNotRunning:
      case BillingErrorCode.CampaignAlreadyPaused:
      case BillingErrorCode.CampaignNotPaused:
      case BillingErrorCode.RecoveryPolicyCodeTaken:
        return 409;
      case BillingErrorCode.SeatsOutOfRange:
      case BillingErrorCode.PlanFeaturesInvalid:
      case BillingErrorCode.PaymentMethodInvalid:
      case BillingErrorCode.TestClockBackwards:
      case BillingErrorCode.RecoveryPolicyInvalid:
      case BillingErrorCode.RecoveryRangeInvalid:
        return 422;
      case BillingErrorCode.GatewayError:
        return 502;
      case BillingErrorCode.GatewayUnavailable:
        return 503;
    }
  }
}
