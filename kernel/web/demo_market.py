"""The demo's marketplace: run in the shop's process, seeded with the first-party plugins.

``comptoir demo`` (when it serves) starts the marketplace on a loopback port in a
background thread, publishes every plugin in ``plugins/`` through the vendor path
(build → sign → upload → validate → counter-sign, see ``comptoir.marketplace.seed``) and
points the shop's installer at it, pinning its key. The marketplace lives in the shop
home (``<home>/marketplace``): its database and release files are the cache, so the
wheels are built on the first run only.
"""
from __future__ import annotations

import logging
import os
import socket
from pathlib import Path
from typing import Any, Iterator

log = logging.getLogger("comptoir.demo")
DEFAULT_PORT = 8100  # the installer's default marketplace URL, when free
_running: dict[str, Any] = {}  # one marketplace per process (prepare may run twice in tests)


def plugins_root() -> Path | None:
    """The source tree's ``plugins/`` folder (absent from a wheel install of comptoir)."""
    import comptoir.kernel

    root = Path(comptoir.kernel.__file__).resolve().parents[1] / "plugins"
    return root if root.is_dir() else None


def _serving() -> bool:
    """True inside ``comptoir demo`` when it goes on to serve the shop (not ``--no-serve``):
    a marketplace thread is useless to a process about to exit."""
    if os.environ.get("COMPTOIR_DEMO_MARKETPLACE", "1") in ("0", "false", "off"):
        return False
    import click

    ctx = click.get_current_context(silent=True)
    return bool(ctx is not None and ctx.params.get("do_serve"))


def _port() -> int:
    """8100 when free, else any free port (8100 may be a marketplace of your own)."""
    for wanted in (DEFAULT_PORT, 0):
        with socket.socket() as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: TIME_WAIT is free
            try:
                sock.bind(("127.0.0.1", wanted))
            except OSError:
                continue
            return int(sock.getsockname()[1])
    raise OSError("no free loopback port for the demo marketplace")


def start(kernel: Any, *, force: bool = False) -> Iterator[str]:
    """Start and seed the in-process marketplace; point this process's installers at it.

    Yields the lines ``comptoir demo`` prints. Does nothing when the operator chose a
    marketplace (``COMPTOIR_MARKETPLACE_URL``) or when the demo does not serve."""
    if "url" in _running:
        yield f"marketplace (in process) {_running['url']}/"
        return
    if os.environ.get("COMPTOIR_MARKETPLACE_URL"):
        yield f"marketplace: {os.environ['COMPTOIR_MARKETPLACE_URL']} (COMPTOIR_MARKETPLACE_URL)"
        return
    if not force and not _serving():
        return
    from comptoir.marketplace.app import create_app
    from comptoir.marketplace.local import LocalServer
    from comptoir.marketplace.seed import seed_first_party
    from comptoir.marketplace.service import Marketplace
    from comptoir.marketplace.settings import MarketSettings

    server_port = _port()
    settings = MarketSettings(home=Path(kernel.settings.home) / "marketplace", auto_approve_keys=True,
                              base_url=f"http://127.0.0.1:{server_port}")
    first_run = not settings.files_dir.is_dir()  # before Marketplace() creates it
    market = Marketplace(settings)
    root = plugins_root()
    if root is not None:
        if first_run:
            import click  # printed now: the first build takes a while (later runs reuse it)

            click.echo("marketplace: building and publishing the first-party plugins (first run only) …")
        published = seed_first_party(market, root)  # builds only releases not yet published
        if published:
            yield f"marketplace: published {len(published)} first-party plugin(s): {', '.join(published)}"
    server = LocalServer(create_app(market=market), port=server_port)
    url = server.start()
    # the shop's installer (built when the web app's kernel starts, in this process) reads these
    os.environ["COMPTOIR_MARKETPLACE_URL"] = url
    os.environ["COMPTOIR_MARKETPLACE_KEY"] = market.key.public
    installer = kernel.services.get("installer")
    if installer is not None:  # this kernel too (the demo may install before serving)
        installer.marketplace, installer.market_key, installer._client = url, market.key.public, None
    _running.update(url=url, server=server, market=market)
    yield f"marketplace (in process) {url}/ — App store in the admin: /admin/appstore"


def stop() -> None:
    """Stop the in-process marketplace and forget its URL (tests; the demo just exits)."""
    server, market = _running.pop("server", None), _running.pop("market", None)
    _running.clear()
    if server is not None:
        server.stop()
    if market is not None:
        market.close()
    for name in ("COMPTOIR_MARKETPLACE_URL", "COMPTOIR_MARKETPLACE_KEY"):
        os.environ.pop(name, None)
