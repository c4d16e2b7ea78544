"""PayPal Checkout through the plugin's hooks, inside a real kernel, against the local PayPal."""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from comptoir.kernel.errors import PluginError
from comptoir.sdk import CartView, Money, PaymentRef, PaymentRequest, WebhookRequest
from comptoir_paypal_checkout import client as paypal_client
from comptoir_paypal_checkout.client import from_value, to_value
from plugins.paypal_checkout.tests.conftest import PLUGIN
from plugins.paypal_checkout.tests.fake_paypal import CLIENT_ID, CLIENT_SECRET, FakePayPal


def authorize(kernel: Any, key: str = "pay-1", amount: int = 4250) -> Any:
    return kernel.host.call_one(PLUGIN, "payment_authorize", request=PaymentRequest(
        method_id="paypal", amount=Money(amount, "EUR"), idempotency_key=key, reference="CK-7",
        customer_email="noe@example.com", return_url="https://shop.example/return"))


def deliver(kernel: Any, fake: FakePayPal, event: dict[str, Any]) -> Any:
    return kernel.host.call_one(PLUGIN, "payment_webhook", request=WebhookRequest(
        headers=fake.delivery_headers(event), body=json.dumps(event).encode()))


def ref(order_id: str, key: str = "capture-1", amount: int = 4250) -> PaymentRef:
    return PaymentRef("paypal", order_id, key, Money(amount, "EUR"))


def test_amounts_are_exact_decimal_strings() -> None:
    assert to_value(Money(4250, "EUR")) == {"currency_code": "EUR", "value": "42.50"}
    assert to_value(Money(5, "EUR")) == {"currency_code": "EUR", "value": "0.05"}
    assert to_value(Money(4250, "JPY")) == {"currency_code": "JPY", "value": "4250"}
    assert from_value({"currency_code": "EUR", "value": "19.99"}) == Money(1999, "EUR")


def test_methods(kernel: Any) -> None:
    eur = CartView(cart_id=1, currency="EUR", lines=(), subtotal=Money(100, "EUR"), weight_grams=0)
    assert [(m.id, m.capture) for m in kernel.host.call_one(PLUGIN, "payment_methods", cart=eur)] == [
        ("paypal", "on_fulfilment")]
    xof = CartView(cart_id=1, currency="XOF", lines=(), subtotal=Money(100, "XOF"), weight_grams=0)
    assert kernel.host.call_one(PLUGIN, "payment_methods", cart=xof) == []


def test_approve_authorize_capture_refund(kernel: Any, fake: FakePayPal) -> None:
    result = authorize(kernel)
    assert result.status == "pending" and result.next_action_url.endswith(f"token={result.provider_reference}")
    token_call, create = fake.requests[0], fake.requests[1]
    assert token_call["headers"]["authorization"] == "Basic " + base64.b64encode(
        f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    assert create["headers"]["authorization"].startswith("Bearer A21AA")
    assert create["headers"]["paypal-request-id"] == "pay-1"
    body = json.loads(create["body"])
    assert body["intent"] == "AUTHORIZE" and body["purchase_units"][0]["amount"] == {
        "currency_code": "EUR", "value": "42.50"}

    with pytest.raises(PluginError, match="not approved the payment yet"):
        kernel.host.call_one(PLUGIN, "payment_capture", payment=ref(result.provider_reference),
                             amount=Money(4250, "EUR"))
    fake.approve(result.provider_reference)
    approved = fake.events[-1]
    updates = deliver(kernel, fake, approved)
    assert [(u.provider_reference, u.status, u.amount) for u in updates] == [
        (result.provider_reference, "authorized", Money(4250, "EUR"))]
    assert deliver(kernel, fake, approved) == updates  # a repeat authorizes nothing twice
    assert len(fake.auths) == 1

    captured = kernel.host.call_one(PLUGIN, "payment_capture", payment=ref(result.provider_reference),
                                    amount=Money(4250, "EUR"))
    assert captured.status == "captured" and captured.amount == Money(4250, "EUR")
    refund = kernel.host.call_one(PLUGIN, "payment_refund", payment=ref(result.provider_reference),
                                  amount=Money(1000, "EUR"), idempotency_key="refund-1")
    assert refund.status == "refunded" and refund.amount == Money(1000, "EUR")
    with pytest.raises(PluginError, match="REFUND_AMOUNT_EXCEEDED"):
        kernel.host.call_one(PLUGIN, "payment_refund", payment=ref(result.provider_reference),
                             amount=Money(4000, "EUR"), idempotency_key="refund-2")

    kinds = [e["event_type"] for e in fake.events]
    assert kinds[-2:] == ["PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.REFUNDED"]
    # later events, in any order, all name the PayPal order the kernel knows
    later = [u for e in reversed(fake.events[1:]) for u in deliver(kernel, fake, e)]
    assert {u.provider_reference for u in later} == {result.provider_reference}
    assert [u.status for u in later] == ["refunded", "captured", "authorized"]


def test_capture_intent_and_declined_instrument(kernel: Any, fake: FakePayPal) -> None:
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "intent": "CAPTURE"})
    ok = authorize(kernel, key="a")
    fake.approve(ok.provider_reference)
    assert [u.status for u in deliver(kernel, fake, fake.events[-1])] == ["captured"]
    bad = authorize(kernel, key="b")
    fake.approve(bad.provider_reference, decline=True)
    assert [u.status for u in deliver(kernel, fake, fake.events[-1])] == ["declined"]


