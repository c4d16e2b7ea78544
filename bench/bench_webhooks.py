"""Webhook handling cost: Stripe signature check + normalisation (pure CPU), and the
kernel's apply_update (one transaction: receipt, payment row, outbox event) on SQLite.

Run: .venv/bin/python bench/bench_webhooks.py [events]
Prints median and p99 per event, and the rate.
"""
from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from comptoir.kernel.domain import Order, PaymentTransaction
from comptoir.kernel.money import Money
from comptoir.kernel.services.webhooks import apply_update
from comptoir.kernel.types import PaymentStatusUpdate
from comptoir.sdk.testing import build_test_kernel
from comptoir_stripe_payments import webhooks


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


def report(name: str, us: list[float]) -> None:
    total = sum(us) / 1e6
    print(f"{name:<38} n={len(us):>6}  median {statistics.median(us):8.1f} µs  p99 {pct(us, 0.99):8.1f} µs"
          f"  {len(us) / total:9.0f}/s")


def main(n: int) -> None:
    secret = "whsec_bench_0123456789abcdef"
    event = {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {
        "id": "pi_1", "amount": 4200, "amount_received": 4200, "currency": "eur", "metadata": {"k": "v" * 200}}}}
    body = json.dumps(event).encode()
    header = webhooks.sign(body, secret, int(time.time()))
    cpu = []
    for _ in range(n):
        t0 = time.perf_counter_ns()
        webhooks.normalize(webhooks.verify(body, header, secret))
        cpu.append((time.perf_counter_ns() - t0) / 1000)
    report("stripe verify + normalise", cpu)

    with tempfile.TemporaryDirectory() as tmp:
        kernel = build_test_kernel(Path(tmp) / "shop", demo=False)
        payments = n // 4
        with kernel.factory() as s, s.begin():  # one paid order per payment, as in a real shop
            for i in range(payments):
                order = Order(reference=f"CK-{i}", email="b@example.com", currency="EUR", subtotal=4200,
                              total=4200, status="paid")
                s.add(order)
                s.flush()
                s.add(PaymentTransaction(order_id=order.id, plugin="stripe-payments", method="card", kind="capture",
                                         status="captured", amount=4200, currency="EUR", provider_reference=f"pi_{i}",
                                         idempotency_key=f"bench-capture-{i}"))
        applied, dup = [], []
        for i in range(payments):
            update = PaymentStatusUpdate(f"pi_{i}", "refunded", f"evt_{i}", Money(100, "EUR"))
            t0 = time.perf_counter_ns()
            assert apply_update(kernel, "stripe-payments", update).outcome == "applied"
            applied.append((time.perf_counter_ns() - t0) / 1000)
            t0 = time.perf_counter_ns()
            assert apply_update(kernel, "stripe-payments", update).outcome == "duplicate"
            dup.append((time.perf_counter_ns() - t0) / 1000)
        kernel.close()
    report("apply_update, new event (SQLite)", applied)
    report("apply_update, repeated event (SQLite)", dup)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 8000)
