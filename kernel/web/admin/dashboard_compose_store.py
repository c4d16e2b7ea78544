"""Saved dashboard compositions: one per role (set by an owner) and one per person.

A layout is an ordered list of cells ``{"plugin", "widget", "width" 1-4, "config" {}}``.
What a staff member sees: their own layout, else their role's, else every widget
offered to the role in the order plugins answer.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Field, Session, SQLModel

from comptoir.kernel.domain.base import json_column, ts_column, utcnow
from comptoir.kernel.errors import ValidationFailed

MAX_CELLS = 40
WIDTHS = (1, 2, 3, 4)


class DashboardLayout(SQLModel, table=True):
    __tablename__ = "dashboard_layout"

    scope: str = Field(primary_key=True, max_length=8)  # "role" | "staff"
    owner: str = Field(primary_key=True, max_length=40)  # role name or staff id
    cells: list[dict[str, Any]] = json_column(list)
    updated_by: str = Field(default="", max_length=320)
    updated_at: datetime | None = ts_column()


def clean(cells: Any, offered: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Validate a layout sent by the browser against the widgets offered to the role."""
    if not isinstance(cells, list) or len(cells) > MAX_CELLS:
        raise ValidationFailed(f"a dashboard holds a list of at most {MAX_CELLS} widgets", field="cells")
    out = []
    for i, cell in enumerate(cells):
        if not isinstance(cell, dict):
            raise ValidationFailed(f"widget {i + 1} is not an object", field=f"cells.{i}")
        key = (str(cell.get("plugin", "")), str(cell.get("widget", "")))
        if key not in offered:
            raise ValidationFailed(f"widget {key[1]!r} of {key[0]!r} is not offered to this role", field=f"cells.{i}")
        width = cell.get("width", 1)
        if width not in WIDTHS:
            raise ValidationFailed(f"widget {i + 1}: width must be 1 to 4 columns", field=f"cells.{i}.width")
        config = cell.get("config") or {}
        if not isinstance(config, dict) or len(str(config)) > 2000 or not all(
                isinstance(v, (str, int, bool)) for v in config.values()):
            raise ValidationFailed(f"widget {i + 1}: settings must be a small object of texts and numbers",
                                   field=f"cells.{i}.config")
        out.append({"plugin": key[0], "widget": key[1], "width": width, "config": dict(config)})
    return out


def save(s: Session, scope: str, owner: str, cells: list[dict[str, Any]], actor: str) -> None:
    row = s.get(DashboardLayout, (scope, owner)) or DashboardLayout(scope=scope, owner=owner)
    row.cells, row.updated_by, row.updated_at = cells, actor, utcnow()
    s.add(row)


def forget(s: Session, scope: str, owner: str) -> bool:
    row = s.get(DashboardLayout, (scope, owner))
    if row is not None:
        s.delete(row)
    return row is not None


def resolve(s: Session, staff_id: int, role: str, offered: list[tuple[str, str]]) -> tuple[str, list[dict[str, Any]]]:
    """(where it came from: "personal" | "role" | "default", the cells still offered)."""
    allowed = set(offered)
    for scope, owner in (("staff", str(staff_id)), ("role", role)):
        row = s.scalars(select(DashboardLayout).where(DashboardLayout.scope == scope,
                                                      DashboardLayout.owner == owner)).first()
        if row is not None:
            # a widget whose plugin was disabled since is dropped, not shown broken
            return ("personal" if scope == "staff" else "role",
                    [c for c in row.cells if (c["plugin"], c["widget"]) in allowed])
    return "default", [{"plugin": p, "widget": w, "width": 1, "config": {}} for p, w in offered]
