"""Hostile file-system attacks: each fails, and the shop still takes an order after."""
from __future__ import annotations

import os
from typing import Any, Callable

import pytest

from tests.sandbox.conftest import Shop

Attack = Callable[..., Any]


def _refused(result: dict[str, Any]) -> str:
    assert result["escaped"] is False, f"the attack worked: {result}"
    return str(result["error"])


def test_own_storage_is_writable(shop: Shop, attack: Attack) -> None:
    result = attack("hostile_files", "own_storage")
    assert result["escaped"] is True  # the control: the plugin's own folder works
    assert (shop.sandbox.data_dir("hostile-files") / "mine.txt").read_text() == "pwned"


def test_cannot_read_another_plugins_data(shop: Shop, attack: Attack) -> None:
    shop.order()  # the good plugin wrote payments.json in its folder
    other = shop.sandbox.data_dir("sandboxed-good")
    assert (other / "payments.json").exists()
    assert "Permission" in _refused(attack("hostile_files", "read", path=str(other / "payments.json")))
    _refused(attack("hostile_files", "list", path=str(other)))
    shop.assert_serving()


def test_cannot_read_shop_database(shop: Shop, attack: Attack) -> None:
    db = shop.kernel.settings.effective_database_url.removeprefix("sqlite:///")
    assert os.path.exists(db)
    _refused(attack("hostile_files", "read", path=db))
    _refused(attack("hostile_files", "ctypes_open", path=db))
    shop.assert_serving()


def test_cannot_read_master_key(shop: Shop, attack: Attack) -> None:
    key = shop.kernel.settings.home / "master.key"
    for how in ("read", "ctypes_open"):
        result = attack("hostile_files", how, path=str(key))
        _refused(result)
        assert shop.master_key not in repr(result)
    shop.assert_serving()


@pytest.mark.parametrize("target", ["kernel", "init"])
def test_cannot_read_kernel_environment(shop: Shop, attack: Attack, target: str) -> None:
    pid = os.getpid() if target == "kernel" else 1
    _refused(attack("hostile_files", "read", path=f"/proc/{pid}/environ"))
    _refused(attack("hostile_files", "read", path="/proc/self/environ"))  # not even its own /proc
    shop.assert_serving()


def test_cannot_write_outside_its_folder(shop: Shop, attack: Attack, tmp_path: Any) -> None:
    targets = [tmp_path / "evil.txt", shop.kernel.settings.home / "evil.txt",
               shop.sandbox.data_dir("sandboxed-good") / "evil.txt", shop.kernel.settings.data_dir / "evil.txt"]
    for target in targets:
        _refused(attack("hostile_files", "write", path=str(target)))
        assert not target.exists()
    shop.assert_serving()


def test_symlink_into_another_plugin_leads_nowhere(shop: Shop, attack: Attack) -> None:
    shop.good("echo")
    other = shop.sandbox.data_dir("sandboxed-good")
    (other / "secret.txt").write_text("good plugin's data")
    result = attack("hostile_files", "symlink", path=str(other), file="secret.txt")
    _refused(result)
    assert "good plugin's data" not in repr(result)
    assert (shop.sandbox.data_dir("hostile-files") / "other").is_symlink()  # planted, yet useless
    shop.assert_serving()


def test_nothing_inherited_but_the_socket_and_a_clean_environment(shop: Shop, attack: Attack,
                                                                    monkeypatch: Any) -> None:
    monkeypatch.setenv("COMPTOIR_SECRET_KEY", "kernel-secret-in-env")
    leak = open(__file__, "rb")  # an fd the kernel holds open while starting a worker
    try:
        shop.add("hostile_files")
        seen = attack("hostile_files", "inventory")
    finally:
        leak.close()
    assert len(seen["fds"]) == 4 and seen["fds"][:3] == [0, 1, 2]  # stdio (/dev/null) + the RPC socket
    own = str(shop.sandbox.data_dir("hostile-files"))
    assert seen["environ"] == {"HOME": own, "TMPDIR": own + "/.tmp", "LANG": "C.UTF-8", "PATH": "/usr/bin:/bin"}
    assert seen["cwd"] == own
