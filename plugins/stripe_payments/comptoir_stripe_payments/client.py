"""A small client of Stripe's REST API, through the kernel's brokered HTTP client.

Stripe takes form-encoded bodies with bracketed keys (``metadata[order]=…``,
``payment_method_types[]=card``) and answers JSON. The secret key never passes
through here: the broker injects it as ``Authorization: Bearer`` for the
``secret_key`` account. Every POST carries an ``Idempotency-Key``, so a call that
timed out or hit a network error is retried with the same key, and Stripe answers
the first result instead of acting twice (https://stripe.com/docs/api/idempotent_requests).
"""
from __future__ import annotations

import time
from typing import Any, Mapping
from urllib.parse import quote

ACCOUNT = "secret_key"
API_VERSION = "2024-06-20"


class StripeError(Exception):
    """Stripe refused a call. The message is Stripe's own merchant-readable text."""

    def __init__(self, message: str, *, status: int = 0, code: str = "", decline_code: str = "",
                 error_type: str = "", payment_intent: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.decline_code = decline_code
        self.error_type = error_type
        self.payment_intent = dict(payment_intent or {})


class StripeUnavailable(StripeError):
    """Stripe could not be reached or kept failing after the allowed retries."""


def encode(data: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Flatten nested dicts and lists into Stripe's bracketed form fields."""
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, Mapping):
            out += encode(value, name)
        elif isinstance(value, (list, tuple)):
            for item in value:
                if isinstance(item, Mapping):
                    raise ValueError("lists of objects are not used by this client")
                out.append((f"{name}[]", _scalar(item)))
        else:
            out.append((name, _scalar(value)))
    return out


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _retryable(status: int, headers: Mapping[str, str]) -> bool:
    # Stripe says when a retry is safe; 409 (idempotency lock) and 429 (rate limit) are
    # always worth one more try with the same key.
    flag = headers.get("stripe-should-retry")
    if flag is not None:
        return flag == "true"
    return status in (409, 429) or status >= 500


class StripeClient:
    """Calls one Stripe account for one plugin context."""

    def __init__(self, ctx: Any) -> None:
        self.http = ctx.http
        self.base = str(ctx.setting("api_base") or "https://api.stripe.com").rstrip("/")
        self.timeout = float(ctx.setting("timeout_s", 20) or 20)
        self.retries = max(0, int(ctx.setting("max_retries", 2) or 0))
        self.backoff_s = 0.05  # doubled each retry; tests keep it short, Stripe asks for some
        if self.http is None:
            raise StripeUnavailable("the credential broker is not available; the Stripe plugin cannot call out")

    def post(self, path: str, data: Mapping[str, Any] | None = None, *, idempotency_key: str = "") -> dict[str, Any]:
        """POST form data; retried with the same idempotency key on network errors."""
        headers = {"Stripe-Version": API_VERSION}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        body = encode(data or {})
        return self._send("POST", path, headers=headers, data=body, retry=bool(idempotency_key))

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """GET with query parameters (always safe to retry)."""
        return self._send("GET", path, headers={"Stripe-Version": API_VERSION},
                          params=encode(params or {}), retry=True)

    def delete(self, path: str) -> dict[str, Any]:
        """DELETE an object; one already gone counts as deleted (a retry may find it so)."""
        try:
            return self._send("DELETE", path, headers={"Stripe-Version": API_VERSION}, retry=True)
        except StripeError as exc:
            if exc.code != "resource_missing":
                raise
            return {"deleted": True}

    def _send(self, method: str, path: str, *, headers: dict[str, str], retry: bool,
              data: list[tuple[str, str]] | None = None, params: list[tuple[str, str]] | None = None) -> dict[str, Any]:
        url = self.base + path
        attempts = 1 + (self.retries if retry else 0)
        last = "no answer"
        for attempt in range(attempts):
            if attempt:
                time.sleep(self.backoff_s * 2 ** (attempt - 1))
            kwargs: dict[str, Any] = {"headers": headers, "timeout": self.timeout}
            if data is not None:
                kwargs["content"] = "&".join(f"{quote(k, safe='[]')}={quote(v, safe='')}" for k, v in data).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            if params:
                kwargs["params"] = params
            try:
                response = self.http.request(method, url, account=ACCOUNT, **kwargs)
            except Exception as exc:  # the broker raises BrokerError (redacted) on network failures
                if type(exc).__name__ != "BrokerError":
                    raise  # a denied host or a missing account: retrying would not help
                last = str(getattr(exc, "message", exc))
                continue
            if response.status_code < 400:
                return dict(response.json())
            error = _error_of(response)
            if retry and _retryable(response.status_code, response.headers) and attempt + 1 < attempts:
                last = error.message
                continue
            raise error
        raise StripeUnavailable(f"Stripe did not answer after {attempts} attempt(s): {last}")


def _error_of(response: Any) -> StripeError:
    try:
        err = dict(response.json().get("error") or {})
    except ValueError:
        err = {}
    message = str(err.get("message") or f"Stripe answered HTTP {response.status_code}")
    return StripeError(message, status=response.status_code, code=str(err.get("code") or ""),
                       decline_code=str(err.get("decline_code") or ""), error_type=str(err.get("type") or ""),
                       payment_intent=err.get("payment_intent"))
