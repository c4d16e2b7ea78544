"""Webhook endpoints of the local fake Stripe, and the thread that delivers to them.

Like Stripe (https://stripe.com/docs/api/webhook_endpoints, https://stripe.com/docs/webhooks):
an endpoint has a url and the ``enabled_events`` it wants (``*`` for all); its signing
secret (``whsec_…``) is returned once, by the creation call. Each event is POSTed as JSON
to every enabled endpoint that wants its type, signed ``Stripe-Signature: t=<unix>,v1=<hex>``
where ``v1`` is HMAC-SHA256 of ``"<t>.<body>"`` keyed with that endpoint's secret (written
here independently of the plugin's verifier, so the tests prove the two agree). A delivery
that does not get a 2xx answer is retried later, re-signed with a fresh timestamp; Stripe
retries for three days, the fake after ``retry_delays`` seconds.
"""
from __future__ import annotations

import hashlib
import heapq
import hmac
import itertools
import json
import secrets
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Callable

# The event types this fake can send, and so the ones an endpoint may ask for.
KNOWN_EVENTS = (
    "payment_intent.created", "payment_intent.processing", "payment_intent.requires_action",
    "payment_intent.amount_capturable_updated", "payment_intent.succeeded", "payment_intent.payment_failed",
    "payment_intent.canceled", "charge.refunded",
)


def signature(payload: bytes, secret: str, timestamp: int) -> str:
    """The ``Stripe-Signature`` header value for one delivery."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


@dataclass(order=True)
class _Job:
    due: float
    seq: int
    endpoint_id: str = field(compare=False)
    url: str = field(compare=False)
    event: dict[str, Any] = field(compare=False)
    signed: Callable[[bytes], dict[str, str]] = field(compare=False)  # body → the provider's signature headers
    attempt: int = field(default=1, compare=False)


class WebhookSender:
    """Delivers events from one background thread, in the order they happened, with retries.

    Provider-neutral: each delivery brings the function that signs its body the way its
    provider does (Stripe's ``Stripe-Signature``, PayPal's transmission headers), called
    again at every attempt.

    ``deliveries`` records every attempt: endpoint, event id and type, attempt number, the
    HTTP status the shop answered (0 when it could not be reached) and the time.
    """

    def __init__(self, retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0, 2.0, 4.0), timeout_s: float = 10.0) -> None:
        self.retry_delays = retry_delays
        self.timeout_s = timeout_s
        self.deliveries: list[dict[str, Any]] = []
        self._heap: list[_Job] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._busy = 0
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="fake-stripe-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def enqueue(self, endpoint_id: str, url: str, event: dict[str, Any],
                signed: Callable[[bytes], dict[str, str]]) -> None:
        """Deliver ``event`` (already a snapshot) to one endpoint as soon as possible."""
        with self._cond:
            heapq.heappush(self._heap, _Job(time.monotonic(), next(self._seq), endpoint_id, url, event, signed))
            self._cond.notify_all()

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Wait until nothing is queued, retrying or in flight; False on timeout."""
        deadline = time.monotonic() + timeout_s
        with self._cond:
            while self._heap or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and (not self._heap or self._heap[0].due > time.monotonic()):
                    self._cond.wait(None if not self._heap else max(0.0, self._heap[0].due - time.monotonic()))
                if self._stopping:
                    return
                job = heapq.heappop(self._heap)
                self._busy += 1
            status, error = self._post(job)
            with self._cond:
                kind = job.event.get("type") or job.event.get("event_type")  # Stripe's name, PayPal's
                self.deliveries.append({"endpoint": job.endpoint_id, "url": job.url, "event": job.event["id"],
                                        "type": kind, "attempt": job.attempt, "status": status,
                                        "error": error, "at": time.time()})
                if not 200 <= status < 300 and job.attempt <= len(self.retry_delays):
                    job.due = time.monotonic() + self.retry_delays[job.attempt - 1]
                    job.attempt += 1
                    job.seq = next(self._seq)
                    heapq.heappush(self._heap, job)
                self._busy -= 1
                self._cond.notify_all()

    def _post(self, job: _Job) -> tuple[int, str]:
        body = json.dumps(job.event).encode()
        request = urllib.request.Request(job.url, data=body, method="POST", headers={
            "Content-Type": "application/json; charset=utf-8", **job.signed(body)})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                return int(answer.status), ""
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.reason if isinstance(exc.reason, str) else ""
        except (OSError, ValueError) as exc:  # refused, timed out, unreachable
            return 0, type(exc).__name__


