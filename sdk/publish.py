"""Talk to a marketplace as a vendor: register, publish a signed wheel."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from comptoir.sdk.errors import SdkError


def _raise(resp: httpx.Response, what: str) -> None:
    if resp.status_code >= 400:
        try:
            detail = resp.json().get("detail") or resp.text
        except ValueError:
            detail = resp.text[:300]
        raise SdkError(f"{what} refused by the marketplace ({resp.status_code}): {detail}")


def register(marketplace: str, name: str, public_key: str, *, client: httpx.Client | None = None) -> dict[str, Any]:
    """Create a vendor account; the answer holds the API token (shown once) and the key status."""
    c = client or httpx.Client(base_url=marketplace, timeout=30)
    resp = c.post("/api/v1/vendors", json={"name": name, "public_key": public_key})
    _raise(resp, f"registering vendor {name!r}")
    return resp.json()  # type: ignore[no-any-return]


def publish(marketplace: str, wheel: Path, token: str, *, signature: Path | None = None,
            client: httpx.Client | None = None) -> dict[str, Any]:
    """Upload ``wheel`` and its ``.sig``; the marketplace validates and counter-signs it."""
    sig = signature or Path(f"{wheel}.sig")
    if not sig.is_file():
        raise SdkError(f"{sig} is missing: sign the wheel first with `comptoir sdk sign {wheel}`")
    c = client or httpx.Client(base_url=marketplace, timeout=60)
    with open(wheel, "rb") as w, open(sig, "rb") as s:
        resp = c.post("/api/v1/releases", headers={"Authorization": f"Bearer {token}"},
                      files={"wheel": (wheel.name, w, "application/octet-stream"),
                             "signature": (sig.name, s, "application/json")})
    _raise(resp, f"publishing {wheel.name}")
    return resp.json()  # type: ignore[no-any-return]
