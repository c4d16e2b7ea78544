"""Envelope encryption, check-and-set versions, soft delete and destroy, sealing."""
from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import select, update

from comptoir.kernel.credentials.errors import CredentialNotFound, DecryptionFailed, Sealed, VersionConflict
from comptoir.kernel.credentials.keys import ENV_VAR, encode_key
from comptoir.kernel.credentials.models import KekVersion, SecretVersion
from comptoir.kernel.credentials.store import mask
from comptoir.kernel.runtime import Kernel

from .conftest import make_kernel


def _store(k: Kernel):  # type: ignore[no-untyped-def]
    return k.services["credentials"].store


def test_roundtrip_and_fresh_key_and_nonce_per_version(ck: Kernel) -> None:
    st = _store(ck)
    st.create_account("shop-a", "stripe", kind="api_key")
    assert st.put("shop-a", "stripe", "api_key", "sk_test_same_value_0001", cas=0) == 1
    assert st.put("shop-a", "stripe", "api_key", "sk_test_same_value_0001", cas=1) == 2
    with ck.factory() as s:
        rows = list(s.scalars(select(SecretVersion).order_by(SecretVersion.version)))
    assert [r.version for r in rows] == [1, 2]
    a, b = rows
    assert b"sk_test" not in a.ciphertext and b"sk_test" not in a.wrapped_dek
    assert a.ciphertext[:12] != b.ciphertext[:12]  # fresh nonce
    assert a.wrapped_dek != b.wrapped_dek and a.ciphertext != b.ciphertext  # fresh data key
    assert st.read("shop-a", "stripe", "api_key", actor="t") == "sk_test_same_value_0001"
    assert st.read("shop-a", "stripe", "api_key", actor="t", version=1) == "sk_test_same_value_0001"


def test_ciphertext_moved_to_another_row_fails(ck: Kernel) -> None:
    st = _store(ck)
    st.create_account("shop-a", "stripe", kind="api_key")
    st.create_account("shop-b", "stripe", kind="api_key")
    st.put("shop-a", "stripe", "api_key", "sk_live_AAAAAAAAAAAAAAAA", cas=0)
    st.put("shop-b", "stripe", "api_key", "sk_live_BBBBBBBBBBBBBBBB", cas=0)
    st.put("shop-b", "stripe", "api_key", "sk_live_CCCCCCCCCCCCCCCC", cas=1)
    with ck.factory() as s, s.begin():
        rows = {(r.account_id, r.version): r for r in s.scalars(select(SecretVersion))}
        src = rows[(1, 1)]
        # an attacker with database access copies shop-a's key into shop-b's row
        s.execute(update(SecretVersion).where(SecretVersion.id == rows[(2, 2)].id)
                  .values(ciphertext=src.ciphertext, wrapped_dek=src.wrapped_dek))
    with pytest.raises(DecryptionFailed) as err:
        st.read("shop-b", "stripe", "api_key", actor="t")
    assert "sk_live" not in err.value.message
    # moving a version's ciphertext to another version of the same secret fails too
    with ck.factory() as s, s.begin():
        s.execute(update(SecretVersion).where(SecretVersion.id == rows[(2, 2)].id)
                  .values(ciphertext=rows[(2, 1)].ciphertext, wrapped_dek=rows[(2, 1)].wrapped_dek))
    with pytest.raises(DecryptionFailed):
        st.read("shop-b", "stripe", "api_key", actor="t")
    assert st.read("shop-a", "stripe", "api_key", actor="t") == "sk_live_AAAAAAAAAAAAAAAA"


def test_check_and_set(ck_sqlite: Kernel) -> None:
    st = _store(ck_sqlite)
    st.create_account("p-one", "acct", kind="api_key")
    st.put("p-one", "acct", "api_key", "value-one-123456", cas=0)
    with pytest.raises(VersionConflict):
        st.put("p-one", "acct", "api_key", "value-two-123456", cas=0)
    assert st.put("p-one", "acct", "api_key", "value-two-123456", cas=1) == 2


