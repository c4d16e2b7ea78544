"""SEPA Direct Debit mandate, then recurring charges against it (subscriptions)."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.testclient import TestClient

from comptoir.sdk import Money, WebhookRequest
from comptoir_stripe_payments import recurring, webhooks
from comptoir_stripe_payments.client import StripeClient, StripeError
from plugins.stripe_payments.tests.conftest import PLUGIN, WEBHOOK_SECRET
from plugins.stripe_payments.tests.fake_stripe import FakeStripe

IBAN = "DE89370400440532013000"


def mandate(kernel: Any, key: str = "sub-1", iban: str = IBAN) -> recurring.Mandate:
    return recurring.setup_sepa_mandate(StripeClient(kernel.host.context(PLUGIN)), email="lea@example.com",
                                        name="Léa Dubois", key=key, iban=iban, ip_address="203.0.113.7",
                                        user_agent="Mozilla/5.0")


def test_mandate_then_monthly_debits_settle_by_webhook(kernel: Any, fake: FakeStripe) -> None:
    m = mandate(kernel)
    assert m.customer_ref == f"{m.customer}/{m.payment_method}" and m.mandate.startswith("mandate_")
    stored = fake.objects[m.mandate]["customer_acceptance"]["online"]
    assert stored == {"ip_address": "203.0.113.7", "user_agent": "Mozilla/5.0"}  # what the mandate must prove
    assert fake.objects[m.customer]["invoice_settings"]["default_payment_method"] == m.payment_method
    assert mandate(kernel).customer == m.customer  # same key: same customer, not a second one

    first = kernel.host.call_one(PLUGIN, "payment_charge_stored_method", customer_ref=m.customer,
                                 amount=Money(1990, "EUR"), idempotency_key="sub-1-2026-01")
    assert first.status == "pending" and first.message == "processing by the bank"
    create = [r for r in fake.requests if r["path"] == "/v1/payment_intents"][-1]
    assert b"off_session=true" in create["body"] and b"payment_method_types[]=sepa_debit" in create["body"]
    again = kernel.host.call_one(PLUGIN, "payment_charge_stored_method", customer_ref=m.customer,
                                 amount=Money(1990, "EUR"), idempotency_key="sub-1-2026-01")
    assert again.provider_reference == first.provider_reference  # a retried month is not debited twice

    fake.settle(first.provider_reference)
    event = fake.events[-1]
    body = json.dumps(event).encode()
    updates = kernel.host.call_one(PLUGIN, "payment_webhook", request=WebhookRequest(
        headers={"stripe-signature": webhooks.sign(body, WEBHOOK_SECRET, int(time.time()))}, body=body))
    assert [(u.provider_reference, u.status, u.amount) for u in updates] == [
        (first.provider_reference, "captured", Money(1990, "EUR"))]

    second = kernel.host.call_one(PLUGIN, "payment_charge_stored_method", customer_ref=m.customer_ref,
                                  amount=Money(1990, "EUR"), idempotency_key="sub-1-2026-02")
    fake.settle(second.provider_reference, fail=True)
    assert fake.events[-1]["type"] == "payment_intent.payment_failed"
    assert webhooks.normalize(fake.events[-1])[0].status == "failed"


def test_invalid_iban_gives_the_bank_message(kernel: Any) -> None:
    with pytest.raises(StripeError, match="The IBAN you entered is invalid."):
        mandate(kernel, key="bad", iban="FR7630006000011234567890189")


def test_stored_card_needing_authentication_is_declined(kernel: Any, fake: FakeStripe) -> None:
    client = StripeClient(kernel.host.context(PLUGIN))
    cus = client.post("/v1/customers", {"email": "a@example.com"}, idempotency_key="c1")
    result = kernel.host.call_one(PLUGIN, "payment_charge_stored_method",
                                  customer_ref=f"{cus['id']}/pm_card_authenticationRequired",
                                  amount=Money(1500, "EUR"), idempotency_key="renew-1")
    assert result.status == "declined" and "requires authentication" in result.message
    ok = kernel.host.call_one(PLUGIN, "payment_charge_stored_method", customer_ref=f"{cus['id']}/pm_card_visa",
                              amount=Money(1500, "EUR"), idempotency_key="renew-2")
    assert ok.status == "captured"


def test_customer_without_mandate_fails_clearly(kernel: Any) -> None:
    client = StripeClient(kernel.host.context(PLUGIN))
    cus = client.post("/v1/customers", {"email": "b@example.com"}, idempotency_key="c2")
    from comptoir.kernel.errors import PluginError

    with pytest.raises(PluginError, match="has no default payment method"):
        kernel.host.call_one(PLUGIN, "payment_charge_stored_method", customer_ref=cus["id"],
                             amount=Money(1500, "EUR"), idempotency_key="x")


def test_mandate_route(kernel: Any, fake: FakeStripe) -> None:
    routes = kernel.host.call_one(PLUGIN, "web_routes")
    app = Starlette(routes=[Mount(f"/plugins/{PLUGIN}", routes=routes)])
    with TestClient(app) as http:
        ok = http.post(f"/plugins/{PLUGIN}/mandates", json={
            "email": "z@example.com", "name": "Zoé", "iban": IBAN, "key": "route-1", "ip_address": "198.51.100.2",
            "user_agent": "Firefox"})
        assert ok.status_code == 200 and ok.json()["customer_ref"].startswith("cus_")
        bad = http.post(f"/plugins/{PLUGIN}/mandates", json={"email": "z@example.com", "key": "route-2",
                                                             "iban": "XX00", "ip_address": "198.51.100.2"})
        assert bad.status_code == 402 and bad.json()["error"] == "The IBAN you entered is invalid."
        missing = http.post(f"/plugins/{PLUGIN}/mandates", json={"iban": IBAN})
        assert missing.status_code == 422