def test_void_releases_the_authorization(kernel: Any, fake: FakePayPal) -> None:
    result = authorize(kernel)
    fake.approve(result.provider_reference)
    deliver(kernel, fake, fake.events[-1])
    voided = kernel.host.call_one(PLUGIN, "payment_void", payment=ref(result.provider_reference))
    assert voided.status == "voided" and fake.events[-1]["event_type"] == "PAYMENT.AUTHORIZATION.VOIDED"
    assert [u.status for u in deliver(kernel, fake, fake.events[-1])] == ["voided"]
    never = kernel.host.call_one(PLUGIN, "payment_void", payment=ref(authorize(kernel, key="z").provider_reference))
    assert never.status == "voided" and never.message == "nothing was authorized at PayPal"


def test_forged_or_foreign_webhooks_are_refused(kernel: Any, fake: FakePayPal) -> None:
    result = authorize(kernel)
    fake.approve(result.provider_reference)
    event = fake.events[-1]
    headers = fake.delivery_headers(event)
    forged = {**event, "id": "WH-FORGED"}  # signed headers of another event
    with pytest.raises(PluginError, match="did not verify"):
        kernel.host.call_one(PLUGIN, "payment_webhook", request=WebhookRequest(
            headers=headers, body=json.dumps(forged).encode()))
    with pytest.raises(PluginError, match="did not verify"):
        kernel.host.call_one(PLUGIN, "payment_webhook", request=WebhookRequest(
            headers=fake.delivery_headers(event, webhook_id="OTHER-HOOK"), body=json.dumps(event).encode()))
    with pytest.raises(PluginError, match="missing header"):
        kernel.host.call_one(PLUGIN, "payment_webhook", request=WebhookRequest(headers={}, body=b"{}"))
    assert fake.auths == {}  # nothing was authorized on a forged delivery


def test_timeout_and_outage_are_retried_with_the_same_request_id(kernel: Any, fake: FakePayPal) -> None:
    authorize(kernel, key="warm")  # fetch a token first
    fake.slow_next = 1
    result = authorize(kernel, key="slow")
    creates = [r for r in fake.requests if r["path"] == "/v2/checkout/orders" and
               r["headers"].get("paypal-request-id") == "slow"]
    assert len(creates) == 2 and result.status == "pending"
    assert len(fake.orders) == 2  # "warm" and "slow": the retry was replayed, not created again
    fake.fail_next = 1
    assert authorize(kernel, key="after-outage").status == "pending"
    fake.fail_next = 10
    with pytest.raises(PluginError, match="Service Unavailable"):
        authorize(kernel, key="down")


def test_expired_token_is_renewed_once(kernel: Any, fake: FakePayPal) -> None:
    authorize(kernel, key="one")
    fake.tokens.clear()  # PayPal forgot every token (expiry, revocation)
    assert authorize(kernel, key="two").status == "pending"
    assert sum(1 for r in fake.requests if r["path"] == "/v1/oauth2/token") == 2


def test_wrong_app_secret_says_so_without_the_secret(kernel: Any, fake: FakePayPal) -> None:
    paypal_client._tokens.clear()
    kernel.services["credentials"].store.put(PLUGIN, "client", "password", "WRONG-secret-0123456789")
    with pytest.raises(PluginError, match="Client Authentication failed") as info:
        authorize(kernel)
    assert "WRONG-secret" not in str(info.value)
    kernel.host.journal.flush()
    assert all("WRONG-secret" not in e.error for e in kernel.host.journal.entries(plugin=PLUGIN, limit=100))
