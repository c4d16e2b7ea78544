"""The hash-chained audit log: intact chains verify, every kind of tampering is found,
concurrent appends keep one chain, and a use whose audit row fails is refused."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import text

from comptoir.kernel.credentials import audit
from comptoir.kernel.credentials.errors import AuditUnavailable
from comptoir.kernel.runtime import Kernel


def _fill(k: Kernel, n: int = 5) -> None:
    for i in range(n):
        with k.factory() as s, s.begin():
            audit.append(s, actor="t", action="test", plugin="p-one", target=f"row:{i}", detail={"i": i})


def _drop_guard(k: Kernel) -> None:
    """An attacker with database access first removes the append-only trigger."""
    with k.engine.begin() as c:
        if k.engine.dialect.name == "postgresql":
            c.execute(text("DROP TRIGGER IF EXISTS cred_audit_no_change ON cred_audit"))
        else:
            c.execute(text("DROP TRIGGER IF EXISTS cred_audit_no_update"))
            c.execute(text("DROP TRIGGER IF EXISTS cred_audit_no_delete"))


def test_intact_chain_verifies(ck: Kernel) -> None:
    _fill(ck)
    assert audit.verify(ck.factory) == []
    rows = audit.entries(ck.factory)
    assert [r["id"] for r in rows] == [5, 4, 3, 2, 1]
    assert rows[0]["prev_hash"] == rows[1]["hash"]


def test_database_refuses_update_and_delete(ck: Kernel) -> None:
    _fill(ck, 2)
    with pytest.raises(Exception, match="append-only"):
        with ck.engine.begin() as c:
            c.execute(text("UPDATE cred_audit SET actor = 'x' WHERE id = 1"))
    with pytest.raises(Exception, match="append-only"):
        with ck.engine.begin() as c:
            c.execute(text("DELETE FROM cred_audit WHERE id = 1"))


@pytest.mark.parametrize("attack", ["edit", "delete", "reorder", "truncate"])
def test_tampering_is_detected(ck: Kernel, attack: str) -> None:
    _fill(ck, 6)
    _drop_guard(ck)
    with ck.engine.begin() as c:
        if attack == "edit":
            c.execute(text("UPDATE cred_audit SET target = 'row:forged' WHERE id = 3"))
        elif attack == "delete":
            c.execute(text("DELETE FROM cred_audit WHERE id = 3"))
        elif attack == "reorder":  # swap the contents of rows 2 and 4, hashes included
            c.execute(text("UPDATE cred_audit SET id = 100 WHERE id = 2"))
            c.execute(text("UPDATE cred_audit SET id = 2 WHERE id = 4"))
            c.execute(text("UPDATE cred_audit SET id = 4 WHERE id = 100"))
        else:
            c.execute(text("DELETE FROM cred_audit WHERE id >= 5"))
    problems = audit.verify(ck.factory)
    assert problems, attack


def test_concurrent_appends_keep_one_chain(ck: Kernel) -> None:
    barrier = threading.Barrier(8)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        barrier.wait()
        try:
            for i in range(15):
                with ck.factory() as s, s.begin():
                    audit.append(s, actor=f"w{n}", action="test", detail={"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert audit.verify(ck.factory) == []
    assert len(audit.entries(ck.factory, limit=1000)) == 120


def test_use_refused_when_audit_cannot_be_written(ck: Kernel, monkeypatch: pytest.MonkeyPatch) -> None:
    st = ck.services["credentials"].store
    st.create_account("p-one", "acct", kind="api_key")
    st.put("p-one", "acct", "api_key", "audited-secret-value", cas=0)
    before = len(audit.entries(ck.factory, limit=1000))

    def broken(*a: object, **kw: object) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(audit, "append", broken)
    with pytest.raises(AuditUnavailable) as err:
        st.read("p-one", "acct", "api_key", actor="t")
    assert "audited-secret-value" not in err.value.message
    monkeypatch.undo()
    assert len(audit.entries(ck.factory, limit=1000)) == before


def test_rows_hold_ids_not_values(ck_sqlite: Kernel) -> None:
    st = ck_sqlite.services["credentials"].store
    st.create_account("p-one", "acct", kind="api_key")
    st.put("p-one", "acct", "api_key", "never-in-audit-0042", cas=0)
    st.read("p-one", "acct", "api_key", actor="t")
    dump = repr(audit.entries(ck_sqlite.factory, limit=1000))
    assert "never-in-audit" not in dump and "0042" not in dump
