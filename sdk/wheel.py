"""Plugin releases are standard pure-Python wheels carrying their manifest.

:func:`build` runs ``pip wheel --no-deps`` on a copy of the plugin folder, then injects
``<dist>.dist-info/comptoir.toml`` (the validated ``[tool.comptoir]`` table, version
filled from ``[project]``) and rewrites RECORD. :func:`inspect_wheel` is the one
reader used by the marketplace on upload and by the kernel before install: it checks
the file name, that every file's hash matches RECORD, size limits, and reads the
manifest, METADATA and sources without importing anything.
"""
from __future__ import annotations

import base64
import hashlib
import io
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from comptoir.kernel.manifest import MANIFEST_FILE, Manifest, parse_manifest
from comptoir.kernel.plugins import ENTRY_POINT_GROUP
from comptoir.sdk import toml_write
from comptoir.sdk.errors import SdkError, WheelInvalid
from comptoir.sdk.project import PluginProject

MAX_WHEEL_BYTES = 5 * 1024 * 1024
MAX_UNPACKED_BYTES = 20 * 1024 * 1024
MAX_FILES = 500
_IGNORE = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".git", ".venv", "*.pyc")


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build(root: Path, out_dir: Path) -> Path:
    """Build the plugin in ``root`` into ``out_dir``; returns the wheel's path."""
    project = PluginProject.load(root)
    project.check(import_code=False)  # never ship a wheel the marketplace would refuse
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="comptoir-build-") as tmp:
        src = Path(tmp) / "src"
        shutil.copytree(project.root, src, ignore=_IGNORE)  # a clean tree: no stale build/ files
        wheels = Path(tmp) / "wheels"
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
             "-q", "-w", str(wheels), str(src)], capture_output=True, text=True)
        if proc.returncode:
            tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-8:])
            raise SdkError(f"building {project.manifest.id} failed:\n{tail}")
        built = next(wheels.glob("*.whl"))
        target = out_dir / built.name
        inject_manifest(built, target, project.manifest)
    inspect_wheel(target)  # what we built must pass the same checks as an upload
    return target


def manifest_table(manifest: Manifest) -> dict[str, Any]:
    return manifest.model_dump(mode="json")


def inject_manifest(src: Path, dst: Path, manifest: Manifest) -> None:
    """Copy wheel ``src`` to ``dst`` with ``comptoir.toml`` added and RECORD rewritten."""
    with zipfile.ZipFile(src) as zin:
        infos = zin.infolist()
        dist_info = _dist_info_dir([i.filename for i in infos])
        record_name = f"{dist_info}/RECORD"
        entries: list[tuple[zipfile.ZipInfo, bytes]] = [
            (i, zin.read(i)) for i in infos if i.filename not in (record_name, f"{dist_info}/{MANIFEST_FILE}")]
    toml = toml_write.dumps(manifest_table(manifest)).encode()
    info = zipfile.ZipInfo(f"{dist_info}/{MANIFEST_FILE}", date_time=entries[0][0].date_time)
    info.external_attr = 0o644 << 16
    entries.append((info, toml))
    lines = [f"{i.filename},{_record_hash(d)},{len(d)}" for i, d in entries] + [f"{record_name},,"]
    rec_info = zipfile.ZipInfo(record_name, date_time=entries[0][0].date_time)
    rec_info.external_attr = 0o644 << 16
    with zipfile.ZipFile(dst, "w", compression=zipfile.ZIP_DEFLATED) as zout:
        for i, data in entries:
            zout.writestr(i, data, compress_type=zipfile.ZIP_DEFLATED)
        zout.writestr(rec_info, "\n".join(lines) + "\n", compress_type=zipfile.ZIP_DEFLATED)


def _dist_info_dir(names: list[str]) -> str:
    dirs = {n.split("/", 1)[0] for n in names if n.split("/", 1)[0].endswith(".dist-info")}
    if len(dirs) != 1:
        raise WheelInvalid(f"a wheel has exactly one .dist-info folder; found {len(dirs)}")
    return dirs.pop()


@dataclass
class WheelInfo:
    """What :func:`inspect_wheel` read from a verified wheel."""

    filename: str
    dist: str
    version: str
    sha256: str
    size: int
    manifest: Manifest
    metadata: bytes  # the METADATA file (served as the PEP 658 metadata file)
    requires_python: str
    entry_point: str
    top_level: tuple[str, ...]
    sources: dict[str, str] = field(default_factory=dict)


def inspect_wheel(path: Path, *, max_bytes: int = MAX_WHEEL_BYTES, max_files: int = MAX_FILES,
                  max_unpacked: int = MAX_UNPACKED_BYTES) -> WheelInfo:
    """Verify a plugin wheel without importing it; raise :class:`WheelInvalid` with the reason."""
    import zlib

    try:
        return _inspect(path, max_bytes, max_files, max_unpacked)
    except (zipfile.BadZipFile, zlib.error, EOFError, UnicodeDecodeError) as exc:
        raise WheelInvalid(f"{path.name} is a corrupt archive ({type(exc).__name__}: {exc})") from None


