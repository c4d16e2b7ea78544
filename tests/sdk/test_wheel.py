"""Release wheels: built with the manifest inside, and verified file by file."""
from __future__ import annotations

import uuid
import zipfile
from pathlib import Path

import pytest

from comptoir.kernel.manifest import manifest_from_pyproject
from comptoir.sdk.errors import SignatureInvalid, WheelInvalid
from comptoir.sdk.signing import ReleaseSignature, generate_key, public_b64, sign_wheel
from comptoir.sdk.testing import build_release
from comptoir.sdk.wheel import inspect_wheel


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    pid = f"wheel-{uuid.uuid4().hex[:6]}"
    wheel, _ = build_release(tmp_path_factory.mktemp("rel"), pid, "1.2.0")
    return wheel, pid


def _rewrite(src: Path, dst: Path, change: dict[str, bytes | None]) -> Path:
    """Copy a wheel, replacing (bytes) or adding/removing (None) members, RECORD untouched."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for i in zin.infolist():
            if i.filename in change:
                if change[i.filename] is not None:
                    zout.writestr(i, change[i.filename])  # type: ignore[arg-type]
            else:
                zout.writestr(i, zin.read(i))
        for name, data in change.items():
            if name not in zin.namelist() and data is not None:
                zout.writestr(name, data)
    return dst


def test_build_injects_the_manifest_and_a_matching_record(release: tuple[Path, str]) -> None:
    wheel, pid = release
    info = inspect_wheel(wheel)
    assert (info.manifest.id, info.manifest.version, info.version) == (pid, "1.2.0", "1.2.0")
    assert info.entry_point == f"comptoir_{pid.replace('-', '_')}.plugin"
    assert info.requires_python == ">=3.11"
    assert wheel.name.endswith("-1.2.0-py3-none-any.whl")
    src = wheel.parent.parent / f"{pid}-1.2.0-src" / "pyproject.toml"
    assert info.manifest == manifest_from_pyproject(src)  # the TOML round-trips exactly


def test_tampered_file_is_refused(release: tuple[Path, str], tmp_path: Path) -> None:
    wheel, pid = release
    member = f"comptoir_{pid.replace('-', '_')}/plugin.py"
    bad = _rewrite(wheel, tmp_path / wheel.name, {member: b"import os\nos.system('evil')\n"})
    with pytest.raises(WheelInvalid, match="does not match its RECORD hash"):
        inspect_wheel(bad)


def test_unlisted_pth_and_shadowing_files_are_refused(release: tuple[Path, str], tmp_path: Path) -> None:
    wheel, _ = release
    for extra, msg in [("extra.py", "not listed in RECORD"), ("evil.pth", "outside the plugin folder"),
                       ("comptoir/kernel/x.py", "shadow the kernel"), ("../up.py", "unsafe path")]:
        bad = _rewrite(wheel, tmp_path / wheel.name, {extra: b"x = 1\n"})
        with pytest.raises(WheelInvalid, match=msg):
            inspect_wheel(bad)


def test_limits_and_non_wheels(release: tuple[Path, str], tmp_path: Path) -> None:
    wheel, _ = release
    with pytest.raises(WheelInvalid, match="the limit is 100"):
        inspect_wheel(wheel, max_bytes=100)
    native = tmp_path / wheel.name.replace("py3-none-any", "cp311-cp311-linux_x86_64")
    native.write_bytes(wheel.read_bytes())
    with pytest.raises(WheelInvalid, match="not pure Python"):
        inspect_wheel(native)
    junk = tmp_path / wheel.name
    junk.write_bytes(b"not a zip")
    with pytest.raises(WheelInvalid, match="not a zip"):
        inspect_wheel(junk)


def test_signature_binds_file_plugin_version_and_key(release: tuple[Path, str], tmp_path: Path) -> None:
    wheel, pid = release
    key = generate_key()
    sig = ReleaseSignature.from_json(sign_wheel(wheel, key).read_text())
    sha = inspect_wheel(wheel).sha256
    sig.verify(public_b64(key), plugin=pid, version="1.2.0", sha256=sha)
    with pytest.raises(SignatureInvalid, match="another file"):
        sig.verify(public_b64(key), plugin=pid, version="1.2.0", sha256="0" * 64)
    with pytest.raises(SignatureInvalid, match="not 'other'|not other"):
        sig.verify(public_b64(key), plugin="other", version="1.2.0", sha256=sha)
    with pytest.raises(SignatureInvalid, match="not the vendor's registered key"):
        sig.verify(public_b64(generate_key()), plugin=pid, version="1.2.0", sha256=sha)
    forged = ReleaseSignature(pid, "1.2.0", sha, sig.key_id, sig.signature[:-4] + "AAA=")
    with pytest.raises(SignatureInvalid, match="does not verify"):
        forged.verify(public_b64(key), plugin=pid, version="1.2.0", sha256=sha)
