"""The `comptoir` command: real runs in a subprocess; errors are one line, not tracebacks."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

COMPTOIR = [sys.executable, "-m", "comptoir.kernel.cli.__main__"]


def run(args: list[str], home: Path, **env: str) -> subprocess.CompletedProcess[str]:
    e = {**os.environ, "COMPTOIR_HOME": str(home), **env}
    e.pop("COMPTOIR_DATABASE_URL", None) if "COMPTOIR_DATABASE_URL" not in env else None
    return subprocess.run([sys.executable, "-c", "from comptoir.kernel.cli import main; main()", *args],
                          capture_output=True, text=True, env=e, timeout=180)


@pytest.mark.slow
def test_demo_then_order_from_the_cli(tmp_path: Path) -> None:
    r = run(["demo", "--no-serve", "--products", "15", "--customers", "5", "--orders", "5"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "plugins enabled:" in r.stdout and "manual-payment" in r.stdout
    r = run(["plugins", "list"], tmp_path)
    assert "flat-rate-shipping" in r.stdout and "enabled" in r.stdout
    from sqlalchemy import create_engine, text

    engine = create_engine(f"sqlite:///{tmp_path / 'shop.db'}")
    with engine.connect() as c:
        sku = c.execute(text("SELECT v.sku FROM variant v JOIN stock_level s ON s.variant_id = v.id "
                             "WHERE s.on_hand - s.reserved > 5 LIMIT 1")).scalar_one()
    engine.dispose()
    r = run(["orders", "place", "--sku", f"{sku}:2", "--email", "ada@example.com", "--name", "Ada",
             "--line1", "1 rue", "--postal-code", "75001", "--city", "Paris"], tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("order C") and "placed" in r.stdout
    number = r.stdout.split()[1]
    assert run(["orders", "mark-paid", number], tmp_path).stdout.strip().endswith("is paid")
    assert "tracking" in run(["orders", "fulfil", number], tmp_path).stdout
    assert "fulfilled" in run(["orders", "list", "--status", "fulfilled"], tmp_path).stdout


@pytest.mark.parametrize("args,needle", [
    (["plugins", "enable", "nope"], "no plugin 'nope' is installed"),
    (["orders", "place", "--sku", "NOPE", "--email", "a@b.co", "--name", "A", "--line1", "x",
      "--postal-code", "1", "--city", "c"], "no product variant with SKU 'NOPE'"),
    (["orders", "mark-paid", "C9999999"], "no order 9999999"),
    (["orders", "refund", "x1", "100"], "is not an order number"),
])
def test_errors_are_one_clear_line(tmp_path: Path, args: list[str], needle: str,
                                   monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # in process, through the same entry point as the installed command (a subprocess
    # run is covered by the tests around this one)
    from comptoir.kernel.cli import main

    monkeypatch.setenv("COMPTOIR_HOME", str(tmp_path))
    monkeypatch.delenv("COMPTOIR_DATABASE_URL", raising=False)
    with pytest.raises(SystemExit) as exit_:
        main(args)
    err = capsys.readouterr().err
    assert exit_.value.code != 0
    assert "Traceback" not in err
    assert needle in err
    assert len([ln for ln in err.splitlines() if ln.strip()]) <= 3


def test_unreachable_database_is_explained(tmp_path: Path) -> None:
    r = run(["plugins", "list"], tmp_path, COMPTOIR_DATABASE_URL="postgresql://nobody@127.0.0.1:1/none")
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert "COMPTOIR_DATABASE_URL" in r.stderr
