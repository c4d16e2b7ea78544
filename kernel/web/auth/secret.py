"""The key that signs session cookies and customer tokens.

``COMPTOIR_SECRET_KEY`` wins; otherwise one is generated on first start and kept in
the shop's home (mode 0600), so sessions survive restarts and every worker agrees.
"""
from __future__ import annotations

import os
import secrets

from comptoir.kernel.settings import Settings


def ensure_secret(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.home / "secret_key"
    if not path.exists():
        settings.home.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # first writer wins when two workers start together
        except FileExistsError:
            pass
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()
