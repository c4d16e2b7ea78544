"""``comptoir billing``: policy, statements (CSV + HTML files), payout run and its replay."""
from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from comptoir.kernel.cli import cli
from comptoir.kernel.errors import ValidationFailed
from comptoir.marketplace.billing import Billing
from comptoir.marketplace.billing import subscriptions as subs
from comptoir.marketplace.models import Plugin, Vendor
from comptoir.marketplace.service import Marketplace
from comptoir.marketplace.settings import MarketSettings


def test_operator_commands(tmp_path: Path, monkeypatch: Any) -> None:
    home = tmp_path / "market"
    monkeypatch.setenv("COMPTOIR_MARKETPLACE_HOME", str(home))
    monkeypatch.delenv("COMPTOIR_MARKETPLACE_DATABASE_URL", raising=False)
    mp = Marketplace(MarketSettings.from_env())
    with mp.factory() as s, s.begin():
        v = Vendor(name="acme", token_hash=uuid.uuid4().hex)
        s.add(v)
        s.flush()
        s.add(Plugin(id="colis", vendor_id=v.id, dist_name="colis", name="Colis", category="shipping",
                     pricing={"model": "recurring", "price": 2000, "interval": "month"}))
    b = Billing.of(mp)
    subs.install(b, "shop-1", "colis", today=date(2026, 11, 3))
    mp.close()
    runner = CliRunner()

    r = runner.invoke(cli, ["billing", "policy"])
    assert r.exit_code == 0 and "100% of lifetime revenue up to 1000000.00 EUR and 85% above" in r.output
    r = runner.invoke(cli, ["billing", "policy", "--threshold", "1000", "--rate-above", "8000"])
    assert "up to 10.00 EUR and 80% above" in r.output
    r = runner.invoke(cli, ["billing", "policy", "--rate-above", "20000"])
    # a ComptoirError: `comptoir.kernel.cli.main` prints it as one line
    assert isinstance(r.exception, ValidationFailed) and "rate_above_bp" in r.exception.message

    r = runner.invoke(cli, ["billing", "statements", "--month", "2026-11", "--out", str(tmp_path / "out")])
    assert r.exit_code == 0, r.output
    assert "acme" in r.output and "20.00 EUR" in r.output
    assert (tmp_path / "out" / "statements-2026-11.csv").read_text().splitlines()[1].startswith("acme,2026-11,EUR,2000")
    assert "acme" in (tmp_path / "out" / "statements-2026-11.html").read_text()

    r = runner.invoke(cli, ["billing", "payout-run", "--month", "2026-11", "--date", "2026-12-02"])
    assert r.exit_code == 0 and "1 payouts, 20.00 EUR" in r.output
    r = runner.invoke(cli, ["billing", "payout-run", "--month", "2026-11", "--date", "2026-12-02"])
    assert "already ran" in r.output
    r = runner.invoke(cli, ["billing", "payout-run", "--month", "2026-13"])
    assert isinstance(r.exception, ValidationFailed) and "2026-11" in r.exception.message
