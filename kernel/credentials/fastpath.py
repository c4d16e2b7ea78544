"""The hot path of a brokered credential use, on plain DB-API connections.

Checking the right, reading the secret and appending the audit row is what every
brokered call pays. Through the ORM that costs about six statements' worth of SQL
compilation and session bookkeeping, plus the engine pool's ping and reset round
trips on PostgreSQL. Here it is four plain statements on a connection kept by this
module (created by the kernel's engine, so SQLite gets the same pragmas), in one
transaction: ``BEGIN IMMEDIATE`` on SQLite, the audit head row locked with ``FOR
UPDATE`` on PostgreSQL. The audit rows are the ones ``audit.append`` writes (same
canonical hash); ``comptoir audit verify`` checks both alike.
"""
from __future__ import annotations

import json
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Any, Iterator

from sqlalchemy import Engine, event

from comptoir.kernel.credentials.audit import GENESIS, HEAD, row_hash
from comptoir.kernel.credentials.errors import AuditUnavailable

_SECRET_FOR_KIND = "CASE a.kind WHEN 'api_key' THEN 'api_key' WHEN 'basic' THEN 'password' ELSE 'access_token' END"
SQL = {
    "grant": 'SELECT 1 FROM cred_grant WHERE plugin = ? AND "right" IN (?, ?) LIMIT 1',
    "hosts": "SELECT \"right\" FROM cred_grant WHERE plugin = ? AND \"right\" LIKE 'host:%'",
    # the right check rides along with the secret read: one statement instead of two
    "secret": ("SELECT a.id, a.kind, a.status, a.config, s.version, s.kek_version, s.wrapped_dek, s.ciphertext, "
               "s.state, s.expires_at, s.name, "
               "EXISTS (SELECT 1 FROM cred_grant g WHERE g.plugin = ? AND g.\"right\" = ?) AS granted "
               "FROM cred_account a JOIN cred_secret s ON s.account_id = a.id "
               f"WHERE a.owner = ? AND a.name = ? AND s.name = {_SECRET_FOR_KIND} "
               "ORDER BY s.version DESC LIMIT 1"),
    "head": "SELECT last_id, last_hash FROM cred_audit_head WHERE name = ?",
    "head_new": "INSERT INTO cred_audit_head (name, last_id, last_hash) VALUES (?, 0, ?)",
    "audit": ("INSERT INTO cred_audit (id, at, actor, action, plugin, target, detail, prev_hash, hash) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"),
    "head_set": "UPDATE cred_audit_head SET last_id = ?, last_hash = ? WHERE name = ?",
}
# PostgreSQL: the audit insert and the head update travel as one statement
PG_AUDIT = ("WITH ins AS (INSERT INTO cred_audit (id, at, actor, action, plugin, target, detail, prev_hash, hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)) "
            "UPDATE cred_audit_head SET last_id = %s, last_hash = %s WHERE name = %s")
KEEP_IDLE = 8


class Raw:
    """Plain SQL written once with ``?`` placeholders, on a small private connection pool."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.pg = engine.dialect.name == "postgresql"
        self.sql = {k: (v.replace("?", "%s").replace("LIKE 'host:%'", "LIKE 'host:%%'") if self.pg else v)
                    for k, v in SQL.items()}
        if self.pg:
            self.sql["head"] += " FOR UPDATE"
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    # ---- connections ---------------------------------------------------------------
    def _get(self) -> Any:
        with self._lock:
            if self._idle:
                return self._idle.pop()
        fairy = self.engine.raw_connection()  # runs the engine's connect hooks (SQLite pragmas)
        fairy.detach()  # ours from now on: no pool ping or reset round trips
        if self.pg:
            fairy.dbapi_connection.rollback()  # leave whatever the dialect's first-connect checks opened
            fairy.dbapi_connection.autocommit = True  # reads need no transaction; writes BEGIN
        return fairy

    def _put(self, conn: Any, broken: bool) -> None:
        if not broken:
            with self._lock:
                if len(self._idle) < KEEP_IDLE:
                    self._idle.append(conn)
                    return
        try:
            conn.close()
        except Exception:  # already dead
            pass

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            try:
                conn.close()
            except Exception:
                pass

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor in one write transaction: committed on success, rolled back on error."""
        conn = self._get()
        broken = False
        try:
            cur = conn.cursor()
            cur.execute("BEGIN IMMEDIATE" if not self.pg else "BEGIN")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        except self.engine.dialect.loaded_dbapi.Error:
            broken = True  # a failed connection is not reused
            raise
        finally:
            self._put(conn, broken)

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A cursor for single-statement reads in autocommit (no lock, nothing left open)."""
        conn = self._get()
        broken = False
        try:
            yield conn.cursor()
        except self.engine.dialect.loaded_dbapi.Error:
            broken = True
            raise
        finally:
            self._put(conn, broken)

    # ---- statements ----------------------------------------------------------------
    def allowed(self, cur: Any, plugin: str, right: str) -> bool:
        """The rights check (see ``rights.allowed_in``, its ORM twin)."""
        from comptoir.kernel.credentials.rights import candidates, host_matches

        if right.startswith("host:"):
            host, _, port = right[5:].partition(":")
            cur.execute(self.sql["hosts"], (plugin,))
            return any(host_matches(g[0][5:], host, int(port) if port else None) for g in cur.fetchall())
        options = candidates(right)
        cur.execute(self.sql["grant"], (plugin, options[0], options[-1]))
        return cur.fetchone() is not None

    def secret_row(self, cur: Any, owner: str, account: str) -> dict[str, Any] | None:
        """The account's current secret, and whether ``account:<name>`` is granted to ``owner``."""
        cur.execute(self.sql["secret"], (owner, f"account:{account}", owner, account))
        r = cur.fetchone()
        if r is None:
            return None
        config = r[3] if isinstance(r[3], dict) else json.loads(r[3] or "{}")
        expires = r[9]
        if isinstance(expires, str):
            expires = datetime.fromisoformat(expires)
        if expires is not None and expires.tzinfo is None:
            expires = expires.replace(tzinfo=timezone.utc)  # stored as UTC wall time on SQLite
        return {"account_id": r[0], "kind": r[1], "status": r[2], "config": config, "version": r[4],
                "kek_version": r[5], "wrapped_dek": bytes(r[6]), "ciphertext": bytes(r[7]), "state": r[8],
                "expires_at": expires, "name": r[10], "granted": bool(r[11])}

    def append_audit(self, cur: Any, *, actor: str, action: str, plugin: str, target: str,
                     detail: dict[str, Any]) -> int:
        """The same row ``audit.append`` writes; raises ``AuditUnavailable`` on failure."""
        try:
            cur.execute(self.sql["head"], (HEAD,))
            head = cur.fetchone()
            if head is None:
                cur.execute(self.sql["head_new"], (HEAD, GENESIS))
                head = (0, GENESIS)
            row = {"id": int(head[0]) + 1, "at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
                   "actor": actor, "action": action, "plugin": plugin, "target": target, "detail": detail,
                   "prev_hash": head[1]}
            digest = row_hash(row)
            values = (row["id"], row["at"], actor, action, plugin, target, json.dumps(detail), row["prev_hash"], digest)
            if self.pg:
                cur.execute(PG_AUDIT, values + (row["id"], digest, HEAD))
            else:
                cur.execute(self.sql["audit"], values)
                cur.execute(self.sql["head_set"], (row["id"], digest, HEAD))
            return int(row["id"])
        except Exception as exc:
            raise AuditUnavailable(f"credential use refused: the audit log could not be written "
                                   f"({type(exc).__name__})") from None
