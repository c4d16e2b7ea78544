"""A local server speaking Stripe's documented REST protocol, for tests.

It checks what a real Stripe checks (Bearer secret key, form-encoded bodies, known
parameters, idempotency keys replayed with the same parameters) and keeps state
(PaymentIntents, customers, SetupIntents, payment methods, refunds), so a capture
after an authorization, a refund after a capture, or a replayed key behave as at
Stripe. Test payment methods follow Stripe's test-mode names (``pm_card_visa``,
``pm_card_chargeDeclined`` …); ``slow_next`` makes the next calls slow, ``fail_next`` makes the
next calls fail with a retryable 500. Every created or changed intent appends the
event Stripe would send to ``events``.

The browser side is Stripe's too: the fake serves Stripe.js at ``/v3/`` (see
``fake_stripe_js``), which confirms an intent with the account's publishable key
(``key=pk_…`` in the form body, no Authorization header) and the intent's
``client_secret``; card numbers decide the outcome as in Stripe's test mode
(``CARD_NUMBERS``), and 4000002500003155 asks for 3-D Secure on the test page at
``/3ds/<token>``. Events go to the endpoints registered with ``/v1/webhook_endpoints``,
signed with each endpoint's secret, from a background thread with retries (see
``fake_stripe_webhooks``); ``deliveries`` lists every attempt.
"""
from __future__ import annotations

import hmac
import itertools
import json
import re
import secrets
import threading
import time
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from comptoir.sdk.testing import ProtocolServer
from plugins.stripe_payments.tests.fake_stripe_js import challenge_done, challenge_page, stripe_js
from plugins.stripe_payments.tests.fake_stripe_webhooks import WebhookEndpoints, WebhookSender

SECRET_KEY = "sk_test_4eC39HqLyjWDarjtT1zdp7dc"
PUBLISHABLE_KEY = "pk_test_TYooMQauvdEDq54NiTphI7jx"  # the pair of SECRET_KEY, as in Stripe's docs
DECLINES = {
    "pm_card_chargeDeclined": ("card_declined", "generic_decline", "Your card was declined."),
    "pm_card_chargeDeclinedInsufficientFunds": ("card_declined", "insufficient_funds",
                                                "Your card has insufficient funds."),
    "pm_card_chargeDeclinedExpiredCard": ("expired_card", "expired_card", "Your card has expired."),
}
GOOD_IBANS = {"DE89370400440532013000", "FR1420041010050500013M02606"}
# Stripe's test card numbers → the test payment method that behaves the same
# (https://stripe.com/docs/testing). Any other valid number is a real card: declined in test mode.
CARD_NUMBERS = {
    "4242424242424242": "pm_card_visa",
    "5555555555554444": "pm_card_mastercard",
    "4000000000000002": "pm_card_chargeDeclined",
    "4000000000009995": "pm_card_chargeDeclinedInsufficientFunds",
    "4000000000000069": "pm_card_chargeDeclinedExpiredCard",
    "4000002500003155": "pm_card_authenticationRequired",
}
LIVE_CARD = ("card_declined", "test_mode_live_card",
             "Your card was declined. Your request was in test mode, but used a non test card.")
# What a publishable key may see of a PaymentIntent (no metadata, no customer), as at Stripe.
PUBLIC_FIELDS = ("id", "object", "amount", "currency", "status", "client_secret", "capture_method",
                 "payment_method", "payment_method_types", "last_payment_error", "next_action", "description",
                 "created", "livemode", "canceled_at", "cancellation_reason")


