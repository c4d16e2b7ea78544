"""Sandbox benchmark: RPC round trip, worker start, checkout overhead.

1. Round trip of a trivial hook (``widget_data`` answering a constant) to a sandboxed
   worker: raw (``SandboxedPlugin.call``) and through the plugin host
   (``host.call_one``: breaker, ctx injection, journal), next to the same plugin in
   process. Targets: median <= 200 µs, p99 <= 1 ms.
2. Worker start, cold (a new process for the plugin, confined, plugin imported, hello
   received): from the warm zygote, and from a fresh interpreter. Target: <= 100 ms.
   The zygote's own start (once per kernel) is printed too.
3. A whole checkout (cart, quotes from every carrier, payment methods, placement) with
   the test suite's carrier + payment plugin sandboxed, then the same plugin object
   in process: the ratio of medians.

    .venv/bin/python bench/bench_sandbox.py [--calls 5000] [--starts 30] [--orders 200]
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import select  # noqa: E402

from bench.common import summary  # noqa: E402
from comptoir.kernel.db import make_engine, transaction  # noqa: E402
from comptoir.kernel.domain import Variant  # noqa: E402
from comptoir.kernel.manifest import manifest_from_pyproject  # noqa: E402
from comptoir.kernel.migrate import upgrade  # noqa: E402
from comptoir.kernel.runtime import Kernel  # noqa: E402
from comptoir.kernel.services import stock  # noqa: E402
from comptoir.kernel.services.carts import add_item, create_cart  # noqa: E402
from comptoir.kernel.services.catalog import VariantInput, create_product, ensure_location  # noqa: E402
from comptoir.kernel.services.checkout import CheckoutRequest, checkout_service  # noqa: E402
from comptoir.kernel.settings import Settings  # noqa: E402
from comptoir.kernel.types import Address  # noqa: E402
from comptoir.sandbox.manager import SandboxManager  # noqa: E402
from comptoir.sandbox.supervisor import SandboxedPlugin  # noqa: E402

GOOD = ROOT / "tests" / "plugins" / "sandboxed_good"
ADDRESS = Address(name="Bench", line1="1 rue", postal_code="75001", city="Paris", country="FR")


def line(label: str, samples: list[float]) -> str:
    s = summary(samples)
    return f"{label:<44} median {s['median_us']:9.1f} µs   p99 {s['p99_us']:9.1f} µs   (n={s['n']})"


def timed(fn: Callable[[], Any], n: int, warmup: int = 50) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def make_kernel(tmp: Path) -> Kernel:
    url = f"sqlite:///{tmp / 'shop.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    kernel = Kernel(Settings(home=tmp / "home", database_url=url)).boot()
    with transaction(kernel.factory) as s:
        loc = ensure_location(s, "WH", "Warehouse", priority=1)
        create_product(s, "Mug", [VariantInput(sku="B-MUG", price_amount=1990, weight_grams=350)])
        vid = s.scalars(select(Variant.id).where(Variant.sku == "B-MUG")).one()
        stock.receive(s, vid, loc.id or 0, 1_000_000)
    return kernel


def in_process_plugin() -> Any:
    spec = importlib.util.spec_from_file_location("sandboxed_good", GOOD / "sandboxed_good.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.plugin


def checkout_once(kernel: Kernel) -> None:
    with transaction(kernel.factory) as s:
        cart = create_cart(s, "EUR")
        add_item(s, cart, sku="B-MUG", quantity=1)
        token = cart.token
    svc = checkout_service(kernel)
    quote = next(q for q in svc.shipping_quotes(token, ADDRESS) if q.plugin == "sandboxed-good")
    assert any(m.id == "sbx-card" for m in svc.payment_methods(token))
    svc.place(CheckoutRequest(cart_token=token, email="b@example.com", address=ADDRESS, shipping_quote_id=quote.id,
                              payment_method_id="sbx-card"))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=5000)
    ap.add_argument("--starts", type=int, default=30)
    ap.add_argument("--orders", type=int, default=200)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        kernel = make_kernel(Path(d))
        manager: SandboxManager = kernel.services["sandbox"]
        manifest = manifest_from_pyproject(GOOD / "pyproject.toml")
        host = kernel.host

        # ---- 2. worker start -------------------------------------------------------
        t0 = time.perf_counter()
        manager.add_source(GOOD)  # first worker: starts the zygote too
        first_ms = (time.perf_counter() - t0) * 1000
        zygote_ms = manager._zygote.started_ms if manager._zygote else 0.0

        def start_stop(mgr: SandboxManager) -> float:
            p = SandboxedPlugin(mgr, manifest, GOOD, manifest.entry_point, mgr.limits)
            t = time.perf_counter()
            p.start()
            elapsed = time.perf_counter() - t
            p.stop()
            return elapsed

        zygote_starts = [start_stop(manager) for _ in range(args.starts)]
        direct = SandboxManager(kernel, use_zygote=False)
        direct_starts = [start_stop(direct) for _ in range(max(5, args.starts // 3))]

        # ---- 1. round trip ---------------------------------------------------------
        plugin = manager.plugins["sandboxed-good"]
        ctx = host.context("sandboxed-good")
        raw = timed(lambda: plugin.call("widget_data", {"widget_id": "x", "config": {}}, ctx), args.calls)
        via_host = timed(lambda: host.call_one("sandboxed-good", "widget_data", widget_id="x", config={}), args.calls)

        # ---- 3. checkout, sandboxed then in process -----------------------------------
        sandboxed_orders = timed(lambda: checkout_once(kernel), args.orders, warmup=10)
        host.forget("sandboxed-good")
        manager.plugins.pop("sandboxed-good").stop()
        host.add(in_process_plugin(), manifest)
        host.enable("sandboxed-good")
        in_proc = timed(lambda: host.call_one("sandboxed-good", "widget_data", widget_id="x", config={}), args.calls)
        in_process_orders = timed(lambda: checkout_once(kernel), args.orders, warmup=10)
        kernel.close()
        manager.close()

    print("Sandbox benchmark (python", sys.version.split()[0] + ")")
    print(line("round trip, raw RPC (SandboxedPlugin.call)", raw))
    print(line("round trip through host.call_one, sandboxed", via_host))
    print(line("same hook through host.call_one, in process", in_proc))
    print(line("worker start from the warm zygote", zygote_starts))
    print(line("worker start from a fresh interpreter", direct_starts))
    print(f"{'first worker of a kernel (zygote start incl.)':<44} {first_ms:9.1f} ms (zygote alone {zygote_ms:.1f} ms)")
    print(line("checkout, carrier + payment sandboxed", sandboxed_orders))
    print(line("checkout, same plugin in process", in_process_orders))
    ratio = summary(sandboxed_orders)["median_us"] / summary(in_process_orders)["median_us"]
    print(f"checkout overhead ratio (median sandboxed / median in process): {ratio:.2f}")


if __name__ == "__main__":
    main()
