"""Cards through the plugin's hooks, inside a real kernel, against the local Stripe."""
from __future__ import annotations

from typing import Any

import pytest

from comptoir.kernel.errors import PluginError
from comptoir.sdk import CartView, Money, PaymentRef, PaymentRequest
from plugins.stripe_payments.tests.conftest import PLUGIN, WEBHOOK_SECRET, connect
from plugins.stripe_payments.tests.fake_stripe import SECRET_KEY, FakeStripe


def authorize(kernel: Any, pm: str = "pm_card_visa", key: str = "pay-k1", amount: int = 4200,
              method: str = "card") -> Any:
    request = PaymentRequest(method_id=method, amount=Money(amount, "EUR"), idempotency_key=key, reference="CK-1",
                             customer_email="camille@example.com", metadata={"payment_method": pm})
    return kernel.host.call_one(PLUGIN, "payment_authorize", request=request)


def ref(result: Any, key: str, amount: int = 4200) -> PaymentRef:
    return PaymentRef("card", result.provider_reference, key, Money(amount, "EUR"))


def journal(kernel: Any) -> list[Any]:
    kernel.host.journal.flush()
    return kernel.host.journal.entries(plugin=PLUGIN, limit=200)


def test_methods_follow_settings_and_currency(kernel: Any) -> None:
    cart = CartView(cart_id=1, currency="EUR", lines=(), subtotal=Money(1000, "EUR"), weight_grams=0)
    assert [(m.id, m.capture) for m in kernel.host.call_one(PLUGIN, "payment_methods", cart=cart)] == [
        ("card", "on_fulfilment")]
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "methods": "card,sepa_debit",
                                   "capture": "immediate"})
    assert [(m.id, m.capture) for m in kernel.host.call_one(PLUGIN, "payment_methods", cart=cart)] == [
        ("card", "immediate"), ("sepa_debit", "immediate")]
    usd = CartView(cart_id=1, currency="USD", lines=(), subtotal=Money(1000, "USD"), weight_grams=0)
    assert [m.id for m in kernel.host.call_one(PLUGIN, "payment_methods", cart=usd)] == ["card"]


def test_authorize_capture_refund(kernel: Any, fake: FakeStripe) -> None:
    result = authorize(kernel)
    assert result.status == "authorized" and result.provider_reference.startswith("pi_")
    assert result.amount == Money(4200, "EUR")
    create, confirm = fake.requests[0], fake.requests[1]
    assert create["path"] == "/v1/payment_intents" and create["headers"]["authorization"] == f"Bearer {SECRET_KEY}"
    assert create["headers"]["content-type"] == "application/x-www-form-urlencoded"
    assert create["headers"]["idempotency-key"] == "pay-k1:create"
    assert b"capture_method=manual" in create["body"] and b"currency=eur" in create["body"]
    assert b"metadata[comptoir_key]=pay-k1" in create["body"]
    assert confirm["path"].endswith("/confirm") and confirm["headers"]["idempotency-key"] == "pay-k1:confirm"

    captured = kernel.host.call_one(PLUGIN, "payment_capture", payment=ref(result, "capture-1"),
                                    amount=Money(4200, "EUR"))
    assert captured.status == "captured" and captured.amount == Money(4200, "EUR")
    again = kernel.host.call_one(PLUGIN, "payment_capture", payment=ref(result, "capture-1"), amount=Money(4200, "EUR"))
    assert again.status == "captured"  # a replayed key gives Stripe's first answer
    assert sum(1 for r in fake.requests if r["path"].endswith("/capture")) == 2
    assert fake.objects[result.provider_reference]["amount_received"] == 4200

    refund = kernel.host.call_one(PLUGIN, "payment_refund", payment=ref(result, "capture-1"),
                                  amount=Money(1200, "EUR"), idempotency_key="refund-1")
    assert refund.status == "refunded" and refund.amount == Money(1200, "EUR")
    with pytest.raises(PluginError, match="greater than unrefunded amount"):
        kernel.host.call_one(PLUGIN, "payment_refund", payment=ref(result, "capture-1"),
                             amount=Money(4000, "EUR"), idempotency_key="refund-2")
    errors = [e for e in journal(kernel) if e.outcome == "error" and e.hook == "payment_refund"]
    assert errors and "greater than unrefunded amount" in errors[0].error  # the merchant sees Stripe's reason


