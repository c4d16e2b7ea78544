"""A tiny TOML writer for the manifest carried in a wheel (tomllib only reads).

Everything is written as ``key = value`` with nested tables inline, which TOML 1.0
allows and ``tomllib`` reads back to the same dict.
"""
from __future__ import annotations

import json
import re
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(k: str) -> str:
    return k if _BARE.match(k) else json.dumps(k)


def _value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # JSON string escapes are valid TOML basic strings
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_value(x) for x in v if x is not None) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {_value(x)}" for k, x in v.items() if x is not None) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def dumps(table: dict[str, Any]) -> str:
    """``table`` as TOML text (None values are left out)."""
    return "".join(f"{_key(k)} = {_value(v)}\n" for k, v in table.items() if v is not None)
