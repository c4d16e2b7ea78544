"""Marketplace benchmarks: install-to-live on loopback, and catalog search over 10,000 listings.

    .venv/bin/python bench/bench_marketplace.py [--installs 15] [--queries 600]

1. A small plugin (the SDK scaffold, signed) is published to a marketplace served by
   uvicorn on 127.0.0.1; a shop (SQLite) installs it with the installer API the CLI
   calls — fetch the signed index, the release, the wheel; verify both signatures and
   every hash; check; unpack; enable — and the clock stops when its hook answers a
   quote. Uninstall, repeat. Measured in process and in the sandbox (the default).
2. 10,000 listings are seeded; random one- and two-term queries (prefixes included,
   some with a category, some with kernel compatibility) go through the JSON API over
   loopback HTTP; the in-memory index alone is timed too.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx


def _pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def _report(name: str, xs: list[float]) -> None:
    print(f"{name:<60} n={len(xs):<4} median={statistics.median(xs) * 1000:8.2f} ms  "
          f"p95={_pct(xs, 95) * 1000:8.2f} ms  p99={_pct(xs, 99) * 1000:8.2f} ms  max={max(xs) * 1000:8.2f} ms")


def bench_install(work: Path, n: int) -> None:
    from comptoir.kernel.installer.service import Installer
    from comptoir.kernel.money import Money
    from comptoir.kernel.types import Address, ShipmentRequest
    from comptoir.marketplace.app import create_app
    from comptoir.marketplace.local import LocalServer
    from comptoir.marketplace.service import Marketplace
    from comptoir.marketplace.settings import MarketSettings
    from comptoir.sdk.signing import generate_key, public_b64
    from comptoir.sdk.testing import build_release, build_test_kernel

    key = generate_key()
    market = Marketplace(MarketSettings(home=work / "market", auto_approve_keys=True))
    vendor, _, _ = market.register_vendor("acme", public_b64(key))
    for pid in ("bench-carrier", "bench-keeper"):
        wheel, sig = build_release(work, pid, "1.0.0", key=key)
        market.upload(vendor, wheel.name, wheel.read_bytes(), sig.read_bytes())
    shipment = ShipmentRequest(destination=Address("A", "1 rue", "75001", "Paris", "FR"), weight_grams=900,
                               value=Money(2000, "EUR"))
    print(f"plugin wheel: {wheel.stat().st_size} bytes")
    with LocalServer(create_app(market=market)) as url:
        for mode in ("off", "untrusted"):
            os.environ["COMPTOIR_SANDBOX"] = mode
            shop = build_test_kernel(work / f"shop-{mode}")
            installer = Installer(shop, url, client=httpx.Client(base_url=url, timeout=30))
            if mode != "off":
                # a shop with one third-party plugin already running: the sandbox's zygote is warm
                # (the very first sandboxed plugin of a shop also pays for starting the zygote)
                t0 = time.perf_counter()
                installer.install("bench-keeper", approve=True)
                shop.host.call("shipping_quotes", shipment=shipment)
                _report("first sandboxed install of the shop (cold zygote)", [time.perf_counter() - t0])
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                installer.install("bench-carrier", approve=True)
                quotes = [q for q in shop.host.call("shipping_quotes", shipment=shipment)
                          if q.id.startswith("bench-carrier")]
                times.append(time.perf_counter() - t0)
                assert quotes, "the hook did not answer"
                installer.uninstall("bench-carrier", data="delete")
            label = "in process" if mode == "off" else "in the sandbox"
            _report(f"install → hook live ({label})", times)
            # the CLI in another process; the running shop goes live on its next refresh
            cli = [str(Path(sys.executable).parent / "comptoir"), "plugins"]
            env = dict(os.environ, COMPTOIR_HOME=str(shop.settings.home), COMPTOIR_MARKETPLACE_URL=url,
                       COMPTOIR_DATABASE_URL=shop.settings.effective_database_url)
            times = []
            for _ in range(max(3, n // 3)):
                t0 = time.perf_counter()
                proc = subprocess.Popen([*cli, "install", "bench-carrier", "--yes"], env=env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                live = False
                while not live and time.perf_counter() - t0 < 60:
                    shop.host.refresh(max_age_s=0.02)
                    live = any(q.id.startswith("bench-carrier")
                               for q in shop.host.call("shipping_quotes", shipment=shipment))
                    time.sleep(0.005)
                times.append(time.perf_counter() - t0)
                assert proc.wait() == 0 and live, proc.stderr.read() if proc.stderr else ""
                subprocess.run([*cli, "uninstall", "bench-carrier", "--data", "delete"], env=env, check=True,
                               stdout=subprocess.DEVNULL)
                shop.host.refresh(max_age_s=0)
            _report(f"`comptoir plugins install` → live in the shop ({label})", times)
            shop.close()
    market.close()


WORDS = ("colis express relay parcel label track stripe card wallet paypal sepa invoice loyalty points "
         "review mention instagram tiktok facebook feed google shopping comparator widget sales chart stock "
         "alert recommend similar bought together trending export drive backup pos register chat voice "
         "assistant margin tax vat discount coupon gift wrap subscription box print label zebra").split()
CATS = ("payments", "shipping", "social", "widgets", "channels", "recommendations", "data")


def bench_search(work: Path, n: int, listings: int = 10_000) -> None:
    from comptoir.marketplace.app import create_app
    from comptoir.marketplace.local import LocalServer
    from comptoir.marketplace.models import Plugin, Vendor
    from comptoir.marketplace.service import Marketplace
    from comptoir.marketplace.settings import MarketSettings

    from datetime import datetime, timezone

    from sqlalchemy import insert

    now = datetime.now(timezone.utc)
    rnd = random.Random(7)
    market = Marketplace(MarketSettings(home=work / "search-market"))
    t0 = time.perf_counter()
    with market.factory() as s, s.begin():
        vendors = [Vendor(name=f"vendor{i}", token_hash=f"{i:064d}") for i in range(200)]
        s.add_all(vendors)
        s.flush()
        rows = []
        for i in range(listings):
            words = rnd.sample(WORDS, 6)
            rows.append(dict(id=f"{words[0]}-{words[1]}-{i}", vendor_id=vendors[i % 200].id,
                             dist_name=f"comptoir-{words[0]}-{words[1]}-{i}", name=f"{words[0].title()} {words[1]} {i}",
                             category=CATS[i % len(CATS)], summary=" ".join(words[2:5]),
                             description=" ".join(rnd.sample(WORDS, 12)), latest_version="1.0.0",
                             kernel_api=">=1.0,<2" if i % 10 else ">=2.0,<3", install_count=rnd.randint(0, 5000),
                             pricing={"model": "free"}, capabilities=[], rights=[], rating_sum=0, rating_count=0,
                             created_at=now, updated_at=now))
        s.execute(insert(Plugin), rows)
    t1 = time.perf_counter()
    market.reindex()
    t2 = time.perf_counter()
    print(f"seeded {listings} listings in {t1 - t0:.1f} s; index loaded in {(t2 - t1) * 1000:.0f} ms")
    queries = []
    for _ in range(n):
        terms = rnd.sample(WORDS, rnd.choice((1, 1, 2)))
        q = " ".join(t[: rnd.choice((3, 4, len(t)))] for t in terms)  # prefixes too
        params = {"q": q}
        if rnd.random() < 0.3:
            params["category"] = rnd.choice(CATS)
        if rnd.random() < 0.3:
            params["kernel"] = "1.0.0"
        queries.append(params)
    market.index.search_page("warm")  # compiles the arrays once
    index_times = []
    for p in queries:
        t = time.perf_counter()
        market.index.search_page(p["q"], category=p.get("category", ""), kernel=p.get("kernel", ""))
        index_times.append(time.perf_counter() - t)
    _report("search: inverted index alone", index_times)
    with LocalServer(create_app(market=market)) as url, httpx.Client(base_url=url) as client:
        for p in queries[:20]:
            client.get("/api/v1/plugins", params=p)  # warm-up
        http_times, hits = [], 0
        for p in queries:
            t = time.perf_counter()
            r = client.get("/api/v1/plugins", params=p)
            http_times.append(time.perf_counter() - t)
            hits += r.json()["total"] > 0
    _report("search: JSON API over loopback HTTP", http_times)
    print(f"  {hits}/{len(queries)} queries had results")
    market.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--installs", type=int, default=15)
    ap.add_argument("--queries", type=int, default=600)
    args = ap.parse_args()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory(prefix="bench-marketplace-") as tmp:
        bench_search(Path(tmp), args.queries)
        bench_install(Path(tmp), args.installs)


if __name__ == "__main__":
    main()
