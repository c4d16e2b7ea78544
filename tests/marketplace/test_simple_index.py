"""The pip-compatible index: PEP 503/691/658, and the real pip installs from it."""
from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from comptoir.marketplace.app import create_app
from comptoir.marketplace.local import LocalServer

pytestmark = pytest.mark.xdist_group("marketplace")  # one worker builds the release wheels once

JSON = "application/vnd.pypi.simple.v1+json"


def test_pep503_html_links(client, releases, vendor_key, register_vendor, upload_release) -> None:  # type: ignore[no-untyped-def]
    token = register_vendor(vendor_key)
    wheel, sig = releases["1.0.0"]
    upload_release(token, wheel, sig)
    dist = f"comptoir-{releases['id']}"
    assert f'href="{dist}/"' in client.get("/simple/").text
    html = client.get(f"/simple/{dist}/").text
    sha = hashlib.sha256(wheel.read_bytes()).hexdigest()
    assert f'href="/files/{wheel.name}#sha256={sha}"' in html
    assert 'data-requires-python="&gt;=3.11"' in html
    meta = client.get(f"/files/{wheel.name}.metadata").content
    assert f'data-core-metadata="sha256={hashlib.sha256(meta).hexdigest()}"' in html
    assert b"Name: comptoir-" in meta
    r = client.get(f"/simple/Comptoir_{releases['id'].replace('-', '_')}/", follow_redirects=False)
    assert r.status_code == 301 and r.headers["location"] == f"/simple/{dist}/"


def test_pep691_json(client, releases, vendor_key, register_vendor, upload_release) -> None:  # type: ignore[no-untyped-def]
    token = register_vendor(vendor_key)
    upload_release(token, *releases["1.0.0"])
    dist = f"comptoir-{releases['id']}"
    r = client.get(f"/simple/{dist}/", headers={"Accept": f"{JSON}, text/html;q=0.1"})
    assert r.headers["content-type"].startswith(JSON)
    f = r.json()["files"][0]
    assert f["requires-python"] == ">=3.11" and len(f["hashes"]["sha256"]) == 64 and f["yanked"] is False
    assert "sha256" in f["core-metadata"]
    assert client.get("/simple/", headers={"Accept": JSON}).json()["projects"] == [{"name": dist}]


def test_real_pip_installs_from_the_index(market, releases, vendor_key, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from starlette.testclient import TestClient

    app = create_app(market=market)
    c = TestClient(app)
    token = c.post("/api/v1/vendors", json={"name": "acme", "public_key": __import__(
        "comptoir.sdk.signing", fromlist=["x"]).public_b64(vendor_key)}).json()
    market.approve_key(token["key_id"])
    for v in ("1.0.0", "1.1.0"):
        wheel, sig = releases[v]
        assert c.post("/api/v1/releases", headers={"Authorization": f"Bearer {token['token']}"},
                      files={"wheel": (wheel.name, wheel.read_bytes()), "signature": ("s", sig.read_bytes())}
                      ).status_code == 201
    with LocalServer(app) as url:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--no-deps", "--no-cache-dir", "--disable-pip-version-check",
             "--target", str(tmp_path / "t"), "--index-url", f"{url}/simple/", f"comptoir-{releases['id']}"],
            capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    pkg = f"comptoir_{releases['id'].replace('-', '_')}"
    assert (tmp_path / "t" / pkg / "plugin.py").is_file()
    assert (tmp_path / "t" / f"{pkg}-1.1.0.dist-info" / "comptoir.toml").is_file()  # the latest version
