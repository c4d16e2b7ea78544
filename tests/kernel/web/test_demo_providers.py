"""The demo's sandbox providers: the plugins' local protocol servers, started for a
serving ``comptoir demo`` so a newcomer can connect Stripe and Colissimo."""
from __future__ import annotations

from typing import Iterator

import httpx
import pytest

from comptoir.kernel.web import demo_providers


@pytest.fixture
def started() -> Iterator[list[str]]:
    try:
        yield list(demo_providers.start(force=True))
    finally:
        demo_providers.stop()


def test_not_started_unless_the_demo_serves() -> None:
    assert list(demo_providers.start()) == []  # no `comptoir demo` serving in this process


def test_switched_off_by_the_operator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMPTOIR_DEMO_PROVIDERS", "0")
    assert list(demo_providers.start(force=True)) == []


def test_stripe_and_colissimo_answer_with_the_printed_keys(started: list[str]) -> None:
    text = "\n".join(started)
    stripe_url = next(ln.split(": ", 1)[1] for ln in started if ln.strip().startswith("Stripe:"))
    key = text.split("connect: secret key ", 1)[1].split()[0]
    answer = httpx.post(f"{stripe_url}/v1/payment_intents", headers={"Authorization": f"Bearer {key}"},
                        data={"amount": 1200, "currency": "eur", "payment_method_types[]": "card"})
    assert answer.status_code == 200 and answer.json()["object"] == "payment_intent"
    assert httpx.post(f"{stripe_url}/v1/payment_intents", headers={"Authorization": "Bearer sk_test_wrong"},
                      data={"amount": 1, "currency": "eur"}).status_code == 401
    assert "Colissimo: http://127.0.0.1:" in text and "Okapi key" in text
    again = list(demo_providers.start(force=True))  # a second call reuses the running servers
    assert again == started
