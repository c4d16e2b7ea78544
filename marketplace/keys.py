"""The marketplace's own Ed25519 key: it counter-signs releases and signs the index."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from comptoir.sdk.signing import generate_key, key_id, load_key, public_b64, release_message, save_key, sign_bytes


def load_or_create(path: Path) -> Ed25519PrivateKey:
    """The key at ``path``, created on first start (mode 0600)."""
    if path.exists():
        return load_key(path)
    key = generate_key()
    save_key(key, path)
    return key


def canonical(doc: Any) -> bytes:
    """The bytes signed for a JSON document: sorted keys, no spaces, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def countersign_message(plugin: str, version: str, sha256: str, vendor: str, vendor_key: str) -> bytes:
    """What the marketplace signs for a release: the file, and which vendor key it vouches for."""
    return release_message(plugin, version, sha256, role="marketplace",
                           extra=f"{vendor}\n{key_id(vendor_key)}\n{vendor_key}\n")


class MarketKey:
    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public = public_b64(key)
        self.key_id = key_id(self.public)

    def sign(self, message: bytes) -> str:
        return sign_bytes(self._key, message)
