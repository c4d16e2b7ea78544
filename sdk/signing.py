"""Ed25519 release signatures: the vendor signs, the marketplace counter-signs.

A signature covers the wheel's sha256 *and* the manifest's id and version, so a valid
signature cannot be moved to another plugin or another version. The detached file
``<wheel>.sig`` is JSON::

    {"format": "comptoir-signature/1", "plugin": "...", "version": "...",
     "sha256": "<hex>", "key_id": "<16 hex>", "signature": "<base64>"}

Public keys travel as base64 of the 32 raw bytes; a key id is the first 16 hex digits
of the key's sha256.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from comptoir.sdk.errors import SdkError, SignatureInvalid

FORMAT = "comptoir-signature/1"


def key_id(public_b64: str) -> str:
    """Short fingerprint of a public key (base64 of its 32 raw bytes)."""
    return hashlib.sha256(base64.b64decode(public_b64)).hexdigest()[:16]


def public_b64(key: Ed25519PrivateKey) -> str:
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def generate_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def save_key(key: Ed25519PrivateKey, path: Path) -> str:
    """Write the private key (PEM, mode 0600) and ``<path>.pub``; returns the public key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    pub = public_b64(key)
    Path(f"{path}.pub").write_text(pub + "\n")
    return pub


def load_key(path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise SdkError(f"cannot read the signing key {path}: {type(exc).__name__}; "
                       "create one with `comptoir sdk keygen`") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SdkError(f"{path} is not an Ed25519 key; create one with `comptoir sdk keygen`")
    return key


def release_message(plugin: str, version: str, sha256: str, *, role: str = "vendor", extra: str = "") -> bytes:
    """The exact bytes signed for a release. ``role`` keeps vendor and marketplace
    signatures apart so one can never be replayed as the other."""
    return f"comptoir-release/1\n{role}\n{plugin}\n{version}\n{sha256}\n{extra}".encode()


def sign_bytes(key: Ed25519PrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message)).decode()


def verify_bytes(public: str, message: bytes, signature: str, *, what: str) -> None:
    """Raise :class:`SignatureInvalid` (naming ``what``) unless ``signature`` verifies."""
    try:
        Ed25519PublicKey.from_public_bytes(base64.b64decode(public)).verify(base64.b64decode(signature), message)
    except (InvalidSignature, ValueError, TypeError):
        raise SignatureInvalid(f"{what}: the signature does not verify with key {key_id(public)}") from None


@dataclass(frozen=True)
class ReleaseSignature:
    plugin: str
    version: str
    sha256: str
    key_id: str
    signature: str
    format: str = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes) -> "ReleaseSignature":
        try:
            data: dict[str, Any] = json.loads(text)
            if data.get("format") != FORMAT:
                raise ValueError("format")
            return cls(**{k: str(data[k]) for k in ("plugin", "version", "sha256", "key_id", "signature")})
        except (ValueError, KeyError, TypeError):
            raise SignatureInvalid(f"not a {FORMAT} signature file; sign with `comptoir sdk sign`") from None

    def verify(self, public: str, *, plugin: str, version: str, sha256: str) -> None:
        """Check this vendor signature against a trusted key and the actual wheel."""
        if (self.plugin, self.version) != (plugin, version):
            raise SignatureInvalid(f"the signature is for {self.plugin} {self.version}, not {plugin} {version}")
        if self.sha256 != sha256:
            raise SignatureInvalid(f"{plugin} {version}: the signature is for another file (sha256 differs)")
        if self.key_id != key_id(public):
            raise SignatureInvalid(f"{plugin} {version}: signed with key {self.key_id}, which is not the vendor's "
                                   f"registered key {key_id(public)}")
        verify_bytes(public, release_message(plugin, version, sha256), self.signature,
                     what=f"{plugin} {version} vendor signature")


def sign_wheel(wheel: Path, key: Ed25519PrivateKey) -> Path:
    """Verify ``wheel`` then write ``<wheel>.sig`` next to it."""
    from comptoir.sdk.wheel import inspect_wheel

    info = inspect_wheel(wheel)
    pub = public_b64(key)
    sig = ReleaseSignature(info.manifest.id, info.manifest.version, info.sha256, key_id(pub),
                           sign_bytes(key, release_message(info.manifest.id, info.manifest.version, info.sha256)))
    out = Path(f"{wheel}.sig")
    out.write_text(sig.to_json())
    return out
