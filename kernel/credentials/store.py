"""The credential store: accounts and their versioned, envelope-encrypted secrets.

Writes are check-and-set: ``put`` takes the version the caller last saw (0 for a new
secret) and fails with ``VersionConflict`` when someone else wrote first; the unique
(account, name, version) constraint settles races between processes. Deleting is
soft (the versions stay, unreadable, and can be restored); destroying wipes the
ciphertexts for good. Every read of a value is audited in the same transaction.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.credentials import audit
from comptoir.kernel.credentials.errors import AuditUnavailable, CredentialNotFound, VersionConflict
from comptoir.kernel.credentials.keyring import Envelope, Keyring, row_aad
from comptoir.kernel.credentials.models import Account, SecretVersion
from comptoir.kernel.credentials.redact import Redactor
from comptoir.kernel.domain.base import utcnow

_secret = SecretVersion.__table__  # type: ignore[attr-defined]
_account = Account.__table__  # type: ignore[attr-defined]
KINDS = ("oauth2", "api_key", "basic")


def mask(value: str) -> str:
    """What the admin sees after entry: the last 4 characters at most, never more
    than a quarter of the value."""
    shown = min(4, len(value) // 4)
    return "…" + value[-shown:] if shown else "…"


class CredentialStore:
    """Accounts owned by plugins, and their secrets."""

    def __init__(self, factory: sessionmaker[Session], keyring: Keyring, redactor: Redactor) -> None:
        self.factory = factory
        self.keyring = keyring
        self.redactor = redactor

    # ---- accounts ---------------------------------------------------------------
    def create_account(self, owner: str, name: str, *, kind: str, provider: str = "",
                       config: dict[str, Any] | None = None, actor: str = "admin", status: str = "active") -> Account:
        """Register an account of ``owner``; ``config`` holds no secrets (see docs/credentials.md)."""
        if kind not in KINDS:
            raise ValueError(f"account kind must be one of {', '.join(KINDS)}, not {kind!r}")
        with self.factory() as s, s.begin():
            acc = s.scalars(select(Account).where(Account.owner == owner, Account.name == name)).first()
            if acc is None:
                acc = Account(owner=owner, name=name, kind=kind, provider=provider, config=dict(config or {}),
                              status=status)
            else:  # re-creating a deleted or pending account reuses its row (versions continue)
                acc.kind, acc.provider, acc.config, acc.status = kind, provider, dict(config or {}), status
                acc.updated_at = utcnow()
            s.add(acc)
            s.flush()
            audit.append(s, actor=actor, action="account.create", plugin=owner, target=f"account:{acc.id}",
                         detail={"name": name, "kind": kind})
        return acc

    def account(self, owner: str, name: str, *, session: Session | None = None, include_deleted: bool = False) -> Account:
        q = select(Account).where(Account.owner == owner, Account.name == name)
        if session is not None:
            acc = session.scalars(q).first()
        else:
            with self.factory() as s:
                acc = s.scalars(q).first()
        if acc is None or (acc.status == "deleted" and not include_deleted):
            raise CredentialNotFound(f"plugin {owner!r} has no account {name!r}; connect it with "
                                     f"`comptoir credentials set {owner} {name}` or in the admin", field="account")
        return acc

    def accounts(self, owner: str | None = None) -> list[dict[str, Any]]:
        """Metadata of accounts (never values): id, owner, name, kind, provider, status, hints."""
        with self.factory() as s:
            q = select(Account).order_by(Account.owner, Account.name)
            if owner:
                q = q.where(Account.owner == owner)
            out = []
            for acc in s.scalars(q):
                latest = self._latest_rows(s, acc.id)  # type: ignore[arg-type]
                out.append({"id": acc.id, "owner": acc.owner, "name": acc.name, "kind": acc.kind,
                            "provider": acc.provider, "status": acc.status,
                            "secrets": {n: {"version": r.version, "hint": r.hint, "state": r.state}
                                        for n, r in latest.items()}})
            return out

    def delete_account(self, owner: str, name: str, *, actor: str = "admin", destroy: bool = False) -> None:
        """Soft-delete an account (its secrets become unreadable); ``destroy`` wipes them."""
        with self.factory() as s, s.begin():
            acc = self.account(owner, name, session=s, include_deleted=True)
            acc.status, acc.updated_at = "deleted", utcnow()
            s.add(acc)
            state = "destroyed" if destroy else "deleted"
            values: dict[str, Any] = {"state": state}
            if destroy:
                values.update(ciphertext=b"", wrapped_dek=b"", hint="")
            s.execute(update(_secret).where(_secret.c.account_id == acc.id, _secret.c.state != "destroyed")
                      .values(**values))
            audit.append(s, actor=actor, action="account.destroy" if destroy else "account.delete", plugin=owner,
                         target=f"account:{acc.id}")

    # ---- secrets -----------------------------------------------------------------
    def put(self, owner: str, account: str, name: str, value: str, *, cas: int | None = None,
            actor: str = "admin", expires_at: datetime | None = None, session: Session | None = None) -> int:
        """Store a new version of a secret; returns its version number.

        ``cas`` is the version the caller expects to be current (0: none yet). None
        skips the check (last writer wins), which only the kernel itself uses.
        """
        self.keyring.load()
        if session is not None:
            return self._put(session, owner, account, name, value, cas, actor, expires_at)
        try:
            with self.factory() as s, s.begin():
                return self._put(s, owner, account, name, value, cas, actor, expires_at)
        except IntegrityError:
            raise VersionConflict(f"secret {name!r} of account {account!r} ({owner}) was written by someone "
                                  "else at the same time; read it again and retry", field="cas") from None

    def _put(self, s: Session, owner: str, account: str, name: str, value: str, cas: int | None,
             actor: str, expires_at: datetime | None) -> int:
        acc = self.account(owner, account, session=s)
        current = s.execute(select(func.max(_secret.c.version)).where(_secret.c.account_id == acc.id,
                                                                     _secret.c.name == name)).scalar() or 0
        if cas is not None and cas != current:
            raise VersionConflict(f"secret {name!r} of account {account!r} ({owner}) is at version {current}, "
                                  f"not {cas}; read it again and retry", field="cas")
        version = current + 1
        env = self.keyring.seal(value.encode(), row_aad(owner, account, name, version))
        s.execute(_secret.insert().values(
            account_id=acc.id, name=name, version=version, kek_version=env.kek_version,
            wrapped_dek=env.wrapped_dek, ciphertext=env.ciphertext, hint=mask(value), state="active",
            expires_at=expires_at, created_at=utcnow()))
        self.redactor.add(value)
        audit.append(s, actor=actor, action="secret.write", plugin=owner, target=f"account:{acc.id}",
                     detail={"secret": name, "version": version})
        return version

    def _latest_rows(self, s: Session, account_id: int) -> dict[str, Any]:
        q = (select(_secret.c.name, _secret.c.version, _secret.c.hint, _secret.c.state, _secret.c.expires_at)
             .where(_secret.c.account_id == account_id).order_by(_secret.c.name, _secret.c.version))
        return {r.name: r for r in s.execute(q)}

    def read_in(self, s: Session, acc: Account, name: str, *, actor: str, purpose: str,
                version: int | None = None) -> tuple[str, int, datetime | None]:
        """Decrypt the current (or a given) version inside ``s`` and audit the use.

        Returns (value, version, expires_at). The audit row is written in the same
        transaction: if it cannot be, the caller's transaction fails and nothing is used.
        """
        q = (select(_secret.c.version, _secret.c.kek_version, _secret.c.wrapped_dek, _secret.c.ciphertext,
                    _secret.c.state, _secret.c.expires_at)
             .where(_secret.c.account_id == acc.id, _secret.c.name == name))
        q = q.where(_secret.c.version == version) if version else q.order_by(_secret.c.version.desc()).limit(1)
        row = s.execute(q).first()
        if row is None or row.state != "active" or acc.status == "deleted":
            raise CredentialNotFound(f"account {acc.name!r} of plugin {acc.owner!r} has no usable secret "
                                     f"{name!r}", field="secret")
        value = self.keyring.open(Envelope(row.kek_version, row.wrapped_dek, row.ciphertext),
                                  row_aad(acc.owner, acc.name, name, row.version)).decode()
        self.redactor.add(value)
        try:
            audit.append(s, actor=actor, action=purpose, plugin=acc.owner, target=f"account:{acc.id}",
                         detail={"secret": name, "version": row.version})
        except Exception as exc:
            raise AuditUnavailable(f"credential use refused: the audit log could not be written "
                                   f"({type(exc).__name__})") from None
        return value, int(row.version), row.expires_at

    def read(self, owner: str, account: str, name: str, *, actor: str, purpose: str = "secret.read",
             version: int | None = None) -> str:
        """Decrypt one secret for kernel use (audited)."""
        self.keyring.load()
        with self.factory() as s, s.begin():
            acc = self.account(owner, account, session=s)
            return self.read_in(s, acc, name, actor=actor, purpose=purpose, version=version)[0]

    def delete_secret(self, owner: str, account: str, name: str, *, actor: str = "admin",
                      destroy: bool = False, version: int | None = None) -> int:
        """Soft-delete (or destroy) one secret's versions; returns how many rows changed."""
        with self.factory() as s, s.begin():
            acc = self.account(owner, account, session=s, include_deleted=True)
            cond = [_secret.c.account_id == acc.id, _secret.c.name == name, _secret.c.state != "destroyed"]
            if version is not None:
                cond.append(_secret.c.version == version)
            values: dict[str, Any] = {"state": "destroyed" if destroy else "deleted"}
            if destroy:
                values.update(ciphertext=b"", wrapped_dek=b"", hint="")
            n = s.execute(update(_secret).where(*cond).values(**values)).rowcount
            audit.append(s, actor=actor, action="secret.destroy" if destroy else "secret.delete", plugin=owner,
                         target=f"account:{acc.id}", detail={"secret": name, "version": version})
            return int(n or 0)

    def restore_secret(self, owner: str, account: str, name: str, *, actor: str = "admin") -> int:
        """Undo a soft delete (destroyed versions stay gone)."""
        with self.factory() as s, s.begin():
            acc = self.account(owner, account, session=s, include_deleted=True)
            if acc.status == "deleted":
                acc.status = "active"
                s.add(acc)
            n = s.execute(update(_secret).where(_secret.c.account_id == acc.id, _secret.c.name == name,
                                                _secret.c.state == "deleted").values(state="active")).rowcount
            audit.append(s, actor=actor, action="secret.restore", plugin=owner, target=f"account:{acc.id}",
                         detail={"secret": name})
            return int(n or 0)
