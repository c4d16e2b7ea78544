"""The append-only, hash-chained audit log of credential uses, grants and rotations.

Each row stores the previous row's hash and a SHA-256 over the canonical JSON of its
own fields (id included), so editing, deleting or reordering rows breaks the chain;
``cred_audit_head`` remembers the tip, so truncating the tail is detected too.
Appends serialize on the head row (``SELECT … FOR UPDATE`` on PostgreSQL, the
``BEGIN IMMEDIATE`` write lock on SQLite) and run inside the caller's transaction:
when the audit row cannot be written, the whole use is rolled back and refused.
Rows hold identifiers only, never secret values.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.credentials.models import AuditEntry, AuditHead

GENESIS = "0" * 64
HEAD = "audit"
_head = AuditHead.__table__  # type: ignore[attr-defined]
_audit = AuditEntry.__table__  # type: ignore[attr-defined]


def canonical(row: dict[str, Any]) -> bytes:
    """The bytes hashed for one row: sorted keys, no spaces, UTF-8."""
    fields = {k: row[k] for k in ("id", "at", "actor", "action", "plugin", "target", "detail", "prev_hash")}
    return json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def row_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(row)).hexdigest()


def _lock_head(session: Session) -> tuple[int, str]:
    q = select(_head.c.last_id, _head.c.last_hash).where(_head.c.name == HEAD)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    found = session.execute(q).first()
    if found is None:  # first append ever (or after a test truncation): create the head
        ins = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        session.execute(ins(_head).values(name=HEAD, last_id=0, last_hash=GENESIS).on_conflict_do_nothing())
        found = session.execute(q).first()
        assert found is not None
    return int(found[0]), str(found[1])


def append(session: Session, *, actor: str, action: str, plugin: str = "", target: str = "",
           detail: dict[str, Any] | None = None) -> int:
    """Append one row inside the caller's transaction; returns its id.

    ``detail`` must hold identifiers only (account ids, versions, rights), never values.
    """
    last_id, last_hash = _lock_head(session)
    row = {"id": last_id + 1, "at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
           "actor": actor, "action": action, "plugin": plugin, "target": target,
           "detail": detail or {}, "prev_hash": last_hash}
    row["hash"] = row_hash(row)
    session.execute(insert(_audit).values(**row))
    session.execute(update(_head).where(_head.c.name == HEAD).values(last_id=row["id"], last_hash=row["hash"]))
    return int(row["id"])


def entries(factory: sessionmaker[Session], *, plugin: str | None = None, action: str | None = None,
            limit: int = 100) -> list[dict[str, Any]]:
    """Most recent first."""
    q = select(_audit).order_by(_audit.c.id.desc()).limit(limit)
    if plugin:
        q = q.where(_audit.c.plugin == plugin)
    if action:
        q = q.where(_audit.c.action == action)
    with factory() as s:
        return [dict(r._mapping) for r in s.execute(q)]


def verify(factory: sessionmaker[Session], *, batch: int = 5000) -> list[str]:
    """Walk the whole chain; returns the problems found (empty when intact)."""
    problems: list[str] = []
    prev_hash, expect_id, after = GENESIS, 1, 0
    with factory() as s:
        while True:
            rows = s.execute(select(_audit).where(_audit.c.id > after).order_by(_audit.c.id).limit(batch)).all()
            if not rows:
                break
            for r in rows:
                row = dict(r._mapping)
                if row["id"] != expect_id:
                    problems.append(f"row {expect_id} is missing (next row is {row['id']})")
                if row["prev_hash"] != prev_hash:
                    problems.append(f"row {row['id']}: previous-hash link broken (rows deleted or reordered)")
                if row_hash(row) != row["hash"]:
                    problems.append(f"row {row['id']}: content does not match its hash (edited)")
                prev_hash, expect_id, after = row["hash"], row["id"] + 1, row["id"]
        head = s.execute(select(_head).where(_head.c.name == HEAD)).first()
    if head is not None:
        if head.last_id != expect_id - 1 or head.last_hash != prev_hash:
            problems.append(f"chain ends at row {expect_id - 1} but the head records row {head.last_id} "
                            "(rows removed from the end, or the head was altered)")
    elif expect_id > 1:
        problems.append("the audit head is missing")
    return problems
