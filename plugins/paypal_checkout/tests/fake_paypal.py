"""A local server speaking PayPal's REST protocol (OAuth2 token, Orders v2, Payments v2,
webhook verification), with state, for tests.

It checks the Basic credentials on the token call, the Bearer token elsewhere,
JSON bodies, amounts with the currency's decimals, and replays a repeated
``PayPal-Request-Id``. ``approve(order_id)`` plays the buyer on PayPal's page.
Webhook signatures are an HMAC of PayPal's documented transmission fields under a key
only the fake knows (PayPal uses a certificate; what matters here is that only
"PayPal" can produce one and only its verify endpoint can check it).

The buyer's side is served too: the order's ``payer-action`` link opens the fake's
approval page (``/checkoutnow?token=<order id>``), where "Pay Now" approves the order
and goes back to the order's ``return_url`` with ``token`` and ``PayerID`` (or says
the window can be closed when there is none), "Cancel" goes to ``cancel_url``.
Webhooks registered with ``/v1/notifications/webhooks`` receive each event, signed,
from a background thread with retries (``deliveries`` lists every attempt).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import secrets
import threading
import time
import zlib
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from comptoir.sdk.testing import ProtocolServer
from plugins.stripe_payments.tests.fake_stripe_webhooks import WebhookSender  # provider-neutral

CLIENT_ID = "AeA1QIZXiflr1_-r0U2UbWTziOWX1GRQer5"
CLIENT_SECRET = "EJ3bnXaVm1vJ2yCm4rFl6rXgTy7gK9pQ"
WEBHOOK_ID = "8PT597110X687430LKGECATA"


class Fail(Exception):
    def __init__(self, status: int, name: str, message: str, issue: str = "", description: str = "") -> None:
        self.status = status
        self.body: dict[str, Any] = {"name": name, "message": message, "debug_id": secrets.token_hex(6)}
        if issue:
            self.body["details"] = [{"issue": issue, "description": description}]


def _unprocessable(issue: str, description: str) -> Fail:
    return Fail(422, "UNPROCESSABLE_ENTITY", "The requested action could not be performed, semantically incorrect, "
                "or failed business validation.", issue, description)


class FakePayPal(ProtocolServer):
    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.orders: dict[str, dict[str, Any]] = {}
        self.auths: dict[str, tuple[str, dict[str, Any]]] = {}
        self.captures: dict[str, tuple[str, dict[str, Any]]] = {}
        self.idem: dict[str, tuple[int, bytes]] = {}
        self.requests: list[dict[str, Any]] = []
        self.events: list[dict[str, Any]] = []
        self.declined: set[str] = set()
        self.slow_next, self.delay_s, self.fail_next = 0, 1.5, 0
        self._key = secrets.token_bytes(32)
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.webhooks: dict[str, dict[str, Any]] = {}  # id → {id, url, event_types}
        self.sender = WebhookSender()

    @property
    def deliveries(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt (webhook id, event, type, attempt, status)."""
        return self.sender.deliveries

    # ---- plumbing: the SDK's ProtocolServer serves; the webhook sender runs beside it ----
    def start(self, port: int = 0) -> "FakePayPal":
        super().start(port)
        self.sender.start()
        return self

    def stop(self) -> None:
        self.sender.stop()
        super().stop()

    def handle(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        if target.startswith("/checkoutnow"):  # the buyer's browser, not the API
            status, head, page = self.approval_page(method, target, body)
            return status, head, page
        status, out = self.answer(method, target, headers, body)
        return status, {"Content-Type": "application/json"} if out else {}, out

    def _id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):05d}FAKE{secrets.token_hex(3).upper()}"

    # ---- the buyer and the webhooks ----------------------------------------------------
    def approve(self, order_id: str, *, decline: bool = False) -> None:
        """The buyer logs in and approves (``decline``: the funding instrument will fail)."""
        order = self.orders[order_id]
        order["status"] = "APPROVED"
        if decline:
            self.declined.add(order_id)
        self._event("CHECKOUT.ORDER.APPROVED", order)

    def _event(self, kind: str, resource: dict[str, Any], order_id: str = "") -> None:
        res = json.loads(json.dumps(resource))
        if order_id:
            res["supplementary_data"] = {"related_ids": {"order_id": order_id}}
        event = {"id": self._id("WH-"), "event_version": "1.0", "event_type": kind,
                 "resource_type": "checkout-order" if kind.startswith("CHECKOUT") else "capture",
                 "create_time": datetime.now(timezone.utc).isoformat(), "resource": res}
        self.events.append(event)
        for hook in self.webhooks.values():
            if any(t["name"] in (kind, "*") for t in hook["event_types"]):
                self.sender.enqueue(hook["id"], hook["url"], event,
                                    lambda body, wid=hook["id"], ev=event: self.delivery_headers(ev, wid))

    def _signature(self, tid: str, when: str, webhook_id: str, event: dict[str, Any]) -> str:
        crc = zlib.crc32(json.dumps(event, sort_keys=True).encode())
        return base64.b64encode(hmac.new(self._key, f"{tid}|{when}|{webhook_id}|{crc}".encode(),
                                         hashlib.sha256).digest()).decode()

    def delivery_headers(self, event: dict[str, Any], webhook_id: str = WEBHOOK_ID) -> dict[str, str]:
        """The headers PayPal sends with a delivery of ``event``."""
        tid, when = secrets.token_hex(8), datetime.now(timezone.utc).isoformat()
        return {"PAYPAL-TRANSMISSION-ID": tid, "PAYPAL-TRANSMISSION-TIME": when,
                "PAYPAL-TRANSMISSION-SIG": self._signature(tid, when, webhook_id, event),
                "PAYPAL-CERT-URL": "https://api.paypal.com/v1/notifications/certs/CERT-360caa42", "PAYPAL-AUTH-ALGO":
                "SHA256withRSA"}

    def approval_page(self, method: str, target: str, raw: bytes) -> tuple[int, dict[str, str], bytes]:
        """PayPal's page where the buyer approves (or cancels) one order."""
        html = {"Content-Type": "text/html; charset=utf-8"}
        token = dict(parse_qsl(urlsplit(target).query)).get("token", "")
        with self._lock:
            order = self.orders.get(token)
            if order is None:
                return 404, html, b"<!doctype html><p>This payment session is not valid any more.</p>"
            context = (order.get("payment_source") or {}).get("paypal", {}).get("experience_context") or {}
            if method == "GET":
                amount = order["purchase_units"][0]["amount"]
                return 200, html, f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>PayPal Checkout</title></head><body style="font-family:sans-serif;padding:16px">
