"""Rights held in the database: deny by default, granted by an admin, revoked at once.

``DbRights`` replaces the kernel's default ``ManifestRights`` (it subclasses it so the
plugin host still calls ``register(manifest)`` at enable time, which is where trusted
first-party plugins get their requested rights on first enable, audited as granted by
"system"; never ``raw:`` rights). Checks read the grant table at every call, with no
cache, so a revoke made by any process is seen by the very next call; the benchmark
in bench/bench_credentials.py measures what that costs.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.credentials import audit
from comptoir.kernel.credentials.fastpath import Raw
from comptoir.kernel.credentials.models import Grant, RightsReview
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.manifest import Manifest
from comptoir.kernel.rights import ManifestRights

SYSTEM = "system"
_grant = Grant.__table__  # type: ignore[attr-defined]


def host_matches(pattern: str, host: str, port: int | None) -> bool:
    """Does a granted host (``api.x.com``, ``*.x.com``, ``127.0.0.1:8080``) cover a request?

    A pattern without a port covers only the default ports (80/443), so a grant for a
    host never opens every service that host runs.
    """
    p_host, _, p_port = pattern.partition(":")
    if p_port:
        if port is None or str(port) != p_port:
            return False
    elif port not in (None, 80, 443):
        return False
    if p_host.startswith("*."):
        return host.endswith(p_host[1:]) and host != p_host[2:]
    return host == p_host


def candidates(right: str) -> list[str]:
    """Rights that would satisfy ``right`` directly (write implies read)."""
    area, _, mode = right.partition(":")
    if mode == "read" and not right.startswith(("host:", "account:", "raw:")):
        return [right, f"{area}:write"]
    return [right]


class DbRights(ManifestRights):
    """Grants per plugin per right, stored in ``cred_grant``."""

    def __init__(self, factory: sessionmaker[Session], raw: Raw | None = None) -> None:
        super().__init__()
        self.factory = factory
        self.raw = raw or Raw(factory.kw["bind"])

    # ---- checks -------------------------------------------------------------------
    def allowed(self, plugin: str, right: str) -> bool:
        """True when ``plugin`` holds ``right`` right now (one indexed read, no cache)."""
        with self.raw.reading() as cur:
            return self.raw.allowed(cur, plugin, right)

    def rights(self, plugin: str) -> list[Grant]:
        with self.factory() as s:
            return list(s.scalars(select(Grant).where(Grant.plugin == plugin).order_by(Grant.right)))

    def pending_rights(self, plugin: str, manifest: Manifest) -> list[str]:
        """Rights the manifest requests that are not granted: what an admin must approve
        (non-empty when a new version asks for more than the one before)."""
        with self.factory() as s:
            held = set(s.scalars(select(Grant.right).where(Grant.plugin == plugin)))
        return [r for r in manifest.requested_rights() if r not in held]

    # ---- changes ----------------------------------------------------------------
    def grant(self, plugin: str, rights: Iterable[str], actor: str, *, version: str = "") -> list[str]:
        """Grant ``rights`` to ``plugin``; returns those newly granted. Audited."""
        wanted = list(dict.fromkeys(rights))
        for attempt in range(3):
            try:
                with self.factory() as s, s.begin():
                    held = set(s.scalars(select(Grant.right).where(Grant.plugin == plugin)))
                    new = [r for r in wanted if r not in held]
                    for r in new:
                        s.add(Grant(plugin=plugin, right=r, granted_by=actor))
                    if version:
                        _review(s, plugin, version, actor)
                    if new:
                        s.flush()
                        audit.append(s, actor=actor, action="grant", plugin=plugin, detail={"rights": new})
                return new
            except IntegrityError:  # another process granted (or reviewed) the same at once
                if attempt == 2:
                    raise
        return []

    def revoke(self, plugin: str, rights: Iterable[str] | None, actor: str) -> list[str]:
        """Revoke ``rights`` (all when None); the next call of the plugin is refused. Audited."""
        with self.factory() as s, s.begin():
            held = set(s.scalars(select(Grant.right).where(Grant.plugin == plugin)))
            gone = sorted(held if rights is None else held & set(rights))
            if gone:
                s.execute(delete(_grant).where(_grant.c.plugin == plugin, _grant.c.right.in_(gone)))
                audit.append(s, actor=actor, action="revoke", plugin=plugin, detail={"rights": gone})
        return gone

    def revoke_all(self, plugin: str) -> None:
        self.revoke(plugin, None, SYSTEM)

    def register(self, manifest: Manifest) -> None:
        """Called by the plugin host at enable time.

        A trusted (first-party) plugin never reviewed before gets what it requests,
        except raw secrets, granted by "system". Everyone else waits for an admin.
        """
        if not manifest.trusted:
            return
        with self.factory() as s:
            seen = s.get(RightsReview, manifest.id) is not None
        if seen:
            return
        wanted = [r for r in manifest.requested_rights() if not r.startswith("raw:")]
        self.grant(manifest.id, wanted, SYSTEM, version=manifest.version)


def allowed_in(s: Session, plugin: str, right: str) -> bool:
    """The check inside an open session (the broker runs it in its audit transaction)."""
    if right.startswith("host:"):
        host, _, port = right[5:].partition(":")
        granted = s.scalars(select(_grant.c.right).where(_grant.c.plugin == plugin,
                                                          _grant.c.right.like("host:%"))).all()
        return any(host_matches(g[5:], host, int(port) if port else None) for g in granted)
    found = s.execute(select(_grant.c.right).where(_grant.c.plugin == plugin,
                                                   _grant.c.right.in_(candidates(right))).limit(1)).first()
    return found is not None


def _review(s: Session, plugin: str, version: str, actor: str) -> None:
    row = s.get(RightsReview, plugin)
    if row is None:
        s.add(RightsReview(plugin=plugin, version=version, reviewed_by=actor))
    else:
        row.version, row.reviewed_by, row.reviewed_at = version, actor, utcnow()
        s.add(row)
