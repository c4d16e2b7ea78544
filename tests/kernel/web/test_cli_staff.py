"""``comptoir staff``: create, list, tokens, revoke, sign-out, one-line errors."""
from __future__ import annotations

from pathlib import Path

import pytest

from comptoir.kernel.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out = capsys.readouterr()
    return code, out.out + out.err


def test_staff_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("COMPTOIR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("COMPTOIR_DATABASE_URL", raising=False)
    code, out = run(capsys, "staff", "create", "boss@shop.test", "--role", "owner", "--password", "a long password")
    assert code == 0, out
    code, out = run(capsys, "staff", "create", "boss@shop.test", "--role", "owner", "--password", "a long password")
    assert code == 2 and out.strip().startswith("error:") and "exists" in out and "Traceback" not in out
    assert "boss@shop.test" in run(capsys, "staff", "list")[1]
    code, out = run(capsys, "staff", "token", "create", "till", "--scope", "pos")
    assert code == 0 and "cpt_" in out
    assert "active" in run(capsys, "staff", "token", "list")[1]
    assert run(capsys, "staff", "token", "revoke", "1")[0] == 0
    assert "revoked" in run(capsys, "staff", "token", "list")[1]
    assert run(capsys, "staff", "sign-out", "boss@shop.test")[0] == 0
    code, out = run(capsys, "staff", "password", "boss@shop.test", "--password", "short")
    assert code == 2 and "10 characters" in out
