"""The double-entry ledger: accounts, balanced postings, derived balances.

Accounts (one per currency):

- ``clearing`` (asset): money collected from merchants and not yet paid out or refunded.
- ``revenue`` (revenue): the marketplace's share.
- ``vendor:<id>`` (liability): what the marketplace owes vendor ``<id>``.

A charge debits ``clearing`` by the gross and credits the vendor and ``revenue`` with
their parts; a refund, proration credit or dispute does the reverse; a payout debits the
vendor account and credits ``clearing``. :func:`post` is the only writer and refuses an
unbalanced transaction, so ``SUM(amount)`` per currency is zero at every commit.
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from comptoir.marketplace.billing.models import Account, Entry, Txn

KINDS = {"clearing": "asset", "revenue": "revenue"}


class Unbalanced(ValueError):
    """A transaction whose entries do not add up to zero (a bug, never user input)."""


def vendor_code(vendor_id: int) -> str:
    return f"vendor:{vendor_id}"


def account(s: Session, code: str, currency: str) -> Account:
    """The account ``code`` in ``currency``, created on first use (race-safe).

    Cached in the session (accounts are never deleted), so a batch of postings — a
    payout run — looks each account up once."""
    cache: dict[tuple[str, str], Account] = s.info.setdefault("billing_accounts", {})
    if (code, currency) in cache:
        return cache[(code, currency)]
    acct = s.scalar(select(Account).where(Account.code == code, Account.currency == currency))
    if acct is not None:
        cache[(code, currency)] = acct
        return acct
    vendor_id = int(code.split(":", 1)[1]) if code.startswith("vendor:") else None
    try:
        with s.begin_nested():  # a concurrent creator wins the unique key; we then read its row
            acct = Account(code=code, currency=currency, kind=KINDS.get(code, "liability"), vendor_id=vendor_id)
            s.add(acct)
            s.flush()
    except IntegrityError:
        acct = s.scalar(select(Account).where(Account.code == code, Account.currency == currency))
        assert acct is not None
    cache[(code, currency)] = acct
    return acct


def _check(txn: Txn, legs: list[tuple[str, int]]) -> None:
    if sum(a for _, a in legs) != 0:
        raise Unbalanced(f"{txn.kind} {txn.ref or ''}: entries sum to {sum(a for _, a in legs)}, not 0")
    if txn.vendor_amount + txn.market_amount != txn.gross:
        raise Unbalanced(f"{txn.kind}: vendor {txn.vendor_amount} + marketplace {txn.market_amount} "
                         f"!= gross {txn.gross}")
    if txn.vendor_id is not None and txn.kind != "payout":
        sign = -1 if txn.kind == "charge" else 1  # charges credit the vendor; reversals debit it
        booked = sum(a for c, a in legs if c == vendor_code(txn.vendor_id))
        if booked != sign * txn.vendor_amount:
            raise Unbalanced(f"{txn.kind}: vendor entries {booked} disagree with vendor part {txn.vendor_amount}")


def post(s: Session, txn: Txn, legs: Iterable[tuple[str, int]]) -> Txn:
    """Write ``txn`` with one entry per ``(account code, amount)``; amounts are in
    ``txn.currency``, debit > 0. Raises :class:`Unbalanced` unless they add up to zero
    and agree with the transaction's gross/vendor/marketplace facts."""
    return post_many(s, [(txn, legs)])[0]


def post_many(s: Session, batch: list[tuple[Txn, Iterable[tuple[str, int]]]]) -> list[Txn]:
    """:func:`post` for many transactions with two flushes in all (payout runs): every
    transaction is checked before anything is written."""
    checked = []
    for txn, legs in batch:
        lines = [(code, amount) for code, amount in legs if amount != 0]
        _check(txn, lines)
        checked.append((txn, lines))
    s.add_all([txn for txn, _ in checked])
    s.flush()
    s.add_all([Entry(txn_id=txn.id, account_id=account(s, code, txn.currency).id,  # type: ignore[arg-type]
                     amount=amount, currency=txn.currency)
               for txn, lines in checked for code, amount in lines])
    s.flush()
    return [txn for txn, _ in checked]


def balances(s: Session) -> list[dict[str, Any]]:
    """Every account with its balance (debit-positive), derived by SUM over entries."""
    rows = s.execute(select(Account.code, Account.currency, Account.kind, func.coalesce(func.sum(Entry.amount), 0))
                     .join(Entry, Entry.account_id == Account.id, isouter=True)
                     .group_by(Account.id, Account.code, Account.currency, Account.kind)
                     .order_by(Account.currency, Account.code)).all()
    return [{"account": c, "currency": cur, "kind": k, "balance": int(b)} for c, cur, k, b in rows]


def balance(s: Session, code: str, currency: str) -> int:
    total = s.scalar(select(func.coalesce(func.sum(Entry.amount), 0)).join(Account, Account.id == Entry.account_id)
                     .where(Account.code == code, Account.currency == currency))
    return int(total or 0)


def totals_by_currency(s: Session) -> dict[str, int]:
    """SUM(amount) per currency over the whole ledger: zero for each when balanced."""
    return {c: int(t) for c, t in s.execute(select(Entry.currency, func.sum(Entry.amount)).group_by(Entry.currency))}


def unbalanced_txns(s: Session) -> list[int]:
    """Ids of transactions whose entries do not sum to zero (should always be empty)."""
    return list(s.scalars(select(Entry.txn_id).group_by(Entry.txn_id).having(func.sum(Entry.amount) != 0)))