def _inspect(path: Path, max_bytes: int, max_files: int, max_unpacked: int) -> WheelInfo:
    name = path.name
    size = path.stat().st_size
    if size > max_bytes:
        raise WheelInvalid(f"{name} is {size} bytes; the limit is {max_bytes}")
    try:
        dist, version, _build, tags = parse_wheel_filename(name)
    except InvalidWheelFilename as exc:
        raise WheelInvalid(f"{name} is not a wheel file name: {exc}") from None
    if any(t.abi != "none" or t.platform != "any" or not t.interpreter.startswith("py") for t in tags):
        raise WheelInvalid(f"{name} is not pure Python (py3-none-any); plugins ship no compiled code")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise WheelInvalid(f"{name} is not a zip archive") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > max_files:
            raise WheelInvalid(f"{name} holds {len(infos)} files; the limit is {max_files}")
        if sum(i.file_size for i in infos) > max_unpacked:
            raise WheelInvalid(f"{name} unpacks to more than {max_unpacked} bytes")
        names = [i.filename for i in infos]
        for i in infos:
            p = PurePosixPath(i.filename)
            if p.is_absolute() or ".." in p.parts or "\\" in i.filename:
                raise WheelInvalid(f"{name}: unsafe path {i.filename!r}")
            if (i.external_attr >> 16) & 0o170000 == 0o120000:
                raise WheelInvalid(f"{name}: symbolic link {i.filename!r} is not allowed")
            if p.suffix == ".pth" or p.parts[0].endswith(".data"):
                raise WheelInvalid(f"{name}: {i.filename!r} would run or install outside the plugin folder")
            if p.parts[0] == "comptoir":
                raise WheelInvalid(f"{name}: {i.filename!r} would shadow the kernel's own package")
        if len(set(names)) != len(names):
            raise WheelInvalid(f"{name}: duplicate file names in the archive")
        dist_info = _dist_info_dir(names)
        record = _read_record(zf, dist_info, name)
        for n in names:
            if n.endswith("/") or n == f"{dist_info}/RECORD":
                continue
            expected = record.pop(n, None)
            if expected is None:
                raise WheelInvalid(f"{name}: {n!r} is not listed in RECORD")
            data = zf.read(n)
            if _record_hash(data) != expected:
                raise WheelInvalid(f"{name}: {n!r} does not match its RECORD hash (tampered?)")
        if record:
            raise WheelInvalid(f"{name}: RECORD lists missing files: {', '.join(sorted(record))}")
        text = _read_text(zf, f"{dist_info}/{MANIFEST_FILE}", name, "build it with `comptoir sdk build`")
        import tomllib

        manifest = parse_manifest(tomllib.loads(text), source=name)
        if manifest.version != str(version):
            raise WheelInvalid(f"{name}: manifest version {manifest.version} differs from the wheel's {version}")
        meta = zf.read(f"{dist_info}/METADATA")
        requires_python = ""
        for line in meta.decode("utf-8", "replace").splitlines():
            if line.startswith("Requires-Python:"):
                requires_python = line.split(":", 1)[1].strip()
            if not line.strip():
                break
        entry = _entry_point(_read_text(zf, f"{dist_info}/entry_points.txt", name,
                                        f"declare [project.entry-points.\"{ENTRY_POINT_GROUP}\"]"), manifest.id, name)
        top = tuple(sorted({PurePosixPath(n).parts[0] for n in names if not n.startswith(dist_info)}))
        sources = {n: zf.read(n).decode("utf-8", "replace") for n in names if n.endswith(".py")}
    return WheelInfo(name, str(dist), str(version), sha256_file(path), size, manifest, meta, requires_python,
                     entry, top, sources)


def _read_text(zf: zipfile.ZipFile, member: str, name: str, hint: str) -> str:
    try:
        return zf.read(member).decode()
    except KeyError:
        raise WheelInvalid(f"{name}: {member} is missing; {hint}") from None


def _read_record(zf: zipfile.ZipFile, dist_info: str, name: str) -> dict[str, str]:
    import csv

    text = _read_text(zf, f"{dist_info}/RECORD", name, "the wheel is incomplete")
    out = {}
    for row in csv.reader(io.StringIO(text)):
        if not row:
            continue
        if row[0] != f"{dist_info}/RECORD":
            if len(row) < 2 or not row[1].startswith("sha256="):
                raise WheelInvalid(f"{name}: RECORD entry {row[0]!r} has no sha256 hash")
            out[row[0]] = row[1]
    return out


def _entry_point(text: str, plugin_id: str, name: str) -> str:
    import configparser

    cp = configparser.ConfigParser(delimiters=("=",))
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(text)
    if not cp.has_section(ENTRY_POINT_GROUP) or plugin_id not in cp[ENTRY_POINT_GROUP]:
        raise WheelInvalid(f"{name}: no entry point {plugin_id!r} in group {ENTRY_POINT_GROUP!r}")
    return cp[ENTRY_POINT_GROUP][plugin_id].strip()