def test_concurrent_check_and_set_one_winner(ck: Kernel) -> None:
    st = _store(ck)
    st.create_account("p-one", "acct", kind="api_key")
    st.put("p-one", "acct", "api_key", "v1-xxxxxxxxxxxx", cas=0)
    wins, losses = [], []
    barrier = threading.Barrier(8)

    def writer(i: int) -> None:
        barrier.wait()
        try:
            wins.append(st.put("p-one", "acct", "api_key", f"v2-from-writer-{i}", cas=1))
        except VersionConflict:
            losses.append(i)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wins == [2] and len(losses) == 7


def test_soft_delete_restore_destroy(ck_sqlite: Kernel) -> None:
    st = _store(ck_sqlite)
    st.create_account("p-one", "acct", kind="api_key")
    st.put("p-one", "acct", "api_key", "deletable-secret-1", cas=0)
    st.delete_secret("p-one", "acct", "api_key")
    with pytest.raises(CredentialNotFound):
        st.read("p-one", "acct", "api_key", actor="t")
    assert st.restore_secret("p-one", "acct", "api_key") == 1
    assert st.read("p-one", "acct", "api_key", actor="t") == "deletable-secret-1"
    st.delete_account("p-one", "acct", destroy=True)
    with pytest.raises(CredentialNotFound):
        st.read("p-one", "acct", "api_key", actor="t")
    with ck_sqlite.factory() as s:
        row = s.scalars(select(SecretVersion)).one()
    assert row.state == "destroyed" and row.ciphertext == b"" and row.wrapped_dek == b""
    st.restore_secret("p-one", "acct", "api_key")  # destroyed stays destroyed
    with pytest.raises(CredentialNotFound):
        st.read("p-one", "acct", "api_key", actor="t")


def test_mask_shows_at_most_last_four() -> None:
    assert mask("sk_live_0123456789abcdef") == "…cdef"
    assert mask("abcdefgh") == "…gh"
    assert mask("abc") == "…"


def test_sealed_without_master_key(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch,
                                  caplog: pytest.LogCaptureFixture) -> None:
    k = make_kernel(tmp_path, sqlite_url)
    st = _store(k)
    st.create_account("p-one", "acct", kind="api_key")
    st.put("p-one", "acct", "api_key", "sealed-secret-123", cas=0)
    k.close()
    (tmp_path / "home" / "master.key").rename(tmp_path / "elsewhere.key")
    k2 = make_kernel(tmp_path, sqlite_url)  # starts: sealed, not crashed
    try:
        svc = k2.services["credentials"]
        assert svc.status()["sealed"] is True and "master key" in svc.status()["reason"]
        assert "credential store is SEALED" in caplog.text  # said once in the logs too
        with pytest.raises(Sealed) as err:
            svc.store.read("p-one", "acct", "api_key", actor="t")
        assert "sealed" in err.value.message
        assert not (tmp_path / "home" / "master.key").exists()  # never replaced by a new key
        # the right key from the environment unseals it
        monkeypatch.setenv(ENV_VAR, (tmp_path / "elsewhere.key").read_text().strip())
        k3 = make_kernel(tmp_path, sqlite_url)
        assert k3.services["credentials"].store.read("p-one", "acct", "api_key", actor="t") == "sealed-secret-123"
        k3.close()
        # a wrong key keeps it sealed, with a clear reason
        monkeypatch.setenv(ENV_VAR, encode_key(b"\x01" * 32))
        k4 = make_kernel(tmp_path, sqlite_url)
        assert k4.services["credentials"].status()["sealed"] is True
        with pytest.raises(Sealed):
            k4.services["credentials"].store.read("p-one", "acct", "api_key", actor="t")
        k4.close()
    finally:
        k2.close()


def test_key_file_readable_by_others_is_refused(tmp_path: Path, sqlite_url: str) -> None:
    k = make_kernel(tmp_path, sqlite_url)
    k.services["credentials"].status()
    path = tmp_path / "home" / "master.key"
    assert path.stat().st_mode & 0o777 == 0o600
    path.chmod(0o644)
    k.close()
    k2 = make_kernel(tmp_path, sqlite_url)
    st = k2.services["credentials"].status()
    assert st["sealed"] and "chmod 600" in st["reason"]
    k2.close()


def test_kek_rows_hold_no_plain_key(ck_sqlite: Kernel) -> None:
    ck_sqlite.services["credentials"].status()
    with ck_sqlite.factory() as s:
        kek = s.scalars(select(KekVersion)).one()
    assert kek.primary and len(kek.wrapped) == 12 + 32 + 16
