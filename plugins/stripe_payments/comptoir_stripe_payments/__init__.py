"""Stripe payments: PaymentIntents (cards, SEPA Direct Debit), refunds, signed webhooks."""