def test_immediate_capture_is_one_step(kernel: Any, fake: FakeStripe) -> None:
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "capture": "immediate"})
    result = authorize(kernel)
    assert result.status == "captured"
    assert b"capture_method=automatic" in fake.requests[0]["body"]
    # The kernel may still call capture: an already succeeded intent answers captured.
    assert kernel.host.call_one(PLUGIN, "payment_capture", payment=ref(result, "c"),
                                amount=Money(4200, "EUR")).status == "captured"


def test_retried_authorization_charges_once(kernel: Any, fake: FakeStripe) -> None:
    first = authorize(kernel, key="pay-same")
    second = authorize(kernel, key="pay-same")
    assert first.provider_reference == second.provider_reference
    assert sum(1 for o in fake.objects.values() if o["object"] == "payment_intent") == 1


@pytest.mark.parametrize("pm,message", [
    ("pm_card_chargeDeclined", "Your card was declined."),
    ("pm_card_chargeDeclinedInsufficientFunds", "Your card has insufficient funds."),
])
def test_decline_is_an_answer_with_the_bank_reason(kernel: Any, pm: str, message: str) -> None:
    result = authorize(kernel, pm=pm)
    assert result.status == "declined" and result.message == message
    assert result.provider_reference.startswith("pi_")


def test_three_d_secure_gives_the_redirect(kernel: Any, fake: FakeStripe) -> None:
    result = authorize(kernel, pm="pm_card_authenticationRequired")
    assert result.status == "pending" and result.next_action_url.startswith(f"{fake.url}/3ds/")
    import httpx

    assert "test-source-authorize-3ds" in httpx.get(result.next_action_url).text  # Stripe's test page
    assert "Authentication done" in httpx.post(result.next_action_url, data={"outcome": "complete"}).text
    assert fake.objects[result.provider_reference]["status"] == "requires_capture"
    assert httpx.get(result.next_action_url).status_code == 404  # one answer per challenge


def test_timeout_is_retried_with_the_same_key(kernel: Any, fake: FakeStripe) -> None:
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "timeout_s": 1, "max_retries": 1})
    fake.slow_next = 1  # the create call outlives the client's timeout, Stripe still runs it
    result = authorize(kernel)
    assert result.status == "authorized"
    creates = [r for r in fake.requests if r["path"] == "/v1/payment_intents"]
    assert len(creates) == 2 and {r["headers"]["idempotency-key"] for r in creates} == {"pay-k1:create"}
    assert sum(1 for o in fake.objects.values() if o["object"] == "payment_intent") == 1
    assert any(e.outcome == "error" and "Timeout" in e.error for e in journal(kernel))


def test_provider_down_fails_visibly(kernel: Any, fake: FakeStripe) -> None:
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "max_retries": 1})
    fake.fail_next = 5
    with pytest.raises(PluginError, match="An unknown error occurred"):
        authorize(kernel)
    fake.fail_next = 1  # one transient failure: the retry goes through
    assert authorize(kernel, key="pay-k2").status == "authorized"


def test_bad_key_message_without_the_key(tmp_path: Any, kernel: Any, fake: FakeStripe) -> None:
    kernel.services["credentials"].store.put(PLUGIN, "secret_key", "api_key", "sk_test_WRONGwrongWRONGwrong")
    with pytest.raises(PluginError) as info:
        authorize(kernel)
    assert "Invalid API Key provided" in str(info.value) and "WRONGwrong" not in str(info.value)
    for entry in journal(kernel):
        assert "WRONGwrong" not in entry.error and SECRET_KEY not in entry.error and WEBHOOK_SECRET not in entry.error


def test_void_finds_the_intent_by_key_after_a_crash(kernel: Any, fake: FakeStripe) -> None:
    result = authorize(kernel, key="pay-crash")
    voided = kernel.host.call_one(PLUGIN, "payment_void",
                                  payment=PaymentRef("card", "", "pay-crash", Money(4200, "EUR")))
    assert voided.status == "voided" and voided.provider_reference == result.provider_reference
    assert fake.objects[result.provider_reference]["status"] == "canceled"
    nothing = kernel.host.call_one(PLUGIN, "payment_void", payment=PaymentRef("card", "", "never", Money(1, "EUR")))
    assert nothing.status == "voided"


def test_host_not_granted_is_denied(plugin_kernel: Any, fake: FakeStripe) -> None:
    import comptoir_stripe_payments.plugin as module
    from plugins.stripe_payments.tests.conftest import MANIFEST

    k = plugin_kernel((module, MANIFEST), name="other")
    connect(k, fake)
    k.services["credentials"].revoke(PLUGIN, [f"host:127.0.0.1:{fake.port}"], "admin")
    with pytest.raises(Exception, match="host"):
        authorize(k)
    assert fake.requests == []
