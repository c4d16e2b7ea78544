"""Several hostile plugins attack at once while shoppers keep ordering."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from comptoir.kernel.errors import PluginError
from tests.sandbox.conftest import Shop


def test_attacks_in_parallel_while_the_shop_serves(shop: Shop) -> None:
    names = {folder: shop.add(folder) for folder in ("hostile_resources", "hostile_process", "hostile_rpc",
                                                       "hostile_files", "hostile_net")}
    attacks = [
        ("hostile_resources", "cpu_loop", {}),
        ("hostile_process", "crash", {}),
        ("hostile_rpc", "oversized", {}),
        ("hostile_files", "read", {"path": str(shop.kernel.settings.home / "master.key")}),
        ("hostile_net", "udp", {"host": "127.0.0.1", "port": 9}),
    ]

    def run(folder: str, widget_id: str, config: dict[str, Any]) -> Any:
        try:
            return shop.kernel.host.call_one(names[folder], "widget_data", widget_id=widget_id, config=config)
        except PluginError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(attacks)) as pool:
        futures = [pool.submit(run, *a) for a in attacks]
        for _ in range(3):
            shop.assert_serving()  # orders go through while the attacks run
        outcomes = [f.result(timeout=30) for f in futures]
    for (folder, how, _), outcome in zip(attacks, outcomes):
        contained = isinstance(outcome, PluginError) or (isinstance(outcome, dict) and outcome["escaped"] is False)
        assert contained, f"{folder}/{how} was not contained: {outcome!r}"
        assert shop.master_key not in repr(outcome)
    shop.assert_serving()