class WebhookEndpoints:
    """The ``/v1/webhook_endpoints`` resource of one fake account."""

    def __init__(self, new_id: Any, sender: WebhookSender) -> None:
        self._new_id = new_id
        self.sender = sender
        self.endpoints: dict[str, dict[str, Any]] = {}
        self._secrets: dict[str, str] = {}

    def create(self, p: dict[str, Any], error: Any) -> dict[str, Any]:
        url = str(p.get("url") or "")
        if not url.startswith(("https://", "http://")):
            raise error(400, "invalid_request_error", f"Invalid URL: {url or 'missing'}. URLs must begin with "
                        "http:// or https://", param="url")
        events = self._events(p, error)
        we = {"id": self._new_id("we"), "object": "webhook_endpoint", "url": url, "enabled_events": events,
              "status": "enabled", "description": p.get("description"), "api_version": p.get("api_version"),
              "metadata": p.get("metadata", {}), "livemode": False, "created": int(time.time())}
        self.endpoints[we["id"]] = we
        self._secrets[we["id"]] = "whsec_" + secrets.token_hex(16)
        return {**we, "secret": self._secrets[we["id"]]}  # the only time Stripe shows it

    def list(self, p: dict[str, Any]) -> dict[str, Any]:
        limit = int(p.get("limit") or 10)
        data = list(self.endpoints.values())
        return {"object": "list", "url": "/v1/webhook_endpoints", "data": data[:limit], "has_more": len(data) > limit}

    def get(self, we_id: str, error: Any) -> dict[str, Any]:
        we = self.endpoints.get(we_id)
        if we is None:
            raise error(404, "invalid_request_error", f"No such webhook endpoint: '{we_id}'", code="resource_missing",
                        param="id")
        return we

    def update(self, we_id: str, p: dict[str, Any], error: Any) -> dict[str, Any]:
        we = self.get(we_id, error)
        if "enabled_events" in p:
            we["enabled_events"] = self._events(p, error)
        if "url" in p:
            we["url"] = str(p["url"])
        if "disabled" in p:
            we["status"] = "disabled" if p["disabled"] == "true" else "enabled"
        return we

    def delete(self, we_id: str, error: Any) -> dict[str, Any]:
        self.get(we_id, error)
        del self.endpoints[we_id]
        del self._secrets[we_id]
        return {"id": we_id, "object": "webhook_endpoint", "deleted": True}

    def publish(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for every enabled endpoint that wants its type."""
        for we in self.endpoints.values():
            if we["status"] == "enabled" and ("*" in we["enabled_events"] or event["type"] in we["enabled_events"]):
                secret = self._secrets[we["id"]]
                self.sender.enqueue(we["id"], we["url"], event, lambda body, key=secret: {
                    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
                    "Stripe-Signature": signature(body, key, int(time.time()))})

    @staticmethod
    def _events(p: dict[str, Any], error: Any) -> list[str]:
        events = p.get("enabled_events")
        if not isinstance(events, list) or not events:
            raise error(400, "invalid_request_error", "Missing required param: enabled_events.",
                        code="parameter_missing", param="enabled_events")
        for i, kind in enumerate(events):
            if kind != "*" and kind not in KNOWN_EVENTS:
                raise error(400, "invalid_request_error", f"Invalid enabled_events[{i}]: must be one of *, "
                            + ", ".join(KNOWN_EVENTS), param=f"enabled_events[{i}]")
        return [str(e) for e in events]