def decode(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's bracketed form fields → nested dicts and lists."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        parts = key.replace("]", "").split("[")
        node = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt_is_list = not last and parts[i + 1] == ""
            if last:
                node[part] = value
            elif nxt_is_list:
                node.setdefault(part, []).append(value)
                break
            else:
                node = node.setdefault(part, {})
    return out


def luhn(number: str) -> bool:
    """The card number checksum every card network uses."""
    total = 0
    for i, ch in enumerate(reversed(number)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


class StripeError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        self.status, self.body = status, body


def _err(status: int, kind: str, message: str, **extra: Any) -> StripeError:
    return StripeError(status, {"error": {"type": kind, "message": message, **extra}})


class FakeStripe(ProtocolServer):
    """Start with ``start()``; point the plugin's ``api_base`` at ``url``."""

    def __init__(self, secret_key: str = SECRET_KEY, publishable_key: str = PUBLISHABLE_KEY) -> None:
        self.secret_key = secret_key
        self.publishable_key = publishable_key
        self.objects: dict[str, dict[str, Any]] = {}
        self.idem: dict[str, tuple[str, int, bytes]] = {}
        self.requests: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.delay_s = 1.5
        self.slow_next = 0  # how many of the next requests take ``delay_s``
        self.fail_next = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.sender = WebhookSender()
        self.webhooks = WebhookEndpoints(self._id, self.sender)
        self.card_behaviour: dict[str, str] = {}  # payment method made from a card number → test method
        self.challenges: dict[str, tuple[str, str]] = {}  # 3-D Secure token → (intent id, return_url)

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt (endpoint, event, type, attempt, status)."""
        return self.sender.deliveries

    # ---- plumbing: the SDK's ProtocolServer serves; the webhook sender runs beside it ----
    def start(self, port: int = 0) -> "FakeStripe":
        super().start(port)
        self.sender.start()
        return self

    def stop(self) -> None:
        self.sender.stop()
        super().stop()

    def handle(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        status, out, extra = self.answer(method, target, headers, body)
        head = {"Content-Type": "application/json", **extra}
        if not head["Content-Type"].startswith("text/html"):
            head["Access-Control-Allow-Origin"] = "*"  # Stripe.js calls from the shop's origin
        return status, head, out

    def _id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._ids):06d}FAKE"

    def _event(self, kind: str, obj: dict[str, Any]) -> None:
        event = {"id": self._id("evt"), "object": "event", "type": kind, "created": int(time.time()),
                 "livemode": False, "api_version": "2024-06-20", "data": {"object": json.loads(json.dumps(obj))}}
        self.events.append(event)
        self.webhooks.publish(event)

    # ---- request handling ---------------------------------------------------------
    def answer(self, method: str, target: str, headers: dict[str, str], raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        h = {k.lower(): v for k, v in headers.items()}
        split = urlsplit(target)
        self.requests.append({"method": method, "path": split.path, "headers": h, "body": raw})
        if method == "OPTIONS":  # CORS preflight of a browser call
            return 204, b"", {"Access-Control-Allow-Methods": "GET, POST, DELETE",
                              "Access-Control-Allow-Headers": "Content-Type, Stripe-Version", "Access-Control-Max-Age": "600"}
        if not split.path.startswith("/v1/"):
            return self.browser(method, split.path, raw)
        if "authorization" not in h and method in ("GET", "POST"):
            given = dict(parse_qsl(raw.decode() if method == "POST" else split.query, keep_blank_values=True))
            if given.get("key", "").startswith("pk_"):
                return self.publishable(method, split.path, h, raw if method == "POST" else split.query.encode())
        if h.get("authorization") != f"Bearer {self.secret_key}":
            given = h.get("authorization", "").removeprefix("Bearer ")
            return self._json(401, {"error": {"type": "invalid_request_error",
                                              "message": f"Invalid API Key provided: {given[:8]}****"}})
        if method == "POST" and raw and not h.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return self._json(400, {"error": {"type": "invalid_request_error",
                                              "message": "Stripe expects form-encoded request bodies"}})
        params = decode(parse_qsl(raw.decode() if method == "POST" else split.query, keep_blank_values=True))
        key = h.get("idempotency-key", "")
        with self._lock:  # one request at a time, like Stripe's lock on an idempotency key
            if self.slow_next > 0:
                self.slow_next -= 1
                time.sleep(self.delay_s)
            if self.fail_next > 0:
                self.fail_next -= 1  # a transient failure: not recorded under the key, like Stripe
                return self._json(500, {"error": {"type": "api_error", "message": "An unknown error occurred"}},
                                  {"Stripe-Should-Retry": "true"})
            if method == "POST" and key:
                fingerprint = f"{split.path}?{json.dumps(params, sort_keys=True)}"
                if key in self.idem:
                    seen, status, body = self.idem[key]
                    if seen != fingerprint:
                        return self._json(400, {"error": {
                            "type": "idempotency_error",
                            "message": "Keys for idempotent requests can only be used with the same parameters "
                                       f"they were first used with. Try using a key other than '{key}' if you "
                                       "meant to execute a different request."}})
                    return status, body, {"Idempotent-Replayed": "true"}
            try:
                status, obj = 200, self.route(method, split.path, params)
            except StripeError as exc:
                status, obj = exc.status, exc.body
            body = json.dumps(obj).encode()
            if method == "POST" and key:
                self.idem[key] = (f"{split.path}?{json.dumps(params, sort_keys=True)}", status, body)
            return status, body, {"Request-Id": self._id("req")}

    def publishable(self, method: str, path: str, h: dict[str, str], raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        """A call from Stripe.js: the publishable key in the form, and only what a browser
        may do (confirm or read one intent, with its client_secret; make a card method)."""
        if method == "POST" and not h.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            return self._json(400, {"error": {"type": "invalid_request_error",
                                              "message": "Stripe expects form-encoded request bodies"}})
        params = decode(parse_qsl(raw.decode(), keep_blank_values=True))
        key, secret = str(params.pop("key", "")), str(params.pop("client_secret", ""))
        if key != self.publishable_key:
            return self._json(401, {"error": {"type": "invalid_request_error",
                                              "message": f"Invalid API Key provided: {key[:8]}****"}})
        parts = path.strip("/").split("/")[1:]
        with self._lock:
            try:
                if parts == ["payment_methods"] and method == "POST":
                    return self._json(200, self.card_method(params.get("card") or {}))
                read = len(parts) == 2 and method == "GET"
                confirm = len(parts) == 3 and parts[2] == "confirm" and method == "POST"
                if parts[:1] != ["payment_intents"] or not (read or confirm) or parts[1] == "search":
                    raise _err(403, "invalid_request_error", "This API call cannot be made with a publishable API "
                               "key. Please use a secret API key.")
                pi = self._get(parts[1], "payment_intent")
                if not hmac.compare_digest(secret.encode(), str(pi["client_secret"]).encode()):
                    raise _err(400, "invalid_request_error", "The client_secret provided does not match the "
                               "client_secret associated with the PaymentIntent.", param="client_secret")
                return self._json(200, self._public(pi if read else self.confirm(pi, params)))
            except StripeError as exc:
                error = dict(exc.body["error"])
                if "payment_intent" in error:
                    error["payment_intent"] = self._public(error["payment_intent"])
                return self._json(exc.status, {"error": error})

    @staticmethod
    def _public(pi: dict[str, Any]) -> dict[str, Any]:
        return {k: pi.get(k) for k in PUBLIC_FIELDS}

    def browser(self, method: str, path: str, raw: bytes) -> tuple[int, bytes, dict[str, str]]:
        """Stripe.js (``/v3/``) and the 3-D Secure test page (``/3ds/<token>``)."""
        if path in ("/v3", "/v3/") and method == "GET":
            return 200, stripe_js(self.url), {"Content-Type": "application/javascript; charset=utf-8"}
        html = {"Content-Type": "text/html; charset=utf-8"}
        token = path[len("/3ds/"):] if path.startswith("/3ds/") else ""
        with self._lock:
            found = self.challenges.get(token)
            if found is None:
                return 404, b"<!doctype html><p>No such authentication.</p>", html
            pi = self._get(found[0], "payment_intent")
            if method == "GET":
                return 200, challenge_page(pi["amount"], pi["currency"]), html
            outcome = dict(parse_qsl(raw.decode())).get("outcome")
            del self.challenges[token]  # one answer per challenge
            if pi["status"] == "requires_action":
                if outcome == "complete":
                    self._authorized(pi)
                else:
                    pi["status"], pi["next_action"] = "requires_payment_method", None
                    pi["last_payment_error"] = {
                        "type": "invalid_request_error", "code": "payment_intent_authentication_failure",
                        "message": "The provided PaymentMethod has failed authentication. You can provide "
                                   "payment_method_data or a new PaymentMethod to attempt to fulfill this "
                                   "PaymentIntent again."}
                    self._event("payment_intent.payment_failed", pi)
            back = found[1]
            if back:
                status = "succeeded" if pi["status"] in ("succeeded", "requires_capture") else "failed"
                back += ("&" if "?" in back else "?") + urlencode({
                    "payment_intent": pi["id"], "payment_intent_client_secret": pi["client_secret"],
                    "redirect_status": status})
            return 200, challenge_done(back), html

    @staticmethod
    def _json(status: int, obj: dict[str, Any], headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
        return status, json.dumps(obj).encode(), dict(headers or {})

    def _get(self, oid: str, kind: str) -> dict[str, Any]:
        obj = self.objects.get(oid)
        if obj is None or obj["object"] != kind:
            raise _err(404, "invalid_request_error", f"No such {kind}: '{oid}'", code="resource_missing",
                       param="id")
        return obj

    def route(self, method: str, path: str, p: dict[str, Any]) -> dict[str, Any]:
        parts = path.strip("/").split("/")[1:]  # drop "v1"
        if parts == ["payment_intents"] and method == "POST":
            return self.create_intent(p)
        if parts == ["payment_intents", "search"] and method == "GET":
            return self.search(p.get("query", ""))
        if len(parts) == 2 and parts[0] == "payment_intents" and method == "GET":
            return self._get(parts[1], "payment_intent")
        if len(parts) == 3 and parts[0] == "payment_intents" and method == "POST":
            pi = self._get(parts[1], "payment_intent")
            action = {"confirm": self.confirm, "capture": self.capture, "cancel": self.cancel}.get(parts[2])
            if action is None:
                raise _err(404, "invalid_request_error", f"Unrecognized request URL (POST: {path})")
            return action(pi, p)
        if parts == ["refunds"] and method == "POST":
            return self.refund(p)
        if parts == ["customers"] and method == "POST":
            cus = {"id": self._id("cus"), "object": "customer", "email": p.get("email"), "name": p.get("name"),
                   "invoice_settings": {"default_payment_method": None}, "metadata": p.get("metadata", {})}
            self.objects[cus["id"]] = cus
            return cus
        if len(parts) == 2 and parts[0] == "customers":
            cus = self._get(parts[1], "customer")
            if method == "POST":
                default = (p.get("invoice_settings") or {}).get("default_payment_method")
                if default:
                    self._get(default, "payment_method")
                    cus["invoice_settings"]["default_payment_method"] = default
            return cus
        if len(parts) == 2 and parts[0] == "payment_methods" and method == "GET":
            return self.payment_method(parts[1])
        if parts == ["setup_intents"] and method == "POST":
            return self.setup_intent(p)
        if parts == ["payment_methods"] and method == "POST":
            return self.card_method(p.get("card") or {})
        if parts == ["webhook_endpoints"]:
            return self.webhooks.create(p, _err) if method == "POST" else self.webhooks.list(p)
        if len(parts) == 2 and parts[0] == "webhook_endpoints":
            if method == "DELETE":
                return self.webhooks.delete(parts[1], _err)
            if method == "POST":
                return self.webhooks.update(parts[1], p, _err)
            return self.webhooks.get(parts[1], _err)
        raise _err(404, "invalid_request_error", f"Unrecognized request URL ({method}: {path})")

    # ---- objects ------------------------------------------------------------------
    def payment_method(self, pm_id: str, *, kind: str = "card") -> dict[str, Any]:
        """Stripe's test payment methods exist without being created."""
        if pm_id not in self.objects:
            if not (pm_id.startswith("pm_card_") or pm_id.startswith("pm_sepa")):
                raise _err(404, "invalid_request_error", f"No such PaymentMethod: '{pm_id}'",
                           code="resource_missing", param="payment_method")
            kind = "sepa_debit" if pm_id.startswith("pm_sepa") else "card"
            self.objects[pm_id] = {"id": pm_id, "object": "payment_method", "type": kind, "customer": None}
        return self.objects[pm_id]

    def card_method(self, card: dict[str, Any]) -> dict[str, Any]:
        """A card PaymentMethod from raw card details (what Stripe.js sends), checked like Stripe."""
        number = re.sub(r"\D", "", str(card.get("number", "")))
        if len(number) < 13 or not luhn(number):
            raise _err(402, "card_error", "Your card number is incorrect.", code="incorrect_number", param="number")
        try:
            month, year = int(card.get("exp_month", "")), int(card.get("exp_year", ""))
        except ValueError:
            raise _err(402, "card_error", "Your card's expiration month is invalid.", code="invalid_expiry_month",
                       param="exp_month") from None
        year += 2000 if year < 100 else 0
        if not 1 <= month <= 12:
            raise _err(402, "card_error", "Your card's expiration month is invalid.", code="invalid_expiry_month",
                       param="exp_month")
        today = date.today()
        if (year, month) < (today.year, today.month):
            raise _err(402, "card_error", "Your card's expiration year is invalid.", code="invalid_expiry_year",
                       param="exp_year")
        if not re.fullmatch(r"\d{3,4}", str(card.get("cvc", ""))):
            raise _err(402, "card_error", "Your card's security code is invalid.", code="invalid_cvc", param="cvc")
        brand = "visa" if number.startswith("4") else "mastercard" if number[:2] in ("51", "52", "53", "54", "55") \
            else "unknown"
        pm = {"id": self._id("pm"), "object": "payment_method", "type": "card", "customer": None,
              "card": {"brand": brand, "last4": number[-4:], "exp_month": month, "exp_year": year, "funding": "credit"}}
        self.objects[pm["id"]] = pm
        self.card_behaviour[pm["id"]] = CARD_NUMBERS.get(number, "live_card")
        return pm

    def create_intent(self, p: dict[str, Any]) -> dict[str, Any]:
        for field in ("amount", "currency"):
            if field not in p:
                raise _err(400, "invalid_request_error", f"Missing required param: {field}.",
                           code="parameter_missing", param=field)
        if not str(p["amount"]).isdigit() or int(p["amount"]) < 50:
            raise _err(400, "invalid_request_error", "Amount must be at least €0.50 eur", code="amount_too_small",
                       param="amount")
        capture = p.get("capture_method", "automatic")
        if capture not in ("automatic", "automatic_async", "manual"):
            raise _err(400, "invalid_request_error", f"Invalid capture_method: {capture}", param="capture_method")
        pi = {"id": self._id("pi"), "object": "payment_intent", "amount": int(p["amount"]), "currency": p["currency"],
              "capture_method": capture, "status": "requires_payment_method", "amount_capturable": 0,
              "amount_received": 0, "customer": p.get("customer"), "description": p.get("description"),
              "metadata": p.get("metadata", {}), "payment_method": None,
              "payment_method_types": p.get("payment_method_types", ["card"]), "last_payment_error": None,
              "next_action": None, "latest_charge": None, "created": int(time.time()), "livemode": False}
        pi["client_secret"] = f"{pi['id']}_secret_{secrets.token_urlsafe(18).replace('_', 'x')}"
        self.objects[pi["id"]] = pi
        self._event("payment_intent.created", pi)
        if p.get("payment_method"):
            pi["status"] = "requires_confirmation"
            if p.get("confirm") == "true":
                return self.confirm(pi, p)
        return pi

    def confirm(self, pi: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        if pi["status"] not in ("requires_payment_method", "requires_confirmation", "requires_action"):
            raise _err(400, "invalid_request_error", "This PaymentIntent's status is "
                       f"{pi['status']}, it cannot be confirmed.", code="payment_intent_unexpected_state",
                       payment_intent=pi)
        if (p.get("payment_method_data") or {}).get("type") == "card" and not p.get("payment_method"):
            p = {**p, "payment_method": self.card_method(p["payment_method_data"].get("card") or {})["id"]}
        pm_id = p.get("payment_method") or pi["payment_method"]
        if not pm_id:
            raise _err(400, "invalid_request_error", "You must provide a payment_method to confirm.",
                       code="payment_intent_unexpected_state", param="payment_method")
        pm = self.payment_method(pm_id)
        pi["payment_method"] = pm_id
        if pm["type"] not in pi["payment_method_types"]:
            raise _err(400, "invalid_request_error", f"The PaymentMethod provided ({pm['type']}) is not allowed "
                       "for this PaymentIntent.", code="payment_intent_incompatible_payment_method")
        if pm["type"] == "sepa_debit":
            if not pm.get("mandate") and not ((p.get("mandate_data") or {}).get("customer_acceptance")):
                raise _err(400, "invalid_request_error", "A mandate is required to confirm a sepa_debit payment.",
                           code="parameter_missing", param="mandate_data")
            pi["status"] = "processing"
            self._event("payment_intent.processing", pi)
            return pi
        behaves = self.card_behaviour.get(pm_id, pm_id)
        if behaves in DECLINES or behaves == "live_card":
            code, decline, message = DECLINES[behaves] if behaves in DECLINES else LIVE_CARD
            pi["status"] = "requires_payment_method"
            pi["last_payment_error"] = {"type": "card_error", "code": code, "decline_code": decline,
                                        "message": message}
            self._event("payment_intent.payment_failed", pi)
            raise _err(402, "card_error", message, code=code, decline_code=decline, payment_intent=pi)
        if behaves == "pm_card_authenticationRequired":
            if p.get("off_session") == "true":
                pi["status"] = "requires_payment_method"
                raise _err(402, "card_error", "Your card was declined. This transaction requires authentication.",
                           code="authentication_required", decline_code="authentication_required", payment_intent=pi)
            pi["status"] = "requires_action"
            token = secrets.token_urlsafe(12)
            self.challenges[token] = (pi["id"], str(p.get("return_url") or ""))
            url = f"{self.url}/3ds/{token}"
            if p.get("use_stripe_sdk") == "true":  # Stripe.js shows the challenge itself, in a modal
                pi["next_action"] = {"type": "use_stripe_sdk", "use_stripe_sdk": {
                    "type": "three_d_secure_redirect", "stripe_js": url}}
            else:
                pi["next_action"] = {"type": "redirect_to_url", "redirect_to_url": {
                    "url": url, "return_url": p.get("return_url")}}
            self._event("payment_intent.requires_action", pi)
            return pi
        return self._authorized(pi)

    def _authorized(self, pi: dict[str, Any]) -> dict[str, Any]:
        pi["next_action"] = None
        pi["latest_charge"] = self._id("ch")
        if pi["capture_method"] == "manual":
            pi["status"], pi["amount_capturable"] = "requires_capture", pi["amount"]
            self._event("payment_intent.amount_capturable_updated", pi)
        else:
            pi["status"], pi["amount_received"] = "succeeded", pi["amount"]
            self._event("payment_intent.succeeded", pi)
        return pi

    def settle(self, pi_id: str, *, fail: bool = False) -> dict[str, Any]:
        """Test helper: the bank settles (or rejects) a processing SEPA debit."""
        pi = self._get(pi_id, "payment_intent")
        if fail:
            pi["status"] = "requires_payment_method"
            pi["last_payment_error"] = {"type": "card_error", "code": "insufficient_funds",
                                        "message": "The customer's account has insufficient funds to cover this payment."}
            self._event("payment_intent.payment_failed", pi)
        else:
            pi["status"], pi["amount_received"], pi["latest_charge"] = "succeeded", pi["amount"], self._id("py")
            self._event("payment_intent.succeeded", pi)
        return pi

    def capture(self, pi: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        if pi["status"] != "requires_capture":
            raise _err(400, "invalid_request_error", "This PaymentIntent could not be captured because it has a "
                       f"status of {pi['status']}. Only a PaymentIntent with one of the following statuses may be "
                       "captured: requires_capture.", code="payment_intent_unexpected_state", payment_intent=pi)
        amount = int(p.get("amount_to_capture", pi["amount_capturable"]))
        if amount > pi["amount_capturable"]:
            raise _err(400, "invalid_request_error", "The amount to capture exceeds the capturable amount.",
                       code="amount_too_large", param="amount_to_capture")
        pi["status"], pi["amount_received"], pi["amount_capturable"] = "succeeded", amount, 0
        self._event("payment_intent.succeeded", pi)
        return pi

    def cancel(self, pi: dict[str, Any], p: dict[str, Any]) -> dict[str, Any]:
        if pi["status"] in ("succeeded", "canceled", "processing"):
            raise _err(400, "invalid_request_error", "You cannot cancel this PaymentIntent because it has a status "
                       f"of {pi['status']}.", code="payment_intent_unexpected_state", payment_intent=pi)
        pi["status"], pi["amount_capturable"] = "canceled", 0
        pi["cancellation_reason"] = p.get("cancellation_reason")
        self._event("payment_intent.canceled", pi)
        return pi

    def refund(self, p: dict[str, Any]) -> dict[str, Any]:
        pi = self._get(str(p.get("payment_intent", "")), "payment_intent")
        if pi["status"] != "succeeded":
            raise _err(400, "invalid_request_error", f"This PaymentIntent ({pi['id']}) does not have a successful "
                       "charge to refund.", code="charge_not_refundable")
        done = sum(r["amount"] for r in self.objects.values() if r["object"] == "refund"
                   and r["payment_intent"] == pi["id"])
        amount = int(p.get("amount", pi["amount_received"] - done))
        if amount + done > pi["amount_received"]:
            raise _err(400, "invalid_request_error", f"Refund amount ({amount / 100:.2f}) is greater than unrefunded "
                       f"amount on charge ({(pi['amount_received'] - done) / 100:.2f})", code="amount_too_large",
                       param="amount")
        kind = self.objects.get(pi["payment_method"] or "", {}).get("type", "card")
        refund = {"id": self._id("re"), "object": "refund", "amount": amount, "currency": pi["currency"],
                  "payment_intent": pi["id"], "status": "pending" if kind == "sepa_debit" else "succeeded",
                  "metadata": p.get("metadata", {})}
        self.objects[refund["id"]] = refund
        self._event("charge.refunded", {"id": pi["latest_charge"], "object": "charge", "payment_intent": pi["id"],
                                        "amount_refunded": amount + done, "currency": pi["currency"]})
        return refund

    def search(self, query: str) -> dict[str, Any]:
        prefix = "metadata['comptoir_key']:'"
        if not (query.startswith(prefix) and query.endswith("'")):
            raise _err(400, "invalid_request_error", f"Unsupported search query: {query}")
        key = query[len(prefix):-1]
        data = [o for o in self.objects.values() if o["object"] == "payment_intent"
                and o["metadata"].get("comptoir_key") == key]
        return {"object": "search_result", "data": data, "has_more": False}

    def setup_intent(self, p: dict[str, Any]) -> dict[str, Any]:
        cus = self._get(str(p.get("customer", "")), "customer")
        if p.get("payment_method"):
            pm = self.payment_method(p["payment_method"])
        else:
            data = p.get("payment_method_data") or {}
            iban = str((data.get("sepa_debit") or {}).get("iban", "")).replace(" ", "")
            if iban not in GOOD_IBANS:
                seti = {"id": self._id("seti"), "object": "setup_intent", "status": "requires_payment_method",
                        "customer": cus["id"], "payment_method": None, "mandate": None,
                        "last_setup_error": {"code": "invalid_bank_account_iban",
                                             "message": "The IBAN you entered is invalid."}}
                raise _err(400, "invalid_request_error", "The IBAN you entered is invalid.",
                           code="invalid_bank_account_iban", param="payment_method_data[sepa_debit][iban]",
                           setup_intent=seti)
            pm = {"id": self._id("pm"), "object": "payment_method", "type": "sepa_debit",
                  "sepa_debit": {"last4": iban[-4:], "country": iban[:2]}}
            self.objects[pm["id"]] = pm
        online = ((p.get("mandate_data") or {}).get("customer_acceptance") or {}).get("online") or {}
        if pm["type"] == "sepa_debit" and not online.get("ip_address"):
            raise _err(400, "invalid_request_error", "mandate_data[customer_acceptance][online][ip_address] is "
                       "required for sepa_debit.", code="parameter_missing")
        mandate = {"id": self._id("mandate"), "object": "mandate", "status": "active", "type": "multi_use",
                   "payment_method": pm["id"], "customer_acceptance": p["mandate_data"]["customer_acceptance"]}
        self.objects[mandate["id"]] = mandate
        pm["customer"], pm["mandate"] = cus["id"], mandate["id"]
        return {"id": self._id("seti"), "object": "setup_intent", "status": "succeeded", "customer": cus["id"],
                "payment_method": pm["id"], "mandate": mandate["id"], "usage": p.get("usage", "off_session")}