<h1 style="font-size:18px">Pay with PayPal</h1><p id="amount">{amount['value']} {amount['currency_code']}</p>
<form method="post"><input type="hidden" name="action" value="approve">
<button id="payment-submit-btn" type="submit">Pay Now</button></form>
<form method="post"><input type="hidden" name="action" value="cancel">
<button id="cancelLink" type="submit">Cancel and return</button></form></body></html>""".encode()
            if dict(parse_qsl(raw.decode())).get("action") == "approve":
                if order["status"] == "PAYER_ACTION_REQUIRED":
                    order["status"] = "APPROVED"
                    self._event("CHECKOUT.ORDER.APPROVED", order)
                back, params = str(context.get("return_url") or ""), {"token": token, "PayerID": "QYR5Z8XDVJNXQ"}
            else:
                back, params = str(context.get("cancel_url") or ""), {"token": token}
        if back:
            return 303, {"Location": back + ("&" if "?" in back else "?") + urlencode(params)}, b""
        return 200, html, b"<!doctype html><p id=\"done\">Done. You can close this window and return to the shop.</p>"

    # ---- protocol -----------------------------------------------------------------------
    def answer(self, method: str, target: str, h: dict[str, str], raw: bytes) -> tuple[int, bytes]:
        split = urlsplit(target)
        self.requests.append({"method": method, "path": split.path, "headers": h, "body": raw})
        with self._lock:
            if self.slow_next > 0:
                self.slow_next -= 1
                time.sleep(self.delay_s)
            if self.fail_next > 0:
                self.fail_next -= 1
                return 503, json.dumps({"name": "SERVICE_UNAVAILABLE", "message": "Service Unavailable."}).encode()
            try:
                if split.path == "/v1/oauth2/token":  # OAuth2 errors have their own shape (RFC 6749)
                    try:
                        return 200, json.dumps(self.token(h, raw)).encode()
                    except Fail as exc:
                        return exc.status, json.dumps({"error": exc.body["name"],
                                                       "error_description": exc.body["message"]}).encode()
                auth = h.get("authorization", "")
                if not (auth.startswith("Bearer ") and auth[7:] in self.tokens):
                    raise Fail(401, "AUTHENTICATION_FAILURE", "Authentication failed due to invalid authentication "
                               "credentials or a missing Authorization header.")
                rid = h.get("paypal-request-id", "")
                if method == "POST" and rid and rid in self.idem:
                    return self.idem[rid]
                if method == "POST" and raw and not h.get("content-type", "").startswith("application/json"):
                    raise Fail(415, "UNSUPPORTED_MEDIA_TYPE", "The request payload is not supported.")
                body = json.loads(raw) if raw else {}
                result = self.route(method, split.path, body)
                answer = (204, b"") if result is None else (201 if method == "POST" else 200,
                                                            json.dumps(result).encode())
            except Fail as exc:
                answer = (exc.status, json.dumps(exc.body).encode())
            if method == "POST" and h.get("paypal-request-id") and answer[0] not in (401, 503):
                self.idem[h["paypal-request-id"]] = answer
            return answer

    def token(self, h: dict[str, str], raw: bytes) -> dict[str, Any]:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if h.get("authorization") != expected:
            raise Fail(401, "invalid_client", "Client Authentication failed")
        if dict(parse_qsl(raw.decode())).get("grant_type") != "client_credentials":
            raise Fail(400, "unsupported_grant_type", "Grant Type is NULL")
        token = "A21AA" + secrets.token_urlsafe(24)
        self.tokens.add(token)
        return {"scope": "https://uri.paypal.com/services/payments/payment", "access_token": token,
                "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400,
                "nonce": secrets.token_hex(8)}

    def route(self, method: str, path: str, body: dict[str, Any]) -> dict[str, Any] | None:
        p = path.strip("/").split("/")
        if p == ["v2", "checkout", "orders"] and method == "POST":
            return self.create(body)
        if p[:3] == ["v2", "checkout", "orders"] and len(p) >= 4:
            order = self.orders.get(p[3])
            if order is None:
                raise Fail(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.", "INVALID_RESOURCE_ID",
                           "Specified resource ID does not exist. Please check the resource ID and try again.")
            if len(p) == 4 and method == "GET":
                return order
            if len(p) == 5 and method == "POST" and p[4] in ("authorize", "capture"):
                return self.complete(order, p[4])
        if p[:3] == ["v2", "payments", "authorizations"] and len(p) == 5 and method == "POST":
            if p[3] not in self.auths:
                raise Fail(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.")
            order_id, auth = self.auths[p[3]]
            return self.capture_auth(order_id, auth, body) if p[4] == "capture" else self.void(order_id, auth)
        if p[:3] == ["v2", "payments", "captures"] and len(p) == 5 and p[4] == "refund" and method == "POST":
            if p[3] not in self.captures:
                raise Fail(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.")
            return self.refund(*self.captures[p[3]], body)
        if p == ["v1", "notifications", "verify-webhook-signature"] and method == "POST":
            return self.verify(body)
        if p == ["v1", "notifications", "webhooks"]:
            return self.create_webhook(body) if method == "POST" else {"webhooks": list(self.webhooks.values())}
        if p[:3] == ["v1", "notifications", "webhooks"] and len(p) == 4 and method == "DELETE":
            if self.webhooks.pop(p[3], None) is None:
                raise Fail(404, "INVALID_RESOURCE_ID", "Specified resource ID does not exist.")
            return None
        raise Fail(404, "NOT_FOUND", f"No route {method} {path}")

    @staticmethod
    def _check_amount(amount: dict[str, Any]) -> None:
        value = str(amount.get("value", ""))
        digits = 0 if amount.get("currency_code") in ("JPY", "HUF", "TWD") else 2
        if "." in value and len(value.split(".")[1]) > digits or not value.replace(".", "").isdigit():
            raise _unprocessable("DECIMAL_PRECISION", "If the currency supports decimals, only two decimal place "
                                 "precision is supported.")

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("intent") not in ("AUTHORIZE", "CAPTURE"):
            raise Fail(400, "INVALID_REQUEST", "Request is not well-formed, syntactically incorrect, or violates "
                       "schema.", "INVALID_PARAMETER_VALUE", "The value of a field is invalid.")
        units = body.get("purchase_units") or []
        if len(units) != 1 or "amount" not in units[0]:
            raise Fail(400, "INVALID_REQUEST", "Request is not well-formed.", "MISSING_REQUIRED_PARAMETER",
                       "A required field / parameter is missing.")
        self._check_amount(units[0]["amount"])
        oid = self._id("5O")
        order = {"id": oid, "intent": body["intent"], "status": "PAYER_ACTION_REQUIRED",
                 "purchase_units": json.loads(json.dumps(units)),
                 "payment_source": json.loads(json.dumps(body.get("payment_source") or {})),
                 "links": [{"href": f"{self.url}/checkoutnow?token={oid}", "rel": "payer-action", "method": "GET"},
                           {"href": f"{self.url}/v2/checkout/orders/{oid}", "rel": "self", "method": "GET"}]}
        self.orders[oid] = order
        return order

    def complete(self, order: dict[str, Any], action: str) -> dict[str, Any]:
        if order["status"] != "APPROVED":
            raise _unprocessable("ORDER_NOT_APPROVED", "Payer has not yet approved the Order for payment.")
        if action.upper() != order["intent"]:
            raise _unprocessable("ACTION_DOES_NOT_MATCH_INTENT", f"Order was created with an intent of "
                                 f"'{order['intent']}'. Please use /{order['intent'].lower()} instead.")
        if order["id"] in self.declined:
            raise _unprocessable("INSTRUMENT_DECLINED", "The instrument presented was either declined by the "
                                 "processor or bank, or it can't be used for this payment.")
        amount = order["purchase_units"][0]["amount"]
        order["status"] = "COMPLETED"
        payments = order["purchase_units"][0].setdefault("payments", {})
        if action == "authorize":
            auth = {"id": self._id("0AW"), "status": "CREATED", "amount": amount}
            payments["authorizations"] = [auth]
            self.auths[auth["id"]] = (order["id"], auth)
            self._event("PAYMENT.AUTHORIZATION.CREATED", auth, order["id"])
        else:
            cap = {"id": self._id("3C6"), "status": "COMPLETED", "amount": amount, "refunded": "0"}
            payments["captures"] = [cap]
            self.captures[cap["id"]] = (order["id"], cap)
            self._event("PAYMENT.CAPTURE.COMPLETED", cap, order["id"])
        return order

    def capture_auth(self, order_id: str, auth: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        if auth["status"] != "CREATED":
            raise _unprocessable("AUTHORIZATION_ALREADY_CAPTURED" if auth["status"] == "CAPTURED" else
                                 "AUTHORIZATION_VOIDED", f"Authorization is {auth['status'].lower()}.")
        amount = body.get("amount") or auth["amount"]
        self._check_amount(amount)
        if Decimal(amount["value"]) > Decimal(auth["amount"]["value"]):
            raise _unprocessable("MAX_CAPTURE_AMOUNT_EXCEEDED", "Capture amount exceeds allowable limit.")
        auth["status"] = "CAPTURED"
        cap = {"id": self._id("3C6"), "status": "COMPLETED", "amount": amount, "refunded": "0"}
        payments = self.orders[order_id]["purchase_units"][0]["payments"]
        payments.setdefault("captures", []).append(cap)
        self.captures[cap["id"]] = (order_id, cap)
        self._event("PAYMENT.CAPTURE.COMPLETED", cap, order_id)
        return cap

    def void(self, order_id: str, auth: dict[str, Any]) -> None:
        if auth["status"] != "CREATED":
            raise _unprocessable("PREVIOUSLY_CAPTURED", "Authorization has been previously captured and hence "
                                 "cannot be voided.")
        auth["status"] = "VOIDED"
        self._event("PAYMENT.AUTHORIZATION.VOIDED", auth, order_id)
        return None

    def refund(self, order_id: str, cap: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
        amount = body.get("amount") or cap["amount"]
        self._check_amount(amount)
        left = Decimal(cap["amount"]["value"]) - Decimal(cap["refunded"])
        if Decimal(amount["value"]) > left:
            raise _unprocessable("REFUND_AMOUNT_EXCEEDED", "The refund amount must be less than or equal to the "
                                 "capture amount that has not yet been refunded.")
        cap["refunded"] = str(Decimal(cap["refunded"]) + Decimal(amount["value"]))
        cap["status"] = "REFUNDED" if Decimal(cap["refunded"]) == Decimal(cap["amount"]["value"]) else \
            "PARTIALLY_REFUNDED"
        refund = {"id": self._id("1JU"), "status": "COMPLETED", "amount": amount}
        self._event("PAYMENT.CAPTURE.REFUNDED", refund, order_id)
        return refund

    def create_webhook(self, body: dict[str, Any]) -> dict[str, Any]:
        url, types = str(body.get("url") or ""), body.get("event_types") or []
        if not url.startswith(("https://", "http://")) or not types or any(not t.get("name") for t in types):
            raise Fail(400, "VALIDATION_ERROR", "Invalid data provided", "INVALID_PARAMETER_VALUE",
                       "url and event_types[].name are required.")
        if any(h["url"] == url for h in self.webhooks.values()):
            raise Fail(400, "WEBHOOK_URL_ALREADY_EXISTS", "Webhook URL already exists.")
        hook = {"id": self._id("WH"), "url": url, "event_types": [{"name": str(t["name"])} for t in types]}
        self.webhooks[hook["id"]] = hook
        return hook

    def verify(self, body: dict[str, Any]) -> dict[str, Any]:
        need = ("auth_algo", "cert_url", "transmission_id", "transmission_sig", "transmission_time", "webhook_id",
                "webhook_event")
        if any(not body.get(k) for k in need):
            raise Fail(400, "VALIDATION_ERROR", "Invalid request - see details", "MISSING_REQUIRED_PARAMETER",
                       "A required field is missing.")
        good = hmac.compare_digest(body["transmission_sig"], self._signature(
            body["transmission_id"], body["transmission_time"], body["webhook_id"], body["webhook_event"]))
        ok = good and (body["webhook_id"] == WEBHOOK_ID or body["webhook_id"] in self.webhooks)
        return {"verification_status": "SUCCESS" if ok else "FAILURE"}
