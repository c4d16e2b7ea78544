"""A client of PayPal's REST API (OAuth2 client credentials, JSON), through the broker.

The app's client id and secret live in the credential store as a ``basic`` account;
the broker sends them as HTTP Basic on ``POST /v1/oauth2/token``
(``grant_type=client_credentials``) and nowhere else. The access token it answers is
short-lived (about nine hours); it stays in this process's memory, is never logged,
and is renewed a minute before it expires or at once after a 401.

Every POST carries ``PayPal-Request-Id``: PayPal answers a repeated id with the first
result (https://developer.paypal.com/api/rest/reference/idempotency/), so a call that
timed out is retried safely.
"""
from __future__ import annotations

import threading
import time
from decimal import Decimal
from typing import Any

from comptoir.sdk import exponent
from comptoir.sdk import Money

ACCOUNT = "client"
_tokens: dict[tuple[str, str], tuple[str, float]] = {}  # (plugin, base) → (token, expires at, monotonic)
_lock = threading.Lock()


class PayPalError(Exception):
    """PayPal refused a call; the message is PayPal's own description of the issue."""

    def __init__(self, message: str, *, status: int = 0, name: str = "", issue: str = "", debug_id: str = "") -> None:
        super().__init__(message)
        self.message, self.status, self.name, self.issue, self.debug_id = message, status, name, issue, debug_id


class PayPalUnavailable(PayPalError):
    """PayPal could not be reached after the allowed retries."""


def to_value(money: Money) -> dict[str, str]:
    """Money → PayPal's ``{"currency_code", "value"}`` with a decimal string."""
    digits = exponent(money.currency)
    value = Decimal(money.amount).scaleb(-digits)
    return {"currency_code": money.currency, "value": f"{value:.{digits}f}"}


def from_value(amount: dict[str, Any]) -> Money:
    """PayPal's amount object → Money in minor units (exact, through Decimal)."""
    currency = str(amount["currency_code"])
    return Money(int(Decimal(str(amount["value"])).scaleb(exponent(currency))), currency)


class PayPalClient:
    def __init__(self, ctx: Any) -> None:
        if ctx.http is None:
            raise PayPalUnavailable("the credential broker is not available; the PayPal plugin cannot call out")
        self.http = ctx.http
        self.plugin = ctx.plugin
        self.base = str(ctx.setting("api_base") or "https://api-m.paypal.com").rstrip("/")
        self.timeout = float(ctx.setting("timeout_s", 20) or 20)
        self.retries = max(0, int(ctx.setting("max_retries", 2) or 0))
        self.backoff_s = 0.05

    # ---- token ----------------------------------------------------------------------
    def _token(self, *, renew: bool = False) -> str:
        key = (self.plugin, self.base)
        with _lock:
            cached = _tokens.get(key)
            if cached and not renew and cached[1] > time.monotonic():
                return cached[0]
            r = self._raw("POST", "/v1/oauth2/token", account=ACCOUNT, content=b"grant_type=client_credentials",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
            if r.status_code >= 400:
                body = _json(r)
                raise PayPalError(str(body.get("error_description") or "PayPal refused the app's credentials"),
                                  status=r.status_code, name=str(body.get("error") or ""))
            body = r.json()
            _tokens[key] = (str(body["access_token"]), time.monotonic() + int(body.get("expires_in", 300)) - 60)
            return _tokens[key][0]

    # ---- calls ----------------------------------------------------------------------
    def call(self, method: str, path: str, body: dict[str, Any] | None = None, *, request_id: str = "") -> dict[str, Any]:
        """One API call; POSTs with ``request_id`` are retried on network errors and 5xx."""
        headers = {"Content-Type": "application/json", "Prefer": "return=representation"}
        if request_id:
            headers["PayPal-Request-Id"] = request_id
        attempts = 1 + (self.retries if (request_id or method == "GET") else 0)
        last, renewed = "no answer", False
        attempt = 0
        while attempt < attempts:
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            attempt += 1
            token = self._token()
            try:
                r = self._raw(method, path, json=body, headers={**headers, "Authorization": f"Bearer {token}"})
            except Exception as exc:
                if type(exc).__name__ != "BrokerError":
                    raise
                last = str(getattr(exc, "message", exc))
                continue
            if r.status_code == 401 and not renewed:  # token revoked or expired early: one renewal
                renewed = True
                self._token(renew=True)
                attempt -= 1
                continue
            if r.status_code < 400:
                return _json(r)
            error = _error_of(r)
            if r.status_code >= 500 or r.status_code == 429:
                last = error.message
                continue
            raise error
        raise PayPalUnavailable(f"PayPal did not answer after {attempts} attempt(s): {last}")

    def _raw(self, method: str, path: str, **kw: Any) -> Any:
        return self.http.request(method, self.base + path, timeout=self.timeout, **kw)


def _json(r: Any) -> dict[str, Any]:
    if not r.content:
        return {}
    try:
        return dict(r.json())
    except ValueError:
        return {}


def _error_of(r: Any) -> PayPalError:
    body = _json(r)
    details = body.get("details") or [{}]
    issue = str(details[0].get("issue") or "")
    description = str(details[0].get("description") or body.get("message") or f"PayPal answered HTTP {r.status_code}")
    return PayPalError(f"{description} ({issue})" if issue else description, status=r.status_code,
                       name=str(body.get("name") or ""), issue=issue, debug_id=str(body.get("debug_id") or ""))
