"""Uploads: only signed, clean wheels from approved vendor keys are listed and counter-signed."""
from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from comptoir.kernel.manifest import parse_manifest
from comptoir.marketplace import keys
from comptoir.sdk.signing import generate_key, public_b64, sign_wheel, verify_bytes
from comptoir.sdk.wheel import inject_manifest, inspect_wheel

pytestmark = pytest.mark.xdist_group("marketplace")  # one worker builds the release wheels once

OPERATOR = {"Authorization": "Bearer op-secret"}


def test_pending_key_cannot_publish_until_approved(client, releases, vendor_key, register_vendor,  # type: ignore[no-untyped-def]
                                                     upload_release) -> None:
    token = register_vendor(vendor_key, approve=False)
    wheel, sig = releases["1.0.0"]
    r = upload_release(token, wheel, sig)
    assert r.status_code == 403 and "no approved signing key" in r.json()["detail"]
    pending = client.get("/api/v1/admin/keys", headers=OPERATOR).json()
    assert [k["vendor"] for k in pending] == ["acme"]
    assert client.get("/api/v1/admin/keys").status_code == 401  # operator only
    client.post(f"/api/v1/admin/keys/{pending[0]['key_id']}/approve", headers=OPERATOR)
    r = upload_release(token, wheel, sig)
    assert r.status_code == 201, r.text
    assert r.json()["plugin"] == releases["id"]


def test_release_is_counter_signed_over_file_and_vendor_key(client, market, releases, vendor_key,  # type: ignore[no-untyped-def]
                                                            register_vendor, upload_release) -> None:
    token = register_vendor(vendor_key)
    wheel, sig = releases["1.0.0"]
    assert upload_release(token, wheel, sig).status_code == 201
    doc = client.get(f"/api/v1/plugins/{releases['id']}/release").json()
    assert doc["version"] == "1.0.0" and doc["sha256"] == inspect_wheel(wheel).sha256
    assert doc["vendor"]["public_key"] == public_b64(vendor_key)
    mkey = client.get("/api/v1/keys").json()["marketplace_key"]
    verify_bytes(mkey, keys.countersign_message(releases["id"], "1.0.0", doc["sha256"], "acme", public_b64(vendor_key)),
                 doc["market_signature"], what="counter-signature")
    assert client.get(doc["url"]).content == wheel.read_bytes()


def test_immutable_versions_and_plugin_ownership(client, releases, vendor_key, register_vendor,  # type: ignore[no-untyped-def]
                                                 upload_release) -> None:
    token = register_vendor(vendor_key)
    wheel, sig = releases["1.0.0"]
    assert upload_release(token, wheel, sig).status_code == 201
    r = upload_release(token, wheel, sig)
    assert r.status_code == 409 and "immutable" in r.json()["detail"]
    other_key = generate_key()
    other = register_vendor(other_key, "mallory")
    resigned = sign_wheel(wheel, other_key)  # the manifest still says vendor "acme"
    r = upload_release(other, wheel, resigned)
    assert r.status_code == 403 and "names vendor 'acme'" in r.json()["detail"]
    sign_wheel(wheel, vendor_key)  # restore the shared fixture's signature


