"""Stripe delivering to the shop's /webhooks/stripe-payments endpoint (kernel.web.webhooks)."""
from __future__ import annotations

import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

from comptoir.kernel.web import webhooks as endpoint
from comptoir_stripe_payments import webhooks
from plugins.stripe_payments.tests.conftest import WEBHOOK_SECRET
from plugins.stripe_payments.tests.fake_stripe import FakeStripe


def test_deliveries_to_the_endpoint(kernel: Any, fake: FakeStripe) -> None:
    app = Starlette(routes=endpoint.routes)
    app.state.kernel = kernel
    event = {"id": "evt_9", "type": "payment_intent.succeeded", "data": {"object": {
        "id": "pi_nobody", "amount": 100, "amount_received": 100, "currency": "eur"}}}
    body = json.dumps(event).encode()
    with TestClient(app) as http:
        ok = http.post("/webhooks/stripe-payments", content=body, headers={
            "Stripe-Signature": webhooks.sign(body, WEBHOOK_SECRET, int(time.time())),
            "Content-Type": "application/json"})
        assert ok.status_code == 200
        assert ok.json() == {"events": [{"id": "evt_9", "status": "captured", "outcome": "unknown"}]}
        again = http.post("/webhooks/stripe-payments", content=body, headers={
            "Stripe-Signature": webhooks.sign(body, WEBHOOK_SECRET, int(time.time()))})
        assert again.json()["events"][0]["outcome"] == "duplicate"
        forged = http.post("/webhooks/stripe-payments", content=body, headers={
            "Stripe-Signature": webhooks.sign(body, "whsec_forged", int(time.time()))})
        assert forged.status_code == 400 and "whsec" not in forged.text
        assert http.post("/webhooks/nobody", content=b"{}").status_code == 404
        assert http.post("/webhooks/stripe-payments", content=b"x" * 1_000_001).status_code == 413
