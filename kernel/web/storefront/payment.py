"""The provider's part of the order page while its payment is open (``payment_page``).

A card that the shopper confirms in the browser (Stripe.js's element, a PayPal approve
button …) is shown by the plugin that authorized the payment, and only by a trusted
one: its ``html`` goes into the page as is. Its ``scripts`` load only from an http(s)
origin on a host granted to that plugin (http only on the loopback, for local test
servers); anything else refuses the whole block, and the refusal is journaled.
Inline scripts in the ``html`` are allowed by their hash, a ``<script src>`` there is
refused (declare it in ``scripts``), and the page gets its own Content-Security-Policy
naming exactly those origins and hashes, so nothing else runs on the page where a
shopper types a card number.
"""
from __future__ import annotations

import base64
import hashlib
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from comptoir.kernel.errors import ComptoirError
from comptoir.kernel.types import Money, PaymentPage, PaymentRef

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

log = logging.getLogger("comptoir.web")
PAYABLE = ("pending", "failed")  # a failed attempt leaves the order payable with another card
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_SRC = re.compile(r"\bsrc\s*=", re.IGNORECASE)
NONE = "'none'"
UNAVAILABLE = "This payment cannot be completed on this page; please contact the shop."


@dataclass(frozen=True)
class ShownPayment:
    """What the order page renders from a plugin's ``PaymentPage``, or why it shows nothing."""

    html: str = ""
    scripts: tuple[str, ...] = ()
    origins: tuple[str, ...] = ()  # scheme://host[:port] of the scripts
    hashes: tuple[str, ...] = ()  # 'sha256-…' of each inline script of ``html``
    provider_hosts: tuple[str, ...] = ()  # the plugin's granted hosts, for its calls and frames
    refused: str = ""


def _origin(plugin: str, url: str, allowed: Any) -> str:
    """``scheme://host[:port]`` of a script URL the plugin may use, else raise ValueError."""
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port
    if parts.scheme not in ("https", "http") or not host or parts.username or parts.password:
        raise ValueError(f"script {url[:80]!r} is not a plain http(s) URL")
    if parts.scheme == "http" and host not in LOOPBACK:
        raise ValueError(f"script from {host} must use https")
    right = f"host:{host}" if port is None else f"host:{host}:{port}"
    if not allowed(plugin, right):
        raise ValueError(f"script host {host}{'' if port is None else f':{port}'} is not granted to the plugin")
    return f"{parts.scheme}://{parts.netloc}"


def _granted_hosts(kernel: "Kernel", plugin: str, manifest: Any) -> tuple[str, ...]:
    """The hosts the plugin declares and holds, as https origins (its API, its 3-D Secure frames)."""
    declared = list(manifest.scopes.hosts) + [h for acc in manifest.scopes.accounts.values() for h in acc.hosts]
    return tuple(f"https://{h}" for h in dict.fromkeys(declared)
                 if ":" not in h and kernel.host.rights.allowed(plugin, f"host:{h}"))


def _refuse(kernel: "Kernel", plugin: str, why: str) -> ShownPayment:
    kernel.host.journal.record(plugin, "payment_page", 0, "denied", why)
    log.warning("payment page of %s not shown: %s", plugin, why)
    return ShownPayment(refused=UNAVAILABLE)


def payment_block(kernel: "Kernel", payment: dict[str, Any], order_number: str, return_url: str) -> ShownPayment | None:
    """Ask the payment's plugin for its part of the order page; None when it has nothing
    to show (or implements no ``payment_page``)."""
    plugin = str(payment["plugin"])
    rec = kernel.host.records.get(plugin)
    if rec is None or not rec.enabled or not kernel.host.implements(plugin, "payment_page"):
        return None
    if not rec.manifest.trusted:
        return _refuse(kernel, plugin, "payment_page of a plugin that is not trusted is never shown")
    ref = PaymentRef(str(payment["method"]), str(payment["provider_reference"]), str(payment["idempotency_key"]),
                     Money(int(payment["amount"]), str(payment["currency"])))
    try:
        page = kernel.host.call_one(plugin, "payment_page", payment=ref, order_number=order_number,
                                    return_url=return_url)
    except ComptoirError as exc:  # journaled by the host; the shopper may reload
        log.warning("payment page of %s failed: %s", plugin, exc.message)
        return ShownPayment(refused="The payment form could not be loaded; reload the page in a moment.")
    if page is None:
        return None
    if not isinstance(page, PaymentPage):
        return _refuse(kernel, plugin, f"payment_page returned {type(page).__name__}, not a PaymentPage")
    try:
        origins = tuple(dict.fromkeys(_origin(plugin, str(url), kernel.host.rights.allowed) for url in page.scripts))
    except ValueError as exc:
        return _refuse(kernel, plugin, str(exc))
    # The browser hashes the script text after the HTML parser turned CR LF into LF.
    html = str(page.html).replace("\r\n", "\n").replace("\r", "\n")
    hashes = []
    for attrs, body in _SCRIPT.findall(html):
        if _SRC.search(attrs):
            return _refuse(kernel, plugin, "a <script src> in payment_page html; list it in PaymentPage.scripts")
        digest = base64.b64encode(hashlib.sha256(body.encode()).digest()).decode()
        hashes.append(f"'sha256-{digest}'")
    return ShownPayment(html=html, scripts=tuple(str(u) for u in page.scripts), origins=origins,
                        hashes=tuple(dict.fromkeys(hashes)),
                        provider_hosts=_granted_hosts(kernel, plugin, rec.manifest))


def page_csp(shown: ShownPayment | None) -> str:
    """The order page's policy: its own scripts, and the provider's where one is shown."""
    scripts = " ".join(("'self'", *shown.origins, *shown.hashes)) if shown else "'self'"
    reach = " ".join(dict.fromkeys(("'self'", *shown.origins, *shown.provider_hosts))) if shown else "'self'"
    frames = " ".join(dict.fromkeys((*shown.origins, *shown.provider_hosts))) if shown else ""
    return "; ".join((
        "default-src 'self'", f"script-src {scripts}", f"connect-src {reach}", f"frame-src {frames or NONE}",
        "style-src 'self' 'unsafe-inline'", "img-src 'self' data: https:", "frame-ancestors 'none'",
        "base-uri 'self'", "form-action 'self'"))