def test_tampered_wheel_is_refused(releases, vendor_key, register_vendor, upload_release, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    token = register_vendor(vendor_key)
    wheel, sig = releases["1.0.0"]
    bad = tmp_path / wheel.name
    with zipfile.ZipFile(wheel) as zin, zipfile.ZipFile(bad, "w") as zout:
        for i in zin.infolist():
            data = zin.read(i)
            zout.writestr(i, data + b"\nimport os\n" if i.filename.endswith("plugin.py") else data)
    r = upload_release(token, bad, sig)
    assert r.status_code == 422 and "does not match its RECORD hash" in r.json()["detail"]


def test_wrong_and_unknown_signatures_are_refused(releases, vendor_key, register_vendor, upload_release) -> None:  # type: ignore[no-untyped-def]
    token = register_vendor(vendor_key)
    wheel, sig = releases["1.0.0"]
    good = json.loads(sig.read_text())
    other = json.loads(releases["1.1.0"][1].read_text())
    forged = dict(good, signature=other["signature"])  # a real signature, of another release
    r = upload_release(token, wheel, json.dumps(forged).encode())
    assert r.status_code == 422 and "does not verify" in r.json()["detail"]
    stranger = generate_key()
    wheel2, _ = releases["1.1.0"]
    r = upload_release(token, wheel2, sign_wheel(wheel2, stranger))
    assert r.status_code == 422 and "not a registered key of this vendor" in r.json()["detail"]
    sign_wheel(wheel2, vendor_key)
    r = upload_release(token, wheel, b"not json")
    assert r.status_code == 422 and "comptoir-signature/1" in r.json()["detail"]


def test_key_change_needs_operator_re_approval(client, releases, vendor_key, register_vendor,  # type: ignore[no-untyped-def]
                                               upload_release) -> None:
    token = register_vendor(vendor_key)
    new_key = generate_key()
    auth = {"Authorization": f"Bearer {token}"}
    r = client.post("/api/v1/vendors/me/keys", headers=auth, json={"public_key": public_b64(new_key)})
    assert r.json()["key_status"] == "pending"
    wheel, _ = releases["1.1.0"]
    r = upload_release(token, wheel, sign_wheel(wheel, new_key))
    assert r.status_code == 422 and "awaiting the operator's approval" in r.json()["detail"]
    from comptoir.sdk.signing import key_id

    client.post(f"/api/v1/admin/keys/{key_id(public_b64(new_key))}/approve", headers=OPERATOR)
    assert upload_release(token, wheel, Path(f"{wheel}.sig")).status_code == 201
    old_wheel, _ = releases["1.0.0"]
    r = upload_release(token, old_wheel, sign_wheel(old_wheel, vendor_key))
    assert r.status_code == 422  # the old key is retired
    sign_wheel(wheel, vendor_key)


def _rewrite_plugin(src: Path, dst: Path, text: bytes) -> None:
    """Replace plugin.py and rebuild a consistent RECORD, as a careless vendor's tool would."""
    tmp = dst.with_suffix(".tmp")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(tmp, "w") as zout:
        for i in zin.infolist():
            zout.writestr(i, text if i.filename.endswith("plugin.py") else zin.read(i))
    import tomllib

    with zipfile.ZipFile(src) as z:
        table = tomllib.loads(z.read(next(n for n in z.namelist() if n.endswith("comptoir.toml"))).decode())
    inject_manifest(tmp, dst, parse_manifest(table))


def test_bad_hook_signature_is_refused_without_importing(releases, vendor_key, register_vendor,  # type: ignore[no-untyped-def]
                                                         upload_release, tmp_path: Path) -> None:
    token = register_vendor(vendor_key)
    wheel, _ = releases["1.0.0"]
    bad = tmp_path / wheel.name
    _rewrite_plugin(wheel, bad, b"from comptoir.sdk import hookimpl\nraise SystemExit('imported!')\n"
                                b"@hookimpl\ndef shipping_quotes(ctx, shipment, wallet):\n    return []\n")
    r = upload_release(token, bad, sign_wheel(bad, vendor_key))
    assert r.status_code == 422
    assert f"plugin '{releases['id']}'" in r.json()["detail"] and "takes 'wallet'" in r.json()["detail"]


def test_yank_and_block(client, market, releases, vendor_key, register_vendor, upload_release) -> None:  # type: ignore[no-untyped-def]
    token = register_vendor(vendor_key)
    pid = releases["id"]
    for v in ("1.0.0", "1.1.0"):
        assert upload_release(token, *releases[v]).status_code == 201
    assert client.get(f"/api/v1/plugins/{pid}").json()["version"] == "1.1.0"
    r = client.post(f"/api/v1/plugins/{pid}/releases/1.1.0/yank", headers={"Authorization": f"Bearer {token}"},
                    json={"reason": "crashes on empty carts"})
    assert r.status_code == 200
    assert client.get(f"/api/v1/plugins/{pid}").json()["version"] == "1.0.0"
    assert client.get(f"/api/v1/plugins/{pid}/releases/1.1.0").json()["yanked"] is True
    r = client.post(f"/api/v1/admin/plugins/{pid}/releases/1.0.0/block", headers=OPERATOR, json={"reason": "malware"})
    assert r.status_code == 200
    r = client.get(f"/api/v1/plugins/{pid}/releases/1.0.0")
    assert r.status_code == 409 and "blocked by the marketplace: malware" in r.json()["detail"]
    simple = client.get(f"/simple/comptoir-{pid}/").text
    assert releases["1.1.0"][0].name in simple and releases["1.0.0"][0].name not in simple
    snap = client.get("/snapshot.json").json()["signed"]
    assert {"plugin": pid, "version": "1.0.0", "sha256": inspect_wheel(releases["1.0.0"][0]).sha256} in snap["blocked"]
    assert [r["version"] for r in snap["releases"] if r["plugin"] == pid] == ["1.1.0"]
    assert client.get(f"/files/{releases['1.0.0'][0].name}").status_code == 404


def test_snapshot_is_signed_versioned_and_expiring(client, market, releases, vendor_key,  # type: ignore[no-untyped-def]
                                                   register_vendor, upload_release) -> None:
    from datetime import datetime, timedelta, timezone

    first = client.get("/snapshot.json").json()
    assert client.get("/snapshot.json").json()["signed"]["version"] == first["signed"]["version"]  # unchanged
    token = register_vendor(vendor_key)
    upload_release(token, *releases["1.0.0"])
    doc: dict[str, Any] = client.get("/snapshot.json").json()
    assert doc["signed"]["version"] == first["signed"]["version"] + 1
    verify_bytes(market.key.public, keys.canonical(doc["signed"]), doc["signature"], what="snapshot")
    assert datetime.fromisoformat(doc["signed"]["expires"]) > datetime.now(timezone.utc) + timedelta(hours=23)
    later = market.snapshot(now=datetime.now(timezone.utc) + timedelta(hours=13))  # past half its life
    assert later["signed"]["version"] == doc["signed"]["version"] + 1
