"""Sandbox providers for ``comptoir demo``: the first-party plugins' local protocol servers.

A newcomer can then do what a merchant does on day one — install a payment plugin and
a carrier from the App store, point them at the provider, connect the accounts, sell and
ship — without accounts at Stripe or La Poste. The servers speak the providers'
documented protocols (they are the plugins' test servers, in ``plugins/*/tests``), so
they exist only in a source checkout, and start only when the demo serves.
"""
from __future__ import annotations

import importlib
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from comptoir.kernel.web import demo_market

log = logging.getLogger("comptoir.demo")
_running: list[Any] = []


@dataclass(frozen=True)
class Sandbox:
    title: str
    module: str
    server: str
    port: int  # a fixed port when free, so settings saved in the demo shop keep working after a restart
    lines: Callable[[Any, str], list[str]]  # (module, url) → what the merchant pastes where


SANDBOXES = (
    Sandbox("Stripe", "plugins.stripe_payments.tests.fake_stripe", "FakeStripe", 8101, lambda m, url: [
        f"settings: API address and Stripe.js address {url}, publishable key {m.PUBLISHABLE_KEY}",
        f"connect: secret key {m.SECRET_KEY}", "test cards: 4242 4242 4242 4242 pays, 4000 0000 0000 0002 is declined"]),
    Sandbox("Colissimo", "plugins.colissimo.tests.fake_colissimo", "FakeColissimo", 8102, lambda m, url: [
        f"settings: API address and tracking address {url} (and the sender's address)",
        f"connect: API key {m.API_KEY}, Okapi key {m.OKAPI_KEY}"]),
)


def start(*, force: bool = False) -> Iterator[str]:
    """Start the sandbox providers once per process; yield what ``comptoir demo`` prints."""
    if os.environ.get("COMPTOIR_DEMO_PROVIDERS", "1") in ("0", "false", "off"):
        return
    root = demo_market.plugins_root()
    if root is None or not (force or demo_market._serving()):
        return
    if str(root.parent) not in sys.path:  # the servers are modules of the source tree's plugins/
        sys.path.append(str(root.parent))
    if not _running:
        for box in SANDBOXES:
            try:
                module = importlib.import_module(box.module)
                _running.append((box, module, _start(getattr(module, box.server)(), box.port)))
            except Exception as exc:  # a missing plugin folder must not stop the demo
                log.warning("sandbox provider %s not started: %s", box.title, exc)
    if not _running:
        return
    yield "sandbox providers (local servers speaking the providers' APIs; install the plugin in the App store, then):"
    for box, module, server in _running:
        yield f"  {box.title}: {server.url}"
        for line in box.lines(module, server.url):
            yield f"    {line}"


def _start(server: Any, port: int) -> Any:
    try:
        return server.start(port)
    except OSError:  # taken (another demo, a service of yours): any free port
        return server.start(0)


def stop() -> None:
    """Stop the sandbox providers (tests; the demo just exits)."""
    while _running:
        _running.pop()[2].stop()
