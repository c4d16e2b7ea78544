"""PayPal Checkout: Orders v2, payments v2, verified webhooks."""
