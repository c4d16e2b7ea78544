"""Validate the RFM segmentation on real purchase data: the CDNOW log.

    .venv/bin/pip install lifetimes      # ships lifetimes/datasets/CDNOW_master.txt
    .venv/bin/python bench/validate_rfm_cdnow.py

CDNOW: 69,659 transactions of 23,570 customers who first bought in Q1 1997, followed
until June 1998. Two checks:

1. Aggregation against a reference implementation: our per-customer recency and
   frequency agree with ``lifetimes.utils.summary_data_from_transaction_data`` (which
   counts repeat purchase *days*, so we compare on distinct days).
2. Predictive sense: segments computed on data up to 1997-12-31 are compared with who
   bought again in 1998-01-01 … 1998-06-30. Champions and loyal customers must come back
   far more often than hibernating and lost ones, and spend more.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from comptoir.kernel.services.segmentation import SEGMENTS, rfm_from_orders

DAY = 86_400.0


def cdnow_path() -> Path:
    try:
        import lifetimes  # type: ignore[import-not-found]
    except ImportError:
        sys.exit("lifetimes is not installed: .venv/bin/pip install lifetimes")
    return Path(lifetimes.__file__).parent / "datasets" / "CDNOW_master.txt"


def load() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(customer id, epoch seconds, amount in cents) per transaction."""
    raw = np.loadtxt(cdnow_path(), dtype=str, skiprows=1)
    cust = raw[:, 0].astype(np.int64)
    days = np.array([datetime.strptime(d, "%Y%m%d").replace(tzinfo=timezone.utc).timestamp() for d in raw[:, 1]])
    cents = np.round(raw[:, 3].astype(float) * 100).astype(np.int64)
    return cust, days, cents


def check_against_lifetimes(cust: np.ndarray, ts: np.ndarray, cents: np.ndarray) -> None:
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data  # type: ignore[import-not-found]

    end = datetime(1998, 6, 30, tzinfo=timezone.utc)
    df = pd.DataFrame({"customer": cust, "date": pd.to_datetime(ts, unit="s"), "value": cents / 100})
    ref = summary_data_from_transaction_data(df, "customer", "date", observation_period_end=end.strftime("%Y-%m-%d"),
                                             freq="D")
    # one "order" per customer and day, as lifetimes counts them
    key = np.unique(np.stack([cust, (ts // DAY).astype(np.int64)]), axis=1)
    rfm = rfm_from_orders(key[0], key[1] * DAY, np.zeros(key.shape[1], np.int64), now=end.timestamp())
    ref = ref.loc[rfm.customer_id]
    freq_ok = np.array_equal(rfm.frequency - 1, ref["frequency"].to_numpy().astype(np.int64))
    # lifetimes: recency = age at last purchase, T = age at period end → days since last = T - recency
    since_last = ref["T"].to_numpy() - ref["recency"].to_numpy()
    rec_ok = np.allclose(rfm.recency_days, since_last)
    print(f"vs lifetimes summary ({len(ref):,} customers): frequency {'equal' if freq_ok else 'DIFFERENT'}, "
          f"recency {'equal' if rec_ok else 'DIFFERENT'}")
    if not (freq_ok and rec_ok):
        sys.exit(1)


def check_predictive(cust: np.ndarray, ts: np.ndarray, cents: np.ndarray) -> None:
    cut = datetime(1998, 1, 1, tzinfo=timezone.utc).timestamp()
    past = ts < cut
    rfm = rfm_from_orders(cust[past], ts[past], cents[past], now=cut)
    fut = ~past
    came_back = np.isin(rfm.customer_id, cust[fut])
    spend = np.zeros(rfm.customer_id.shape[0], np.int64)
    pos = np.searchsorted(rfm.customer_id, cust[fut])
    np.add.at(spend, pos, cents[fut])
    print(f"\nsegments on 1997 data ({rfm.customer_id.size:,} customers, {past.sum():,} transactions); "
          f"outcome in H1 1998 ({fut.sum():,} transactions)")
    print(f"{'segment':12s} {'customers':>9s} {'share':>6s} {'bought again':>12s} {'avg 1998 spend':>14s}")
    rate = {}
    for code, name in enumerate(SEGMENTS):
        m = rfm.segment == code
        if not m.any():
            print(f"{name:12s} {0:9d}")
            continue
        rate[name] = came_back[m].mean()
        print(f"{name:12s} {m.sum():9,d} {m.mean():6.1%} {rate[name]:12.1%} {spend[m].mean() / 100:13.2f}$")
    print(f"{'all':12s} {rfm.customer_id.size:9,d} {1:6.0%} {came_back.mean():12.1%} {spend.mean() / 100:13.2f}$")
    ordered = rate["champions"] > rate["loyal"] > max(rate.get("hibernating", 0), rate.get("lost", 0))
    print("ordering champions > loyal > hibernating/lost:", "holds" if ordered else "DOES NOT HOLD")
    if not ordered:
        sys.exit(1)


def main() -> None:
    cust, ts, cents = load()
    print(f"CDNOW: {cust.size:,} transactions, {np.unique(cust).size:,} customers")
    check_against_lifetimes(cust, ts, cents)
    check_predictive(cust, ts, cents)


if __name__ == "__main__":
    main()
