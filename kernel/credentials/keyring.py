"""The versioned KEK keyring and envelope encryption of secret values.

Each secret version gets a fresh 256-bit data key (DEK) and a fresh 96-bit nonce; the
DEK is wrapped by the primary KEK. Both AES-256-GCM operations carry the same
associated data, the row's identity (owner, account, name, version), so a ciphertext
or a wrapped key copied to another row fails to authenticate. Rotation adds a KEK
version and makes it primary; older versions stay in the ring and keep decrypting
until the rewrap job has moved every data key to the new one.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Callable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.credentials.errors import DecryptionFailed, Sealed
from comptoir.kernel.credentials.keys import LocalKeyProvider
from comptoir.kernel.credentials.models import KekVersion
from comptoir.kernel.db import read_only

log = logging.getLogger("comptoir.credentials")


def row_aad(owner: str, account: str, name: str, version: int) -> bytes:
    """Associated data binding a ciphertext to its row; JSON keeps the fields unambiguous."""
    return json.dumps([owner, account, name, version], separators=(",", ":")).encode()


def _kek_aad(version: int) -> bytes:
    return b"comptoir-kek:%d" % version


@dataclass(frozen=True)
class Envelope:
    kek_version: int
    wrapped_dek: bytes
    ciphertext: bytes


class Keyring:
    """KEK versions unwrapped in memory; the primary one wraps new data keys."""

    def __init__(self, factory: sessionmaker[Session], provider: LocalKeyProvider, *, reload_s: float = 5.0,
                 bootstrap: Callable[[], None] | None = None) -> None:
        self.factory = factory
        self._bootstrap = bootstrap  # creates the master key file on a fresh shop
        self.provider = provider
        self._keks: dict[int, AESGCM] = {}
        self._primary = 0
        self._loaded_at = 0.0
        self._reload_s = reload_s
        self._lock = threading.Lock()
        self.sealed_reason = ""

    # ---- state ------------------------------------------------------------------
    def status(self) -> dict[str, object]:
        """Sealed or not, the primary version and the versions known; no key material."""
        try:
            self.load(force=True)
        except Sealed as exc:
            return {"sealed": True, "reason": exc.message, "provider": self.provider.name}
        return {"sealed": False, "reason": "", "provider": self.provider.name,
                "primary": self._primary, "versions": sorted(self._keks)}

    @property
    def sealed(self) -> bool:
        try:
            self.load()
        except Sealed:
            return True
        return False

    def load(self, *, force: bool = False) -> None:
        """Unwrap every KEK version; create version 1 on a fresh shop. Raises ``Sealed``.

        Entry points call it before opening their own transaction: creating version 1
        writes, and on SQLite a write inside another write transaction would wait on itself.
        """
        if not force and self._keks and time.monotonic() - self._loaded_at < self._reload_s:
            return
        with self._lock:
            ok, reason = self.provider.available()
            if not ok and self._bootstrap is not None and not self._has_keks():
                self._bootstrap()  # a fresh shop: nothing is encrypted yet, so a new key is safe
                ok, reason = self.provider.available()
            if not ok:
                self._keks = {}
                if reason != self.sealed_reason:  # say it once per cause, not at every use
                    log.warning("credential store is SEALED: %s (see `comptoir keys status`)", reason)
                self.sealed_reason = reason
                raise Sealed(f"credential store is sealed: {reason}")
            try:
                with read_only(self.factory) as s:  # may run inside a caller's write transaction
                    rows = [KekVersion(version=r.version, wrapped=r.wrapped, primary=r.primary)
                            for r in s.execute(select(KekVersion.version, KekVersion.wrapped, KekVersion.primary))]
            except (OperationalError, ProgrammingError):
                raise Sealed("credential store tables are missing; run `comptoir db upgrade`") from None
            if not rows:
                rows = [self._create_first()]
            keks = {r.version: AESGCM(self.provider.unwrap(r.wrapped, _kek_aad(r.version))) for r in rows}
            primary = [r.version for r in rows if r.primary]
            self._keks = keks
            self._primary = max(primary) if primary else max(keks)
            self._loaded_at = time.monotonic()
            self.sealed_reason = ""

    def _has_keks(self) -> bool:
        try:
            with read_only(self.factory) as s:
                return s.scalars(select(KekVersion.version).limit(1)).first() is not None
        except (OperationalError, ProgrammingError):
            return True  # no tables yet: do not create a key the schema cannot record

    def _create_first(self) -> KekVersion:
        row = KekVersion(version=1, wrapped=self.provider.wrap(AESGCM.generate_key(256), _kek_aad(1)), primary=True)
        try:
            with self.factory() as s, s.begin():
                s.add(row)
        except IntegrityError:  # another process created it first: use theirs
            with self.factory() as s:
                found = s.get(KekVersion, 1)
                assert found is not None
                return found
        return row

    @property
    def primary(self) -> int:
        self.load()
        return self._primary

    def rotate(self) -> int:
        """Add a KEK version and make it primary; returns the new version number."""
        self.load(force=True)
        with self.factory() as s, s.begin():
            top = max(s.scalars(select(KekVersion.version)), default=0) + 1
            s.execute(update(KekVersion).values(primary=False))
            s.add(KekVersion(version=top, wrapped=self.provider.wrap(AESGCM.generate_key(256), _kek_aad(top)),
                             primary=True))
        self.load(force=True)
        return top

    def _kek(self, version: int) -> AESGCM:
        self.load()
        kek = self._keks.get(version)
        if kek is None:  # rotated by another process since we loaded
            self.load(force=True)
            kek = self._keks.get(version)
        if kek is None:
            raise DecryptionFailed(f"key version {version} is not in the keyring")
        return kek

    # ---- envelope -----------------------------------------------------------------
    def seal(self, value: bytes, aad: bytes) -> Envelope:
        """Encrypt ``value`` under a fresh data key wrapped by the primary KEK."""
        version = self.primary
        dek = AESGCM.generate_key(256)
        n1, n2 = os.urandom(12), os.urandom(12)
        ciphertext = n1 + AESGCM(dek).encrypt(n1, value, aad)
        wrapped = n2 + self._keks[version].encrypt(n2, dek, aad)
        return Envelope(version, wrapped, ciphertext)

    def open(self, env: Envelope, aad: bytes) -> bytes:
        """Decrypt; ``DecryptionFailed`` when anything was tampered with or moved."""
        kek = self._kek(env.kek_version)
        try:
            dek = kek.decrypt(env.wrapped_dek[:12], env.wrapped_dek[12:], aad)
            return AESGCM(dek).decrypt(env.ciphertext[:12], env.ciphertext[12:], aad)
        except (InvalidTag, ValueError):
            raise DecryptionFailed("a stored secret failed its integrity check (tampered with or "
                                   "moved to another row); it cannot be used") from None

    def rewrap(self, env: Envelope, aad: bytes) -> Envelope:
        """The same data key wrapped by the primary KEK (the value is not touched)."""
        kek = self._kek(env.kek_version)
        try:
            dek = kek.decrypt(env.wrapped_dek[:12], env.wrapped_dek[12:], aad)
        except InvalidTag:
            raise DecryptionFailed("a wrapped data key failed its integrity check") from None
        version = self.primary
        n2 = os.urandom(12)
        return Envelope(version, n2 + self._keks[version].encrypt(n2, dek, aad), env.ciphertext)

    def seal_blob(self, value: bytes, aad: bytes) -> bytes:
        """Small short-lived values (a PKCE verifier): version(4) + envelope in one blob."""
        env = self.seal(value, aad)
        return (env.kek_version.to_bytes(4, "big") + len(env.wrapped_dek).to_bytes(2, "big")
                + env.wrapped_dek + env.ciphertext)

    def open_blob(self, blob: bytes, aad: bytes) -> bytes:
        version, n = int.from_bytes(blob[:4], "big"), int.from_bytes(blob[4:6], "big")
        return self.open(Envelope(version, blob[6:6 + n], blob[6 + n:]), aad)
