"""Manual payments: bank transfer and cash on delivery."""
