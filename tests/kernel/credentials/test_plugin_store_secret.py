"""``ctx.credentials.store_secret``: a plugin keeps a secret its provider handed it (a
webhook signing secret) in its own declared account, and nowhere else."""
from __future__ import annotations

import json

import pytest

from comptoir.kernel.credentials import audit
from comptoir.kernel.errors import ScopeDenied, ValidationFailed
from comptoir.kernel.runtime import Kernel

from .conftest import add_plugin, manifest

SIGNING = "whsec_store_secret_4b1d9e0c7a"


def _plugin(k: Kernel, plugin: str = "payer", *, grant: bool = True) -> object:
    m = manifest(plugin, accounts={
        "webhook_secret": {"kind": "api_key", "provider": "psp", "raw_access": True},
        "login": {"kind": "oauth2", "provider": "psp"}})
    return add_plugin(k, m, grant=grant)


def test_stores_a_new_version_in_the_plugins_own_account(ck: Kernel) -> None:
    ctx = _plugin(ck)
    assert ctx.credentials.store_secret("webhook_secret", SIGNING) == 1  # type: ignore[attr-defined]
    assert ctx.credentials.store_secret("webhook_secret", SIGNING + "2") == 2  # type: ignore[attr-defined]
    store = ck.services["credentials"].store
    assert store.read("payer", "webhook_secret", "api_key", actor="test") == SIGNING + "2"
    assert store.account("payer", "webhook_secret").provider == "psp"  # from the manifest
    assert ctx.credentials.raw("webhook_secret") == SIGNING + "2"  # type: ignore[attr-defined]
    writes = audit.entries(ck.factory, plugin="payer", action="secret.write")
    assert [w["actor"] for w in writes] == ["plugin:payer", "plugin:payer"]
    assert SIGNING not in json.dumps([w["detail"] for w in writes])
    meta = ctx.credentials.accounts()  # type: ignore[attr-defined]
    assert SIGNING not in json.dumps(meta)


def test_refused_outside_the_manifest_and_the_grant(ck: Kernel) -> None:
    ctx = _plugin(ck)
    with pytest.raises(ScopeDenied, match="account:other"):
        ctx.credentials.store_secret("other", SIGNING)  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed, match="api_key"):
        ctx.credentials.store_secret("login", SIGNING)  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed, match="1 to 4096"):
        ctx.credentials.store_secret("webhook_secret", "  ")  # type: ignore[attr-defined]
    ungranted = _plugin(ck, "stranger", grant=False)
    with pytest.raises(ScopeDenied, match="account:webhook_secret"):
        ungranted.credentials.store_secret("webhook_secret", SIGNING)  # type: ignore[attr-defined]
    # nothing was created by the refused calls
    assert [a["owner"] for a in ck.services["credentials"].store.accounts()] == []
