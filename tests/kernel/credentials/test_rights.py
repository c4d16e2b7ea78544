"""Rights: deny by default, grant, revoke at the next call (even from another process),
re-approval when a new version asks for more, trusted first-party auto-grant."""
from __future__ import annotations

from pathlib import Path

import pytest

from comptoir.kernel.credentials import audit
from comptoir.kernel.errors import ScopeDenied
from comptoir.kernel.runtime import Kernel

from .conftest import add_plugin, make_kernel, manifest


def test_deny_by_default_then_grant_then_revoke(ck: Kernel) -> None:
    ctx = add_plugin(ck, manifest("reporter", data=("orders:read",)), grant=False)
    with pytest.raises(ScopeDenied) as err:
        ctx.data.orders()
    assert "orders:read" in err.value.message and "comptoir plugins grant reporter" in err.value.message
    svc = ck.services["credentials"]
    assert svc.pending_rights("reporter", ctx.manifest) == ["orders:read"]
    svc.grant("reporter", ["orders:read"], "admin")
    assert ctx.data.orders() == []
    svc.revoke("reporter", ["orders:read"], "admin")
    with pytest.raises(ScopeDenied):
        ctx.data.orders()
    actions = [r["action"] for r in audit.entries(ck.factory, plugin="reporter")]
    assert actions == ["revoke", "grant"]


def test_write_implies_read(ck_sqlite: Kernel) -> None:
    add_plugin(ck_sqlite, manifest("editor", data=("products:write",)))
    assert ck_sqlite.host.rights.allowed("editor", "products:read")
    assert not ck_sqlite.host.rights.allowed("editor", "orders:read")


def test_revoke_from_another_process_applies_at_next_call(tmp_path: Path, db_url: str) -> None:
    k1 = make_kernel(tmp_path, db_url)
    k2 = make_kernel(tmp_path, db_url)  # another worker on the same database
    try:
        ctx = add_plugin(k1, manifest("reporter", data=("orders:read",)))
        assert ctx.data.orders() == []
        k2.services["credentials"].revoke("reporter", None, "admin")
        with pytest.raises(ScopeDenied):
            ctx.data.orders()
    finally:
        k1.close()
        k2.close()


def test_new_version_asking_for_more_needs_approval(ck_sqlite: Kernel) -> None:
    add_plugin(ck_sqlite, manifest("reporter", data=("orders:read",)))
    svc = ck_sqlite.services["credentials"]
    v2 = manifest("reporter", data=("orders:read", "customers:read"), hosts=("api.crm.example",), version="2.0.0")
    assert svc.pending_rights("reporter", v2) == ["customers:read", "host:api.crm.example"]
    assert not ck_sqlite.host.rights.allowed("reporter", "customers:read")
    svc.grant("reporter", svc.pending_rights("reporter", v2), "admin", version="2.0.0")
    assert svc.pending_rights("reporter", v2) == []


def test_trusted_plugin_gets_its_rights_on_first_enable_but_not_raw(ck: Kernel) -> None:
    m = manifest("first-party", data=("orders:read", "stock:read"), trusted=True,
                 accounts={"carrier": {"kind": "api_key", "provider": "c", "hosts": ["api.c.example"],
                                       "raw_access": True}})
    add_plugin(ck, m, grant=False)
    rights = ck.host.rights
    assert rights.allowed("first-party", "orders:read") and rights.allowed("first-party", "stock:read")
    assert rights.allowed("first-party", "account:carrier") and rights.allowed("first-party", "host:api.c.example")
    assert not rights.allowed("first-party", "raw:carrier")
    grant_rows = audit.entries(ck.factory, plugin="first-party", action="grant")
    assert grant_rows[0]["actor"] == "system"
    # revoked by the admin: a later enable does not silently grant again
    ck.services["credentials"].revoke("first-party", ["orders:read"], "admin")
    ck.host.disable("first-party", persist=False)
    ck.host.enable("first-party", persist=False)
    assert not rights.allowed("first-party", "orders:read")


def test_untrusted_plugin_gets_nothing_on_enable(ck_sqlite: Kernel) -> None:
    add_plugin(ck_sqlite, manifest("vendor-x", data=("orders:read",)), grant=False)
    assert not ck_sqlite.host.rights.allowed("vendor-x", "orders:read")


def test_host_patterns() -> None:
    from comptoir.kernel.credentials.rights import host_matches

    assert host_matches("api.x.com", "api.x.com", None)
    assert host_matches("api.x.com", "api.x.com", 443)
    assert not host_matches("api.x.com", "api.x.com", 8080)
    assert not host_matches("api.x.com", "evil-api.x.com", None)
    assert host_matches("*.x.com", "a.x.com", None) and not host_matches("*.x.com", "x.com", None)
    assert not host_matches("*.x.com", "a.x.com.evil.net", None)
    assert host_matches("127.0.0.1:8080", "127.0.0.1", 8080) and not host_matches("127.0.0.1:8080", "127.0.0.1", 8081)


def test_two_processes_enabling_a_trusted_plugin_at_once(tmp_path: Path, db_url: str) -> None:
    import threading

    kernels = [make_kernel(tmp_path, db_url) for _ in range(4)]
    m = manifest("first-party", data=("orders:read", "stock:read"), trusted=True)
    barrier = threading.Barrier(len(kernels))
    errors: list[BaseException] = []

    def boot(k: Kernel) -> None:
        barrier.wait()
        try:
            add_plugin(k, m, grant=False)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=boot, args=(k,)) for k in kernels]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors, errors
        assert kernels[0].host.rights.allowed("first-party", "stock:read")
        assert audit.verify(kernels[0].factory) == []
    finally:
        for k in kernels:
            k.close()
