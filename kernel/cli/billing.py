"""``comptoir billing …``: the operator's statements, payout runs and policy, and the
shop's usage forwarder.

Marketplace commands read COMPTOIR_MARKETPLACE_HOME / _DATABASE_URL like
``comptoir marketplace serve``; ``forward-usage`` and ``usage`` act on the shop.
"""
from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click

from comptoir.kernel.cli.base import cli, table, with_kernel
from comptoir.kernel.errors import ValidationFailed


def _billing() -> tuple[Any, Any]:
    from comptoir.marketplace.billing import Billing
    from comptoir.marketplace.service import Marketplace
    from comptoir.marketplace.settings import MarketSettings

    mp = Marketplace(MarketSettings.from_env())
    return mp, Billing.of(mp)


def _day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(f"--date must look like 2026-12-01, got {value!r}") from None


def _amount(minor: int, currency: str) -> str:
    from comptoir.kernel.money import Money

    return Money(int(minor), currency).format()


@cli.group()
def billing() -> None:
    """Plugin billing: statements, payouts, revenue-share policy, usage."""


@billing.command("statements")
@click.option("--month", required=True, help="The month, e.g. 2026-11.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also write statements-MONTH.csv and .html into this folder.")
def billing_statements(month: str, out: Path | None) -> None:
    """Compute every vendor's statement for MONTH (gross, share, refunds, net, payout)."""
    from comptoir.marketplace.billing import statements as stm
    from comptoir.marketplace.billing.web import templates

    mp, b = _billing()
    try:
        rows = stm.statements(b, month)
    finally:
        mp.close()
    click.echo(table([[r["vendor"], r["currency"], _amount(r["gross"], r["currency"]),
                       _amount(r["share"], r["currency"]), _amount(r["refunds_gross"], r["currency"]),
                       _amount(r["net"], r["currency"]), _amount(r["payout"], r["currency"]), r["status"]]
                      for r in rows], ["vendor", "cur", "gross", "share", "refunds", "net", "payout", "status"]))
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / f"statements-{month}.csv").write_text(stm.to_csv(rows, stm.STATEMENT_COLUMNS))
        html = templates.env.get_template("statements.html").render(month=month, statements=rows)
        (out / f"statements-{month}.html").write_text(html)
        click.echo(f"wrote {out / f'statements-{month}.csv'} and .html")


@billing.command("payout-run")
@click.option("--month", required=True, help="A month that is over, e.g. 2026-11.")
@click.option("--date", "day", default=None, help="The run's date (default: today, UTC).")
def billing_payout_run(month: str, day: str | None) -> None:
    """Pay vendors what they are owed through MONTH; running it again changes nothing."""
    from comptoir.marketplace.billing import statements as stm

    mp, b = _billing()
    try:
        run = stm.payout_run(b, month, _day(day))
    finally:
        mp.close()
    totals = ", ".join(_amount(v, c) for c, v in sorted(run["totals"].items())) or "nothing"
    verb = "already ran on" if run["replay"] else "ran on"
    click.echo(f"payout run {run['month']} {verb} {run['day']}: {run['payouts']} payouts, {totals}")


@billing.command("policy")
@click.option("--threshold", type=int, default=None, help="Lifetime revenue (minor units) kept at --rate-below.")
@click.option("--rate-below", type=int, default=None, help="Vendor's basis points under the threshold (10000 = 100%).")
@click.option("--rate-above", type=int, default=None, help="Vendor's basis points above the threshold.")
@click.option("--currency", default=None, help="The marketplace currency the threshold is in.")
def billing_policy(threshold: int | None, rate_below: int | None, rate_above: int | None,
                   currency: str | None) -> None:
    """Show the revenue-share policy, or set it with the options given."""
    mp, b = _billing()
    try:
        if any(v is not None for v in (threshold, rate_below, rate_above, currency)):
            b.set_policy(currency=currency, threshold=threshold, rate_below_bp=rate_below, rate_above_bp=rate_above,
                         set_by="cli")
        _, p = b.policy()
    finally:
        mp.close()
    click.echo(f"vendors keep {p.rate_below_bp / 100:g}% of lifetime revenue up to "
               f"{_amount(p.threshold, p.currency)} and {p.rate_above_bp / 100:g}% above it")


@billing.command("run")
@click.option("--date", "day", default=None, help="Run as of this date (default: today, UTC).")
def billing_run(day: str | None) -> None:
    """The daily run: renew subscriptions that are due, charge closed months' usage."""
    from comptoir.marketplace.billing import subscriptions as subs
    from comptoir.marketplace.billing import usage

    mp, b = _billing()
    try:
        renewed = subs.renew_all(b, _day(day))
        closed = usage.close_before(b, _day(day))
    finally:
        mp.close()
    click.echo(f"{renewed} renewals, {closed} usage charges")


@billing.command("refund")
@click.argument("charge_id", type=int)
@click.option("--amount", type=int, default=None, help="Minor units (default: all that is left).")
@click.option("--dispute", is_flag=True, help="Record a lost dispute (chargeback) instead of a refund.")
def billing_refund(charge_id: int, amount: int | None, dispute: bool) -> None:
    """Reverse a charge; vendor and marketplace give back in proportion to its split."""
    mp, b = _billing()
    try:
        t = b.reverse(charge_id, amount, kind="dispute" if dispute else "refund")
    finally:
        mp.close()
    click.echo(f"{t['kind']} #{t['id']}: {_amount(t['gross'], t['currency'])} "
               f"(vendor {_amount(t['vendor'], t['currency'])}, marketplace {_amount(t['marketplace'], t['currency'])})")


@billing.command("forward-usage")
@with_kernel
def billing_forward_usage(kernel: Any) -> None:
    """Send this shop's pending usage records to the marketplace (retry-safe)."""
    from comptoir.kernel.billing_usage import forward_usage

    r = forward_usage(kernel)
    click.echo(f"{r['sent']} sent, {r['failed']} failed, {r['pending']} pending")


@billing.command("usage")
@with_kernel
def billing_usage(kernel: Any) -> None:
    """Usage records of this shop not yet accepted by the marketplace."""
    from comptoir.kernel.billing_usage import pending

    rows = pending(kernel)
    click.echo(table([[r["plugin"], r["unit"], str(r["quantity"]), r["key"], str(r["attempts"]), r["last_error"]]
                      for r in rows], ["plugin", "unit", "qty", "key", "attempts", "last error"]))
