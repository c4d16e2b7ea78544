"""One object per kernel that holds the credential store's parts together.

``kernel.services["credentials"]`` is a ``Credentials``; the CLI, the admin and the
installer go through it (grant at install, pending rights on upgrade, accounts).
"""
from __future__ import annotations

from typing import Any, Iterable

from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.credentials import audit, rotation
from comptoir.kernel.credentials.broker import Broker, BrokeredHttp, PluginCredentials
from comptoir.kernel.credentials.fastpath import Raw
from comptoir.kernel.credentials.keyring import Keyring
from comptoir.kernel.credentials.keys import ensure_master_key, provider_for
from comptoir.kernel.credentials.oauth import OAuthConnector
from comptoir.kernel.credentials.redact import Redactor
from comptoir.kernel.credentials.rights import DbRights
from comptoir.kernel.credentials.store import CredentialStore
from comptoir.kernel.manifest import Manifest
from comptoir.kernel.settings import Settings


class Credentials:
    """Keyring, store, rights, OAuth and broker of one kernel."""

    def __init__(self, settings: Settings, factory: sessionmaker[Session], journal: Any, redactor: Redactor) -> None:
        self.settings = settings
        self.factory = factory
        self.redactor = redactor
        self.keyring = Keyring(factory, provider_for(settings), bootstrap=lambda: self._bootstrap())
        self.store = CredentialStore(factory, self.keyring, redactor)
        self.raw = Raw(factory.kw["bind"])
        self.rights = DbRights(factory, self.raw)
        self.oauth = OAuthConnector(factory, self.store)
        self.broker = Broker(factory, self.store, self.oauth, redactor, journal, self.raw)

    def _bootstrap(self) -> None:
        ensure_master_key(self.settings)
        self.keyring.provider = provider_for(self.settings)

    # ---- plugin side -------------------------------------------------------------
    def http_for(self, plugin: str) -> BrokeredHttp:
        return BrokeredHttp(plugin, self.broker)

    def credentials_for(self, plugin: str, manifest: Manifest) -> PluginCredentials:
        return PluginCredentials(plugin, dict(manifest.scopes.accounts), self.broker, self.rights.allowed)

    # ---- admin side --------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        st = self.keyring.status()
        if not st["sealed"]:
            st["pending_rewrap"] = rotation.pending(self.factory, self.keyring)
        return st

    def rotate(self, actor: str = "admin") -> int:
        return rotation.rotate(self.factory, self.keyring, actor=actor)

    def rewrap(self, batch_size: int = 2000) -> int:
        return rotation.rewrap(self.factory, self.keyring, batch_size=batch_size)

    def grant(self, plugin: str, rights: Iterable[str], actor: str, *, version: str = "") -> list[str]:
        """Grant rights (install/enable approval); audited."""
        return self.rights.grant(plugin, rights, actor, version=version)

    def revoke(self, plugin: str, rights: Iterable[str] | None, actor: str) -> list[str]:
        return self.rights.revoke(plugin, rights, actor)

    def pending_rights(self, plugin: str, manifest: Manifest) -> list[str]:
        return self.rights.pending_rights(plugin, manifest)

    def verify_audit(self) -> list[str]:
        return audit.verify(self.factory)

    def close(self) -> None:
        self.broker.close()
        self.raw.close()
