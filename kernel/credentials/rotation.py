"""KEK rotation without downtime: promote a new version, then rewrap data keys in batches.

Only the wrapped data keys change; the values' ciphertexts stay as they are. Each
batch is its own short transaction and each row update is conditional on the
version it was read with, so reads, writes and deletes go on during the job, and
a row is readable at every instant under the old or the new KEK (both are in the
ring until an operator retires the old one, which this module never does).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.credentials import audit
from comptoir.kernel.credentials.keyring import Envelope, Keyring, row_aad
from comptoir.kernel.credentials.models import Account, SecretVersion

if TYPE_CHECKING:
    from comptoir.kernel.runtime import Kernel

_secret = SecretVersion.__table__  # type: ignore[attr-defined]
_account = Account.__table__  # type: ignore[attr-defined]


def rotate(factory: sessionmaker[Session], keyring: Keyring, *, actor: str = "admin") -> int:
    """Add and promote a new KEK version (audited); returns it. Rewrap separately."""
    version = keyring.rotate()
    with factory() as s, s.begin():
        audit.append(s, actor=actor, action="keys.rotate", target=f"kek:{version}")
    return version


def pending(factory: sessionmaker[Session], keyring: Keyring) -> int:
    """How many data keys are still wrapped by an older KEK."""
    from sqlalchemy import func

    with factory() as s:
        return int(s.execute(select(func.count()).select_from(_secret).where(
            _secret.c.kek_version != keyring.primary, _secret.c.state != "destroyed")).scalar() or 0)


def rewrap(factory: sessionmaker[Session], keyring: Keyring, *, batch_size: int = 2000,
           actor: str = "kernel") -> int:
    """Rewrap every data key not under the primary KEK; returns how many were rewrapped."""
    primary = keyring.primary
    done, after = 0, 0
    q = (select(_secret.c.id, _secret.c.name, _secret.c.version, _secret.c.kek_version, _secret.c.wrapped_dek,
                _account.c.owner, _account.c.name.label("account"))
         .join(_account, _account.c.id == _secret.c.account_id)
         .where(_secret.c.kek_version != primary, _secret.c.state != "destroyed")
         .order_by(_secret.c.id).limit(batch_size))
    stmt = (update(_secret)
            .where(and_(_secret.c.id == bindparam("b_id"), _secret.c.kek_version == bindparam("b_old"),
                        _secret.c.state != "destroyed"))
            .values(kek_version=bindparam("b_new"), wrapped_dek=bindparam("b_dek")))
    while True:
        with factory() as s:
            rows = s.execute(q.where(_secret.c.id > after)).all()
        if not rows:
            break
        params: list[dict[str, Any]] = []
        for r in rows:
            env = keyring.rewrap(Envelope(r.kek_version, r.wrapped_dek, b""), row_aad(r.owner, r.account, r.name, r.version))
            params.append({"b_id": r.id, "b_old": r.kek_version, "b_new": env.kek_version, "b_dek": env.wrapped_dek})
        with factory() as s, s.begin():
            s.connection().execute(stmt, params)
        done += len(rows)
        after = rows[-1].id
    with factory() as s, s.begin():
        audit.append(s, actor=actor, action="keys.rewrap", target=f"kek:{primary}", detail={"rewrapped": done})
    return done


def rewrap_job(kernel: "Kernel", batch_size: int = 2000) -> int:
    """Job entry point: ``kernel.jobs.enqueue("comptoir.kernel.credentials.rotation.rewrap_job")``."""
    svc = kernel.services["credentials"]
    return rewrap(kernel.factory, svc.keyring, batch_size=batch_size)
