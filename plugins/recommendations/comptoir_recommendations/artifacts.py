"""Model artifacts on disk: one folder of ``.npy`` arrays per version, a ``current`` pointer.

Layout under the plugin's storage folder::

    models/
      current                      {"version": "...", "previous": "..."}   (the pointer)
      20261123T101500123456-4242/  meta.json + one <name>.npy per array
      ...

Publishing writes the new folder under a temporary name, fsyncs it, renames it into
place, then replaces ``current`` with ``os.replace`` (atomic on POSIX): a reader sees
the old model or the new one, never half of one. The previous version stays for
``rollback``; older ones beyond ``keep`` are pruned. Arrays load with ``mmap_mode="r"``,
so every web worker on the machine shares one copy through the page cache, and a
pruned folder stays readable by a worker that still maps it (Linux keeps unlinked
files alive while mapped).
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import numpy as np

from comptoir_recommendations.training import Trained

POINTER = "current"


@dataclass(frozen=True)
class LoadedModel:
    """A published version, its arrays memory-mapped read-only."""

    version: str
    path: Path
    arrays: dict[str, np.ndarray]
    meta: dict[str, Any]

    def has(self, name: str) -> bool:
        return name in self.arrays


class ModelStore:
    """Publishes, lists, loads and rolls back model versions in ``root``."""

    def __init__(self, root: Path, *, keep: int = 3) -> None:
        self.root = Path(root)
        self.keep = max(keep, 2)

    # ---- the pointer -------------------------------------------------------------
    def pointer(self) -> dict[str, str]:
        try:
            return json.loads((self.root / POINTER).read_text())
        except (FileNotFoundError, ValueError):
            return {}

    def current(self) -> str | None:
        """The version being served, or None before the first training."""
        return self.pointer().get("version") or None

    def previous(self) -> str | None:
        return self.pointer().get("previous") or None

    def stamp(self) -> tuple[int, int] | None:
        """Cheap change detector for the pointer (one stat): (mtime_ns, inode)."""
        try:
            st = os.stat(self.root / POINTER)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_ino)

    def _write_pointer(self, version: str, previous: str | None) -> None:
        tmp = self.root / f".{POINTER}.{os.getpid()}.tmp"
        with open(tmp, "w") as f:
            json.dump({"version": version, "previous": previous or ""}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.root / POINTER)
        _fsync_dir(self.root)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # two training jobs must not interleave swaps
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    # ---- publish / rollback ------------------------------------------------------
    def publish(self, trained: Trained) -> str:
        """Write ``trained`` as a new version and make it current; returns the version."""
        self.root.mkdir(parents=True, exist_ok=True)
        version = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time_ns() // 1000 % 1_000_000:06d}-{os.getpid()}"
        tmp = self.root / f".tmp-{version}"
        tmp.mkdir()
        try:
            for name, arr in trained.arrays.items():
                with open(tmp / f"{name}.npy", "wb") as f:
                    np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
                    f.flush()
                    os.fsync(f.fileno())
            meta = dict(trained.meta, version=version, arrays=sorted(trained.arrays))
            (tmp / "meta.json").write_text(json.dumps(meta, default=str, indent=1))
            _fsync_dir(tmp)
            os.rename(tmp, self.root / version)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        with self._locked():
            self._write_pointer(version, self.current())
            self._prune()
        return version

    def rollback(self) -> str:
        """Serve the previous version again (the current one becomes 'previous')."""
        with self._locked():
            cur, prev = self.current(), self.previous()
            if not prev or not (self.root / prev).is_dir():
                raise FileNotFoundError("no previous model version to roll back to")
            self._write_pointer(prev, cur)
            return prev

    def activate(self, version: str) -> None:
        """Serve a specific kept version."""
        with self._locked():
            if not (self.root / version).is_dir():
                raise FileNotFoundError(f"no model version {version!r}; see `comptoir reco status`")
            cur = self.current()
            self._write_pointer(version, cur if cur != version else self.previous())

    def versions(self) -> list[str]:
        """Kept versions, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))

    def _prune(self) -> None:
        protected = {self.current(), self.previous()}
        old = [v for v in self.versions() if v not in protected]
        for v in old[: max(len(old) - (self.keep - 2), 0)]:
            shutil.rmtree(self.root / v, ignore_errors=True)

    # ---- load --------------------------------------------------------------------
    def load(self, version: str | None = None) -> LoadedModel | None:
        """Memory-map a version (default: current). None when nothing is published."""
        version = version or self.current()
        if not version:
            return None
        path = self.root / version
        meta = json.loads((path / "meta.json").read_text())
        arrays = {p.stem: np.load(p, mmap_mode="r", allow_pickle=False) for p in path.glob("*.npy")}
        return LoadedModel(version, path, arrays, meta)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
