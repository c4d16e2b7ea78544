"""HTTP benchmarks of the web app, served by uvicorn on loopback.

1. Catalog listing: ``GET /api/v1/products?limit=24`` (a page of 24 products with
   prices and stock), with uvicorn 1 and 2 workers, load from ``wrk`` (2 threads,
   32 connections). Measured twice: as served (the listing keeps a 1-second
   micro-cache per URL, plus ETags), and with the cache defeated by a random query
   parameter on every request (every request runs the four catalog queries).
   Target: >= 1,500 req/s.
2. Full checkout over HTTP on PostgreSQL: 4 concurrent clients, each looping
   cart -> add item -> shipping quotes -> payment methods -> place order.
   Target: >= 100 orders/s.
3. Recommendations "for you" for a signed-in customer (when the recommendations
   plugin is installed): sequential requests, latency median and p99. Target p99 <= 15 ms.

The machine's 2 cores are shared by the server, the load generator and the database.

    .venv/bin/python bench/bench_web.py [--parts catalog,checkout,reco] [--seconds 10]
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator
from contextlib import contextmanager

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from sqlalchemy import select  # noqa: E402

from bench.common import database  # noqa: E402
from comptoir.kernel import demo  # noqa: E402
from comptoir.kernel.db import make_engine, transaction  # noqa: E402
from comptoir.kernel.domain import StockLevel  # noqa: E402
from comptoir.kernel.migrate import upgrade  # noqa: E402
from comptoir.kernel.runtime import Kernel  # noqa: E402
from comptoir.kernel.settings import Settings  # noqa: E402

ADDRESS = {"name": "Bench", "line1": "1 rue du Test", "postal_code": "75001", "city": "Paris", "country": "FR"}
UVICORN = str(Path(sys.executable).parent / "uvicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def prepare(url: str, home: Path, *, products: int, orders: int = 0) -> Kernel:
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    kernel = Kernel(Settings(home=home, database_url=url)).boot()
    rng = random.Random(11)
    demo.seed_catalog(kernel, products=products, rng=rng)
    if orders:
        people = demo.seed_customers(kernel, customers=80, rng=rng)
        demo.seed_orders(kernel, people, orders=orders, rng=rng)
    return kernel


@contextmanager
def serve(url: str, home: Path, workers: int, target: str = "comptoir.kernel.asgi:app") -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "COMPTOIR_HOME": str(home), "COMPTOIR_DATABASE_URL": url}
    proc = subprocess.Popen([UVICORN, target, "--factory", "--host", "127.0.0.1", "--port",
                             str(port), "--workers", str(workers), "--no-access-log", "--log-level", "warning"],
                            env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            raise RuntimeError("uvicorn did not start")
        for _ in range(20 * workers):  # warm every worker (imports, pools, templates)
            httpx.get(base + "/api/v1/products?limit=24")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def wrk(url: str, seconds: int, *, bust: bool) -> dict[str, float]:
    script = ""
    if bust:
        fd, script = tempfile.mkstemp(suffix=".lua")
        os.write(fd, b'request = function() return wrk.format("GET", "/api/v1/products?limit=24&r=" .. '
                     b'math.random(1, 1000000000)) end\n')
        os.close(fd)
    cmd = ["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", *(["-s", script] if script else []), url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    if script:
        os.unlink(script)

    def ms(label: str) -> float:
        m = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out)
        assert m, out
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
            "p50_ms": ms("50%"), "p99_ms": ms("99%"), "errors": int(errors.group(1)) if errors else 0}


def bench_catalog(seconds: int) -> None:
    if not shutil.which("wrk"):
        print("catalog: wrk is not installed (apt-get install wrk); skipped")
        return
    with database("sqlite") as url, tempfile.TemporaryDirectory() as d:
        home = Path(d)
        prepare(url, home, products=120).close()
        print("catalog listing, 24 products with prices and stock, SQLite, wrk -t2 -c32")
        for workers in (1, 2):
            with serve(url, home, workers) as base:
                for bust in (False, True):
                    r = wrk(base + "/api/v1/products?limit=24", seconds, bust=bust)
                    label = "every request queries" if bust else "as served (1 s micro-cache)"
                    print(f"  workers={workers}  {label:<28} {r['rps']:8.0f} req/s   p50 {r['p50_ms']:.1f} ms"
                          f"   p99 {r['p99_ms']:.1f} ms   non-2xx {r['errors']}")


async def _checkout_client(base: str, skus: list[str], stop_at: float, lat: list[float], rng: random.Random) -> int:
    done = 0
    async with httpx.AsyncClient(base_url=base, timeout=30) as c:
        while time.monotonic() < stop_at:
            t0 = time.perf_counter()
            cart = (await c.post("/api/v1/carts", json={})).json()["token"]
            for sku in rng.sample(skus, rng.randint(1, 2)):
                (await c.post(f"/api/v1/carts/{cart}/items", json={"sku": sku})).raise_for_status()
            quotes = (await c.post(f"/api/v1/carts/{cart}/shipping-quotes", json={"address": ADDRESS})).json()
            methods = (await c.get(f"/api/v1/carts/{cart}/payment-methods")).json()
            r = await c.post("/api/v1/checkout", json={
                "cart_token": cart, "email": "bench@example.com", "address": ADDRESS,
                "shipping_quote_id": quotes[0]["id"], "payment_method_id": methods[0]["id"]})
            if r.status_code != 201:
                raise RuntimeError(f"checkout failed: {r.status_code} {r.text}")
            lat.append(time.perf_counter() - t0)
            done += 1
    return done


def _cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User+system CPU seconds per live process, from /proc."""
    out = {}
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except FileNotFoundError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return out


