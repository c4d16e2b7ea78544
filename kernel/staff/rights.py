"""Roles and the rights each one has by default; an owner may adjust them.

Rights are coarse verbs on the areas of the shop. API tokens carry a subset of the
same rights (plus ``pos`` for till endpoints), so one check serves people and machines.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.errors import ValidationFailed
from comptoir.kernel.staff.models import StaffRole

RIGHTS: dict[str, str] = {
    "dashboard": "see the dashboard",
    "catalog:read": "see products and prices",
    "catalog:write": "edit products, prices, images and collections",
    "stock:read": "see stock per location",
    "stock:write": "receive, remove and transfer stock",
    "orders:read": "see orders",
    "orders:write": "capture, mark paid, cancel and refund orders",
    "orders:fulfil": "fulfil orders (buy the label, ship)",
    "customers:read": "see customers and segments",
    "customers:write": "edit customers and loyalty points",
    "customers:social": "record customers' social handles and collect mentions now",
    "social:publish": "publish and schedule posts on the shop's social networks",
    "plugins:manage": "enable, disable and configure plugins, grant their rights",
    "journal:read": "see the exchange journal",
    "staff:manage": "manage staff accounts, roles and API tokens",
    "pos": "use the point-of-sale endpoints (tokens only)",
}
ROLES: tuple[str, ...] = ("owner", "manager", "marketing", "support", "picker")

DEFAULT_ROLE_RIGHTS: dict[str, frozenset[str]] = {
    "owner": frozenset(RIGHTS) - {"pos"},
    "manager": frozenset(RIGHTS) - {"pos", "staff:manage"},
    "marketing": frozenset({"dashboard", "catalog:read", "catalog:write", "customers:read", "customers:social",
                            "stock:read", "social:publish"}),
    "support": frozenset({"dashboard", "catalog:read", "orders:read", "orders:write", "customers:read",
                          "customers:write", "customers:social", "journal:read"}),
    "picker": frozenset({"catalog:read", "stock:read", "stock:write", "orders:read", "orders:fulfil"}),
}


def check_role(role: str, field: str = "role") -> str:
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role!r}; choose one of {', '.join(ROLES)}", field=field)
    return role


def check_rights(rights: list[str] | tuple[str, ...] | set[str], field: str = "rights") -> list[str]:
    unknown = sorted(set(rights) - set(RIGHTS))
    if unknown:
        raise ValidationFailed(f"unknown rights {', '.join(unknown)}; known: {', '.join(RIGHTS)}", field=field)
    return sorted(set(rights))


def role_rights(session: Session, role: str) -> frozenset[str]:
    """The rights of ``role`` now. Owners always keep every staff right, so no one locks the shop."""
    if role == "owner":
        return DEFAULT_ROLE_RIGHTS["owner"]
    row = session.get(StaffRole, role)
    if row is None:
        return DEFAULT_ROLE_RIGHTS.get(role, frozenset())
    return frozenset(row.rights)


def all_role_rights(session: Session) -> dict[str, frozenset[str]]:
    stored = {r.name: frozenset(r.rights) for r in session.scalars(select(StaffRole))}
    return {role: (DEFAULT_ROLE_RIGHTS["owner"] if role == "owner" else stored.get(role, DEFAULT_ROLE_RIGHTS[role]))
            for role in ROLES}


def set_role_rights(session: Session, role: str, rights: list[str]) -> list[str]:
    """Replace a role's rights (owner only, checked by the caller)."""
    check_role(role)
    if role == "owner":
        raise ValidationFailed("the owner role always has every right", field="role")
    clean = check_rights(rights)
    if "pos" in clean:
        raise ValidationFailed("'pos' is for API tokens, not staff roles", field="rights")
    row = session.get(StaffRole, role) or StaffRole(name=role)
    row.rights, row.updated_at = clean, utcnow()
    session.add(row)
    session.flush()
    return clean
