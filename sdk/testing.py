"""Test helpers for plugin authors: a test kernel with demo data, a fake customer, and a
local fake provider HTTP server. The pytest fixtures in :mod:`comptoir.sdk.pytest_plugin`
are thin wrappers around these, so a test may also use them directly.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Iterable

from comptoir.kernel.types import Address


@dataclass(frozen=True)
class DemoData:
    """What :func:`seed_demo` wrote: ids a test can rely on."""

    product_ids: tuple[int, ...]
    variant_ids: tuple[int, ...]
    location_id: int


@dataclass(frozen=True)
class FakeCustomer:
    id: int
    email: str
    name: str
    address: Address


DEMO_PRODUCTS = (  # (slug, title, price in cents, weight in grams, stock)
    ("mug-enamel", "Enamel mug", 1800, 350, 40),
    ("tote-canvas", "Canvas tote bag", 2400, 220, 25),
    ("tea-sencha", "Sencha tea 100 g", 1250, 120, 60),
)


def seed_demo(factory: Any, currency: str = "EUR") -> DemoData:
    """A tiny shop: one warehouse, three products with stock. Returns their ids."""
    from comptoir.kernel.domain import Category, Location, Product, StockLevel, Variant

    with factory() as s, s.begin():
        cat = Category(slug="demo", name="Demo")
        loc = Location(code="main", name="Main warehouse", city="Lyon", country="FR")
        s.add_all([cat, loc])
        s.flush()
        pids, vids = [], []
        for slug, title, price, grams, stock in DEMO_PRODUCTS:
            p = Product(slug=slug, title=title, category_id=cat.id)
            s.add(p)
            s.flush()
            v = Variant(product_id=p.id, sku=slug.upper(), price_amount=price, currency=currency, weight_grams=grams)
            s.add(v)
            s.flush()
            s.add(StockLevel(variant_id=v.id, location_id=loc.id, on_hand=stock))
            pids.append(p.id)
            vids.append(v.id)
        return DemoData(tuple(pids), tuple(vids), int(loc.id))  # type: ignore[arg-type]


def make_customer(factory: Any, email: str = "camille@example.com") -> FakeCustomer:
    """A customer row with a French shipping address."""
    from comptoir.kernel.domain import Customer, CustomerAddress

    addr = Address(name="Camille Martin", line1="12 rue des Lilas", postal_code="69003", city="Lyon",
                   country="FR", email=email)
    with factory() as s, s.begin():
        c = Customer(email=email, name=addr.name)
        s.add(c)
        s.flush()
        s.add(CustomerAddress(customer_id=c.id, name=addr.name, line1=addr.line1, postal_code=addr.postal_code,
                              city=addr.city, country=addr.country, is_default=True))
        return FakeCustomer(int(c.id), email, addr.name, addr)  # type: ignore[arg-type]


def build_test_kernel(home: Path, *, plugins: Iterable[tuple[Any, Any]] = (), demo: bool = True) -> Any:
    """A booted kernel on SQLite in ``home``, migrated, with demo data, and no installed
    plugin discovered (only what the test adds), so a plugin is tested alone."""
    from comptoir.kernel.migrate import upgrade
    from comptoir.kernel.runtime import Kernel
    from comptoir.kernel.settings import Settings

    home.mkdir(parents=True, exist_ok=True)
    settings = Settings(home=home, database_url=f"sqlite:///{home / 'shop.db'}")
    kernel = Kernel(settings, discover=False, default_enabled=())
    upgrade(kernel.engine)
    if demo:
        kernel.demo = seed_demo(kernel.factory)  # type: ignore[attr-defined]
    kernel.boot()
    for obj, manifest in plugins:
        kernel.host.add(obj, manifest)
        kernel.host.enable(manifest.id)
    return kernel


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


class ProtocolServer:
    """A local HTTP server for a provider's protocol, to test a plugin's client against.

    Subclasses implement ``handle(method, target, headers, body) -> (status, content_type,
    body)``, where ``content_type`` may instead be a dict of response headers; request
    headers arrive lower-cased. ``start()`` binds a free loopback port; point the
    plugin's base-URL setting at ``url``.
    """

    _server: ThreadingHTTPServer | None = None

    def handle(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> tuple[int, str | dict[str, str], bytes]:
        raise NotImplementedError

    @property
    def port(self) -> int:
        assert self._server is not None, "start() the server first"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, port: int = 0) -> Any:
        """Serve on ``port`` of the loopback (a free one by default)."""
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, head, body = server.handle(self.command, self.path,
                                                   {k.lower(): v for k, v in self.headers.items()}, raw)
                self.send_response(status)
                for name, value in (head if isinstance(head, dict) else {"Content-Type": head}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _serve

            def log_message(self, *args: Any) -> None:  # keep test output clean
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@dataclass
class FakeProvider(ProtocolServer):
    """A local HTTP server that answers what a test told it to and records every request.

    ``provider.add("POST", "/v1/rates", json_body={...})`` then point the plugin at
    ``provider.url``. Unknown routes answer 404 with a JSON error.
    """

    routes: dict[tuple[str, str], tuple[int, bytes, dict[str, str]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)

    def add(self, method: str, path: str, *, status: int = 200, json_body: Any = None, body: bytes = b"",
            headers: dict[str, str] | None = None) -> None:
        hdrs = dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        self.routes[(method.upper(), path)] = (status, body, hdrs)

    def handle(self, method: str, target: str, headers: dict[str, str],
               body: bytes) -> tuple[int, dict[str, str], bytes]:
        self.requests.append(Recorded(method, target, headers, body))
        path = target.split("?", 1)[0]
        missing = (404, json.dumps({"error": f"no route {method} {path}"}).encode(),
                   {"Content-Type": "application/json"})
        status, payload, hdrs = self.routes.get((method, path), missing)
        return status, hdrs, payload


def build_release(workdir: Path, plugin_id: str, version: str = "0.1.0", *, key: Any = None,
                  vendor: str = "acme", edit: Any = None) -> tuple[Path, Path | None]:
    """Scaffold, build and (when ``key`` is given) sign a plugin release in ``workdir``.

    ``edit(folder)`` may change the scaffolded sources before the build (another hook,
    another manifest). Returns (wheel, signature file or None).
    """
    import re

    from comptoir.sdk.scaffold import scaffold
    from comptoir.sdk.signing import sign_wheel
    from comptoir.sdk.wheel import build

    src = workdir / f"{plugin_id}-{version}-src"
    if src.exists():
        import shutil

        shutil.rmtree(src)
    scaffold(src, plugin_id, vendor=vendor)
    py = src / "pyproject.toml"
    py.write_text(re.sub(r'(?m)^version = "0.1.0"$', f'version = "{version}"', py.read_text(), count=1))
    if edit is not None:
        edit(src)
    wheel = build(src, workdir / "dist")
    return wheel, (sign_wheel(wheel, key) if key is not None else None)
