"""Stripe webhooks: signature scheme, tolerance, normalisation, repeats and disorder."""
from __future__ import annotations

import json
import time
from typing import Any

import pytest

from comptoir.kernel.errors import PluginError, ScopeDenied
from comptoir.sdk import Money, PaymentRequest, WebhookRequest
from comptoir_stripe_payments import webhooks
from plugins.stripe_payments.tests.conftest import PLUGIN, WEBHOOK_SECRET
from plugins.stripe_payments.tests.fake_stripe import FakeStripe


def deliver(kernel: Any, event: dict[str, Any], *, secret: str = WEBHOOK_SECRET, at: int | None = None) -> Any:
    body = json.dumps(event).encode()
    header = webhooks.sign(body, secret, int(time.time()) if at is None else at)
    return kernel.host.call_one(PLUGIN, "payment_webhook",
                                request=WebhookRequest(headers={"Stripe-Signature": header}, body=body))


def test_signature_scheme_matches_stripe_documentation() -> None:
    body = b'{"id":"evt_1","type":"payment_intent.succeeded"}'
    # HMAC-SHA256 of "<t>.<body>" with the whole signing secret as key, hex encoded.
    import hashlib
    import hmac

    expected = hmac.new(b"whsec_abc", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert webhooks.sign(body, "whsec_abc", 1700000000) == f"t=1700000000,v1={expected}"
    header = f"t=1700000000,v1={'0' * 64},v1={expected},v0=ignored"  # secret being rolled: any v1 matches
    assert webhooks.verify(body, header, "whsec_abc", now=1700000100)["id"] == "evt_1"
    with pytest.raises(webhooks.SignatureError, match="tolerance"):
        webhooks.verify(body, header, "whsec_abc", now=1700000000 + 301)
    with pytest.raises(webhooks.SignatureError, match="does not match"):
        webhooks.verify(body + b" ", header, "whsec_abc", now=1700000000)
    with pytest.raises(webhooks.SignatureError, match="malformed"):
        webhooks.verify(body, "v1=abc", "whsec_abc")


def test_events_of_a_payment_normalised(kernel: Any, fake: FakeStripe) -> None:
    request = PaymentRequest(method_id="card", amount=Money(2500, "EUR"), idempotency_key="k", reference="CK-2",
                             metadata={"payment_method": "pm_card_visa"})
    result = kernel.host.call_one(PLUGIN, "payment_authorize", request=request)
    from comptoir.sdk import PaymentRef

    ref = PaymentRef("card", result.provider_reference, "cap", Money(2500, "EUR"))
    kernel.host.call_one(PLUGIN, "payment_capture", payment=ref, amount=Money(2500, "EUR"))
    kernel.host.call_one(PLUGIN, "payment_refund", payment=ref, amount=Money(500, "EUR"), idempotency_key="r1")
    got = [u for event in fake.events for u in deliver(kernel, event)]
    assert [(u.status, u.amount) for u in got] == [
        ("authorized", Money(2500, "EUR")), ("captured", Money(2500, "EUR")), ("refunded", Money(500, "EUR"))]
    assert all(u.provider_reference == result.provider_reference for u in got)
    assert len({u.event_id for u in got}) == 3


def test_repeat_and_disorder_keep_event_ids(kernel: Any, fake: FakeStripe) -> None:
    """The kernel applies each event id once and never moves a payment backwards; the
    plugin's part is to give the same, stable answer for a repeated delivery."""
    request = PaymentRequest(method_id="card", amount=Money(900, "EUR"), idempotency_key="k9", reference="CK-9",
                             metadata={"payment_method": "pm_card_visa"})
    kernel.host.configure(PLUGIN, {**kernel.host.records[PLUGIN].settings, "capture": "immediate"})
    kernel.host.call_one(PLUGIN, "payment_authorize", request=request)
    events = list(reversed(fake.events)) + [fake.events[-1]]  # newest first, then the last one again
    answers = [deliver(kernel, e) for e in events]
    assert answers[0] == answers[-1]
    assert [a[0].status for a in answers if a] == ["captured", "captured"]


def test_forged_stale_or_unapproved_webhooks_are_refused(kernel: Any, fake: FakeStripe) -> None:
    event = {"id": "evt_x", "type": "payment_intent.succeeded", "data": {"object": {
        "id": "pi_x", "amount": 100, "amount_received": 100, "currency": "eur"}}}
    with pytest.raises(PluginError, match="does not match"):
        deliver(kernel, event, secret="whsec_forged")
    with pytest.raises(PluginError, match="tolerance"):
        deliver(kernel, event, at=int(time.time()) - 3600)
    assert deliver(kernel, event)[0].status == "captured"
    kernel.services["credentials"].revoke(PLUGIN, ["raw:webhook_secret"], "admin")
    with pytest.raises(ScopeDenied):
        deliver(kernel, event)
    kernel.host.journal.flush()
    for entry in kernel.host.journal.entries(plugin=PLUGIN, limit=50):
        assert WEBHOOK_SECRET not in entry.error
