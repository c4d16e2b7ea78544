"""Attacks at import time, before any hook is called: confinement must already hold.

It tries to read the master key named in ``COMPTOIR_HOME`` (absent: the environment is
clean) or next to its data folder, and fails to load with whatever it found.
"""
from __future__ import annotations

import os
from pathlib import Path

found = []
home = os.environ.get("COMPTOIR_HOME", "")
candidates = [Path(home) / "master.key"] if home else []
candidates += [Path.cwd().parents[2] / "master.key"]  # <home>/data/plugins/<id> → <home>/master.key
for path in candidates:
    try:
        found.append(path.read_text())
    except OSError as exc:
        found.append(f"refused: {exc.strerror}")
raise RuntimeError(f"import-time attack: {found}")
