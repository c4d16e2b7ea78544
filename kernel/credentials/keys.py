"""Where the master key comes from: a key file, an environment variable, or a KMS.

The master key never touches the database. It wraps the versioned key-encryption keys
(KEKs) stored in ``cred_kek``; a ``KeyProvider`` hides where it lives so an external
KMS or Vault transit engine can take its place (``wrap``/``unwrap`` are the only
operations the keyring needs).
"""
from __future__ import annotations

import base64
import os
import secrets
import stat
from pathlib import Path
from typing import Callable, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from comptoir.kernel.credentials.errors import Sealed
from comptoir.kernel.settings import Settings

ENV_VAR = "COMPTOIR_MASTER_KEY"
KEY_FILE = "master.key"


class KeyProvider(Protocol):
    """Wraps and unwraps KEKs with a master key the kernel may never see directly."""

    name: str

    def available(self) -> tuple[bool, str]:
        """(usable, reason): a reason says why not, without any key material."""
        ...

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes: ...

    def unwrap(self, blob: bytes, aad: bytes) -> bytes: ...


def _decode(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    if len(raw) != 32:
        raise ValueError("a master key is 32 random bytes, base64url-encoded")
    return raw


def encode_key(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


class LocalKeyProvider:
    """A 256-bit master key held in process memory (loaded from a file or the environment)."""

    def __init__(self, name: str, loader: Callable[[], bytes]) -> None:
        self.name = name
        self._loader = loader
        self._aead: AESGCM | None = None
        self._reason = ""

    def _load(self) -> AESGCM | None:
        if self._aead is None:
            try:
                self._aead = AESGCM(self._loader())
                self._reason = ""
            except (OSError, ValueError, Sealed) as exc:
                self._reason = exc.message if isinstance(exc, Sealed) else f"{type(exc).__name__}: {exc}"
        return self._aead

    def available(self) -> tuple[bool, str]:
        return (self._load() is not None, self._reason)

    def wrap(self, plaintext: bytes, aad: bytes) -> bytes:
        aead = self._need()
        nonce = os.urandom(12)
        return nonce + aead.encrypt(nonce, plaintext, aad)

    def unwrap(self, blob: bytes, aad: bytes) -> bytes:
        aead = self._need()
        try:
            return aead.decrypt(blob[:12], blob[12:], aad)
        except InvalidTag:
            raise Sealed(f"the master key from {self.name} does not open the keyring; "
                         "restore the right key (file or COMPTOIR_MASTER_KEY)") from None

    def _need(self) -> AESGCM:
        aead = self._load()
        if aead is None:
            raise Sealed(f"credential store is sealed: {self._reason}")
        return aead


def file_provider(path: Path) -> LocalKeyProvider:
    """Master key from a file that only the shop's user may read (mode 0600)."""

    def load() -> bytes:
        if not path.exists():
            raise Sealed(f"no master key at {path}; run `comptoir init` or set {ENV_VAR}")
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise Sealed(f"master key file {path} is readable by others (mode {mode:o}); "
                         f"run `chmod 600 {path}`")
        return _decode(path.read_text())

    return LocalKeyProvider(f"file {path}", load)


def env_provider(value: str) -> LocalKeyProvider:
    """Master key from ``COMPTOIR_MASTER_KEY`` (base64url of 32 bytes)."""
    return LocalKeyProvider(f"${ENV_VAR}", lambda: _decode(value))


def ensure_master_key(settings: Settings) -> Path | None:
    """Create ``home/master.key`` (0600) when no master key is configured yet.

    Returns the file path when one exists or was created, None when the key comes
    from the environment. Called by ``comptoir init``/``demo`` and on first boot.
    """
    if os.environ.get(ENV_VAR):
        return None
    path = settings.home / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(encode_key(secrets.token_bytes(32)) + "\n")
    return path


def provider_for(settings: Settings) -> LocalKeyProvider:
    """The provider the settings call for: the environment wins over the key file."""
    value = os.environ.get(ENV_VAR, "")
    if value:
        return env_provider(value)
    return file_provider(settings.home / KEY_FILE)