def _cpu_used(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU used between two samples; processes born in between count from zero (the
    server's pool opens PostgreSQL connections under load)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def _pids(pattern: str) -> list[int]:
    """Processes matching ``pattern`` and all their descendants (uvicorn's worker processes)."""
    found = [int(x) for x in subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True).stdout.split()]
    todo = list(found)
    while todo:
        kids = subprocess.run(["pgrep", "-P", str(todo.pop())], capture_output=True, text=True).stdout.split()
        todo += [int(k) for k in kids if int(k) not in found]
        found += [int(k) for k in kids if int(k) not in found]
    return found


def _checkout_wrk(base: str, skus_file: str, seconds: int, clients: int) -> tuple[int, int, float]:
    """Orders, failures and seconds from wrk running bench/checkout_flow.lua."""
    out = subprocess.run(["wrk", f"-t{clients}", f"-c{clients}", f"-d{seconds}s", "-s",
                          str(Path(__file__).with_name("checkout_flow.lua")), base],
                         capture_output=True, text=True, check=True, env={**os.environ, "SKUS_FILE": skus_file}).stdout
    m = re.search(r"ORDERS (\d+) FAILURES (\d+) SECONDS ([\d.]+)", out)
    assert m, out
    return int(m.group(1)), int(m.group(2)), float(m.group(3))


def bench_checkout(seconds: int, workers: int, clients: int = 4, client: str = "wrk") -> None:
    """``client``: ``wrk`` (C load generator, a Lua script drives the flow) or ``httpx``
    (asyncio; its own CPU competes with the server on this 2-core machine)."""
    if client == "wrk" and not shutil.which("wrk"):
        print("checkout: wrk is not installed (apt-get install wrk); using the httpx client")
        client = "httpx"
    with database("postgres") as url, tempfile.TemporaryDirectory() as d:
        home = Path(d)
        kernel = prepare(url, home, products=200)
        with transaction(kernel.factory) as s:  # plenty of stock: measure checkout, not sell-outs
            for lvl in s.scalars(select(StockLevel)):
                lvl.on_hand += 1_000_000
        from comptoir.kernel.domain import Variant

        with kernel.factory() as s:
            skus = list(s.scalars(select(Variant.sku)))
        kernel.close()
        skus_file = home / "skus.txt"
        skus_file.write_text("\n".join(skus) + "\n")
        with serve(url, home, workers) as base:
            cpu0 = (_cpu_seconds(_pids("comptoir.kernel.asgi:app")), _cpu_seconds(_pids("postgres")))
            lat: list[float] = []
            failures = 0
            if client == "wrk":
                n, failures, wall = _checkout_wrk(base, str(skus_file), seconds, clients)
            else:
                async def run() -> int:
                    stop_at = time.monotonic() + seconds
                    rngs = [random.Random(i) for i in range(clients)]
                    return sum(await asyncio.gather(*[_checkout_client(base, skus, stop_at, lat, r) for r in rngs]))

                t0 = time.perf_counter()
                n = asyncio.run(run())
                wall = time.perf_counter() - t0
            cpu1 = (_cpu_seconds(_pids("comptoir.kernel.asgi:app")), _cpu_seconds(_pids("postgres")))
        per_order = [_cpu_used(a, b) / max(n, 1) * 1000 for a, b in zip(cpu0, cpu1)]
        line = (f"checkout over HTTP, PostgreSQL, {clients} clients ({client}), uvicorn workers={workers}: "
                f"{n / wall:.1f} orders/s ({n} orders in {wall:.1f} s; 5 requests each; {failures} failed flows); "
                f"CPU per order: server {per_order[0]:.1f} ms, PostgreSQL {per_order[1]:.1f} ms")
        if lat:
            xs = sorted(lat)
            line += (f"; per order p50 {statistics.median(xs) * 1000:.1f} ms"
                     f", p99 {xs[int(0.99 * (len(xs) - 1))] * 1000:.1f} ms")
        print(line)


def bench_reco(requests: int) -> None:
    with database("sqlite") as url, tempfile.TemporaryDirectory() as d:
        home = Path(d)
        kernel = prepare(url, home, products=120, orders=400)
        if not kernel.host.records.get("recommendations") or not kernel.host.records["recommendations"].enabled:
            print("recommendations plugin not enabled; skipped")
            kernel.close()
            return
        kernel.host.call("recommendations_train", reason="bench")
        from comptoir.kernel.domain import Order
        from comptoir.kernel.web.auth.customers import CustomerTokens
        from comptoir.kernel.web.auth.secret import ensure_secret

        with kernel.factory() as s:
            cids = sorted(set(s.scalars(select(Order.customer_id).where(Order.customer_id.is_not(None)))))
        tokens = CustomerTokens(ensure_secret(kernel.settings))
        kernel.close()
        with serve(url, home, 1) as base, httpx.Client(base_url=base) as c:
            lat = []
            empty = 0
            for i in range(requests):
                h = {"X-Customer-Token": tokens.issue(cids[i % len(cids)])}
                t0 = time.perf_counter()
                r = c.get("/api/v1/recommendations", params={"kind": "for_you", "k": 8}, headers=h)
                lat.append(time.perf_counter() - t0)
                r.raise_for_status()
                empty += not r.json()
        xs = sorted(lat)
        print(f"recommendations for_you over HTTP ({requests} sequential requests, {len(cids)} customers): "
              f"median {statistics.median(xs) * 1000:.2f} ms, p99 {xs[int(0.99 * (len(xs) - 1))] * 1000:.2f} ms"
              f" ({empty} empty answers)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parts", default="catalog,checkout,reco")
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--checkout-workers", type=int, default=2)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--client", choices=("wrk", "httpx"), default="wrk")
    ap.add_argument("--reco-requests", type=int, default=2000)
    args = ap.parse_args()
    parts = args.parts.split(",")
    if "catalog" in parts:
        bench_catalog(args.seconds)
    if "checkout" in parts:
        bench_checkout(args.seconds, args.checkout_workers, args.clients, args.client)
    if "reco" in parts:
        bench_reco(args.reco_requests)


if __name__ == "__main__":
    main()
