"""A process that dies mid-checkout leaves, after recovery, a whole order or nothing."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import func, select

from comptoir.kernel.domain import CheckoutAttempt, Order, Reservation, StockLevel
from tests.conftest import build_kernel
from tests.plugins.kernel_fixtures import FakeCard, manifest

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    sys.path.insert(0, {root!r})
    from tests.conftest import build_kernel
    from tests.kernel.services.helpers import make_shop, new_cart, buy
    from tests.plugins.kernel_fixtures import FakeCard, manifest
    k = build_kernel(Path({tmp!r}), {url!r}).boot()
    k.host.add(FakeCard(mode="crash"), manifest("fake-card"))
    k.host.enable("fake-card")
    make_shop(k, units=4)
    buy(k, new_cart(k, qty=3), method="card")
    print("unreachable: the payment plugin exits the process")
""")


def test_crash_between_authorization_and_order_is_recovered(tmp_path: Path, sqlite_url: str) -> None:
    root = str(Path(__file__).resolve().parents[3])
    proc = subprocess.run([sys.executable, "-c", CHILD.format(root=root, tmp=str(tmp_path), url=sqlite_url)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 17, proc.stderr[-2000:]

    kernel = build_kernel(tmp_path, sqlite_url).boot()
    card = FakeCard()
    kernel.host.add(card, manifest("fake-card"))
    kernel.host.enable("fake-card")
    try:
        with kernel.factory() as s:  # what the crash left: held stock, no order
            assert s.scalar(select(func.count()).select_from(Order)) == 0
            assert s.scalar(select(func.sum(StockLevel.reserved))) == 3
            assert [a.status for a in s.scalars(select(CheckoutAttempt))] == ["authorizing"]
        from comptoir.kernel.services.checkout import recover_stale_attempts

        assert recover_stale_attempts(kernel, older_than_s=0) == 1
        assert len(card.voided) == 1 and card.voided[0].startswith("pay-")  # the provider is told to void
        with kernel.factory() as s:
            assert s.scalar(select(func.count()).select_from(Order)) == 0
            assert s.scalar(select(func.count()).select_from(Reservation)) == 0
            assert s.execute(select(StockLevel.on_hand, StockLevel.reserved)).one() == (4, 0)
            assert [a.status for a in s.scalars(select(CheckoutAttempt))] == ["abandoned"]
        assert recover_stale_attempts(kernel, older_than_s=0) == 0  # idempotent
    finally:
        kernel.close()


def test_failure_inside_the_order_write_voids_and_leaves_nothing(kernel) -> None:  # type: ignore[no-untyped-def]
    """A wrapper plugin refusing the order (or the DB failing) rolls everything back."""
    from comptoir.kernel.hookspecs import hookimpl
    from tests.kernel.services.helpers import buy, make_shop, new_cart

    class Veto:
        @hookimpl(wrapper=True)
        def order_placement(self, ctx, draft):  # type: ignore[no-untyped-def]
            if draft.total.amount > 1000:
                raise PermissionError("orders above 10 EUR need approval")
            return (yield)

    card = FakeCard()
    kernel.host.add(card, manifest("fake-card"))
    kernel.host.enable("fake-card")
    kernel.host.add(Veto(), manifest("veto"))
    kernel.host.enable("veto")
    make_shop(kernel, units=2)
    import pytest

    with pytest.raises(PermissionError):
        buy(kernel, new_cart(kernel), method="card")
    assert len(card.voided) == 1
    with kernel.factory() as s:
        assert s.scalar(select(func.count()).select_from(Order)) == 0
        assert s.execute(select(StockLevel.on_hand, StockLevel.reserved)).one() == (2, 0)
