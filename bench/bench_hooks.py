"""Hook dispatch overhead with the journal on: a collect hook with three implementations.

Measures ``host.call("shipping_quotes", …)`` with three trivial carriers (each returns a
prebuilt list, so what is timed is dispatch: pluggy, the isolation wrapper, ctx injection,
timing and the journal append), against calling the three functions directly.

    .venv/bin/python bench/bench_hooks.py
"""
from __future__ import annotations

import gc
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from comptoir.kernel.db import make_engine, session_factory  # noqa: E402
from comptoir.kernel.hookspecs import hookimpl  # noqa: E402
from comptoir.kernel.journal import Journal  # noqa: E402
from comptoir.kernel.manifest import parse_manifest  # noqa: E402
from comptoir.kernel.migrate import upgrade  # noqa: E402
from comptoir.kernel.money import Money  # noqa: E402
from comptoir.kernel.plugins import PluginHost  # noqa: E402
from comptoir.kernel.settings import Settings  # noqa: E402
from comptoir.kernel.types import Address, ShipmentRequest, ShippingQuote  # noqa: E402

SHIPMENT = ShipmentRequest(destination=Address("A", "1 rue", "75001", "Paris", "FR"), weight_grams=1,
                           value=Money(1000, "EUR"))


def carrier(i: int) -> object:
    quotes = [ShippingQuote(id=f"c{i}", carrier=f"c{i}", service="std", price=Money(100 * i, "EUR"),
                            min_days=1, max_days=2)]

    class Carrier:
        @hookimpl
        def shipping_quotes(self, ctx: object, shipment: ShipmentRequest) -> list[ShippingQuote]:
            return quotes

    return Carrier()


def rounds(fn, flush=None, calls: int = 20_000, repeat: int = 7) -> tuple[list[float], list[float]]:  # type: ignore[no-untyped-def]
    """Per-call wall time and per-call CPU time of this process. CPU time includes the
    journal writer (flushed inside the round), and is what other processes on a busy
    machine do not inflate."""
    wall, cpu = [], []
    for _ in range(repeat):
        gc.collect()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(calls):
            fn()
        if flush is not None:
            flush()  # the writer's work for these calls belongs to this round
        wall.append((time.perf_counter() - t0) / calls * 1e6)
        cpu.append((time.process_time() - c0) / calls * 1e6)
    return wall, cpu


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        url = f"sqlite:///{d}/b.db"
        engine = make_engine(url)
        upgrade(engine)
        factory = session_factory(engine)
        host = PluginHost(Settings(home=Path(d), database_url=url), factory,
                          journal=Journal(factory, enabled=True))
        plugins = [carrier(i) for i in range(3)]
        for i, p in enumerate(plugins):
            host.add(p, parse_manifest({"id": f"carrier-{i}", "name": "c", "version": "1", "vendor": "b"}))
            host.enable(f"carrier-{i}", persist=False)
        call = lambda: host.call("shipping_quotes", shipment=SHIPMENT)  # noqa: E731
        assert len(call()) == 3
        direct = lambda: [q for p in plugins for q in p.shipping_quotes(None, SHIPMENT)]  # type: ignore[attr-defined]  # noqa: E731
        host_wall, host_cpu = rounds(call, host.journal.flush)
        direct_wall, direct_cpu = rounds(direct)
        rows = host.journal.entries(limit=1)
        assert rows and host.journal.dropped == 0
        host.stop()
        med = statistics.median
        print(f"hook with 3 implementations, journal on (3 rows written per call):")
        print(f"  CPU  median {med(host_cpu):6.2f} us/call  (rounds {', '.join(f'{x:.1f}' for x in sorted(host_cpu))})")
        print(f"  wall median {med(host_wall):6.2f} us/call  (rounds {', '.join(f'{x:.1f}' for x in sorted(host_wall))})")
        print(f"direct calls of the same 3 functions: CPU median {med(direct_cpu):.2f} us/call")
        print(f"dispatch + journal overhead (CPU): {med(host_cpu) - med(direct_cpu):.2f} us/call")


if __name__ == "__main__":
    main()
