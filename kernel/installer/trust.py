"""Trust in a marketplace: its pinned key, and the signed snapshot's freshness.

The shop pins the marketplace's public key (given in settings, or on first contact)
and remembers the highest snapshot version it has accepted. A snapshot is accepted
only if its signature verifies with the pinned key, its version is not lower than
that (rollback), and it has not expired (freeze).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.installer.errors import StaleIndex, UntrustedRelease
from comptoir.kernel.installer.models import InstallerTrust
from comptoir.marketplace.keys import canonical
from comptoir.sdk.errors import SignatureInvalid
from comptoir.sdk.signing import key_id, verify_bytes

SNAPSHOT_TYPE = "comptoir-snapshot/1"


@dataclass(frozen=True)
class Snapshot:
    version: int
    expires: datetime
    releases: dict[tuple[str, str], dict[str, Any]]  # (plugin, version) → {sha256, yanked}
    blocked: dict[tuple[str, str], str]  # (plugin, version) → sha256

    def latest(self, plugin: str) -> str | None:
        from packaging.version import Version

        versions = [v for (p, v), r in self.releases.items() if p == plugin and not r.get("yanked")]
        return str(max(versions, key=Version)) if versions else None


def pinned_key(factory: sessionmaker[Session], marketplace: str) -> str | None:
    with factory() as s:
        row = s.get(InstallerTrust, marketplace)
        return row.public_key if row else None


def pin(factory: sessionmaker[Session], marketplace: str, public_key: str) -> None:
    """Pin a marketplace key; a different key later is refused (never silently replaced)."""
    with factory() as s, s.begin():
        row = s.get(InstallerTrust, marketplace)
        if row is None:
            s.add(InstallerTrust(marketplace=marketplace, public_key=public_key, updated_at=utcnow()))
        elif row.public_key != public_key:
            raise UntrustedRelease(f"the marketplace {marketplace} now presents key {key_id(public_key)}, but this "
                                   f"shop trusts {key_id(row.public_key)}; if the operator really rotated it, "
                                   "re-pin with `comptoir plugins trust --reset`")


def accept_snapshot(factory: sessionmaker[Session], marketplace: str, doc: dict[str, Any], *,
                    now: datetime | None = None) -> Snapshot:
    """Verify a snapshot document and remember its version; raise on forgery, rollback, expiry."""
    now = now or datetime.now(timezone.utc)
    with factory() as s, s.begin():
        row = s.get(InstallerTrust, marketplace)
        if row is None:
            raise UntrustedRelease(f"no key is pinned for {marketplace}")
        try:
            signed = doc["signed"]
            verify_bytes(row.public_key, canonical(signed), str(doc["signature"]), what="marketplace index")
            if signed.get("type") != SNAPSHOT_TYPE:
                raise KeyError("type")
            version = int(signed["version"])
            expires = datetime.fromisoformat(signed["expires"])
        except SignatureInvalid as exc:
            raise UntrustedRelease(f"{exc.message}; the index of {marketplace} is not signed by its pinned key") \
                from None
        except (KeyError, TypeError, ValueError):
            raise UntrustedRelease(f"{marketplace} served a malformed index") from None
        if version < row.snapshot_version:
            raise StaleIndex(f"the marketplace index went back from version {row.snapshot_version} to {version} "
                             "(a rollback or replay attack, or a misconfigured mirror); refusing to install from it")
        if expires <= now:
            raise StaleIndex(f"the marketplace index (version {version}) expired at {expires.isoformat()}; "
                             "the index looks frozen, so newer (security) releases may be hidden; try again later")
        row.snapshot_version, row.snapshot_expires, row.updated_at = version, expires, utcnow()
        s.add(row)
    return Snapshot(
        version, expires,
        {(r["plugin"], r["version"]): r for r in signed.get("releases", [])},
        {(r["plugin"], r["version"]): r.get("sha256", "") for r in signed.get("blocked", [])},
    )
