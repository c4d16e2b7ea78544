"""OAuth 2.0 / OpenID Connect "connect your account" (authorization code + PKCE).

``start`` records a single-use state with its PKCE verifier (encrypted) and returns
the provider's authorize URL; ``callback`` exchanges the code and stores the tokens
in the store. ``access_token`` hands the broker a valid access token, refreshing it
when it is about to expire: one refresh per account at a time, across threads (an
in-process lock) and processes (``SELECT … FOR UPDATE`` on the account row on
PostgreSQL, the ``BEGIN IMMEDIATE`` write lock on SQLite). Whoever waited re-reads
the token and finds it fresh, so concurrent callers cause one refresh, and a
provider that rotates refresh tokens never sees a stale one. Refresh tokens and the
client secret are read only here; no plugin API returns them.
"""
from __future__ import annotations

import secrets
import threading
import warnings
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.credentials import audit
from comptoir.kernel.credentials.errors import CredentialNotFound, OAuthError
from comptoir.kernel.credentials.models import Account, OAuthState
from comptoir.kernel.credentials.store import CredentialStore

STATE_TTL = timedelta(minutes=10)
LEEWAY = timedelta(seconds=30)  # refresh a little before expiry, not after a 401
_account = Account.__table__  # type: ignore[attr-defined]


def _aware(at: datetime | None) -> datetime | None:
    return at.replace(tzinfo=timezone.utc) if at is not None and at.tzinfo is None else at


def discover(issuer: str, *, timeout: float = 10.0) -> dict[str, Any]:
    """Read an OpenID provider's ``.well-known/openid-configuration``."""
    url = issuer.rstrip("/") + "/.well-known/openid-configuration"
    try:
        r = httpx.get(url, timeout=timeout)
        r.raise_for_status()
        return dict(r.json())
    except (httpx.HTTPError, ValueError) as exc:
        raise OAuthError(f"cannot read the provider configuration at {url}: {type(exc).__name__}") from None


class OAuthConnector:
    """Connect flows and token refresh for ``oauth2`` accounts."""

    def __init__(self, factory: sessionmaker[Session], store: CredentialStore, *, timeout: float = 10.0) -> None:
        self.factory = factory
        self.store = store
        self.timeout = timeout
        self._locks: defaultdict[int, threading.Lock] = defaultdict(threading.Lock)
        self._locks_guard = threading.Lock()
        self.refreshes = 0  # refreshes done by this process (tests and metrics)

    def _client(self, acc: Account, client_secret: str | None) -> Any:
        with warnings.catch_warnings():  # Authlib 1.9 warns about httpx vs httpx2 on import
            warnings.simplefilter("ignore")
            from authlib.integrations.httpx_client import OAuth2Client
        cfg = acc.config
        return OAuth2Client(client_id=cfg["client_id"], client_secret=client_secret,
                            scope=cfg.get("scope") or None, redirect_uri=cfg.get("redirect_uri"),
                            code_challenge_method="S256", timeout=self.timeout, trust_env=False,
                            token_endpoint_auth_method=cfg.get("token_auth_method", "client_secret_basic"))

    # ---- connect ---------------------------------------------------------------
    def start(self, owner: str, name: str, *, client_id: str, authorize_url: str, token_url: str,
              redirect_uri: str, scope: str = "", client_secret: str | None = None, provider: str = "",
              inject: str = "bearer", actor: str = "admin") -> str:
        """Begin connecting ``owner``'s account ``name``; returns the URL to send the admin to."""
        config = {"client_id": client_id, "authorize_url": authorize_url, "token_url": token_url,
                  "redirect_uri": redirect_uri, "scope": scope, "inject": inject}
        try:
            existing = self.store.account(owner, name)
            status = existing.status
        except CredentialNotFound:
            status = "pending"
        acc = self.store.create_account(owner, name, kind="oauth2", provider=provider, config=config,
                                        actor=actor, status=status)
        if client_secret:
            self.store.put(owner, name, "client_secret", client_secret, actor=actor)
        state, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        sealed = self.store.keyring.seal_blob(verifier.encode(), b"oauth-state:" + state.encode())
        with self.factory() as s, s.begin():
            s.add(OAuthState(state=state, account_id=acc.id, redirect_uri=redirect_uri,  # type: ignore[arg-type]
                             verifier=sealed, expires_at=datetime.now(timezone.utc) + STATE_TTL))
            audit.append(s, actor=actor, action="oauth.start", plugin=owner, target=f"account:{acc.id}")
        url, _ = self._client(acc, None).create_authorization_url(authorize_url, state=state, code_verifier=verifier)
        return str(url)

    def callback(self, state: str, code: str, *, actor: str = "admin") -> Account:
        """Finish a connect flow: check the single-use state, exchange the code, store tokens."""
        with self.factory() as s, s.begin():
            pending = s.get(OAuthState, state)
            if pending is None:
                raise OAuthError("unknown or already used connect state; start connecting again")
            s.delete(pending)
        expires = _aware(pending.expires_at)
        if expires is not None and expires < datetime.now(timezone.utc):
            raise OAuthError("this connect link expired; start connecting again")
        verifier = self.store.keyring.open_blob(pending.verifier, b"oauth-state:" + state.encode()).decode()
        with self.factory() as s:
            acc = s.get(Account, pending.account_id)
        assert acc is not None
        secret = self._client_secret(acc)
        try:
            token = self._client(acc, secret).fetch_token(acc.config["token_url"], code=code,
                                                          code_verifier=verifier, grant_type="authorization_code")
        except Exception as exc:  # authlib raises its own errors and httpx's; never echo bodies
            raise OAuthError(f"the provider refused the code for account {acc.name!r} of {acc.owner!r} "
                             f"({type(exc).__name__})") from None
        with self.factory() as s, s.begin():
            row = s.get(Account, acc.id)
            assert row is not None
            row.status = "active"
            s.add(row)
            self._save_tokens(s, row, token, actor)
            audit.append(s, actor=actor, action="oauth.connect", plugin=acc.owner, target=f"account:{acc.id}")
        return acc

    def _client_secret(self, acc: Account) -> str | None:
        try:
            return self.store.read(acc.owner, acc.name, "client_secret", actor="kernel", purpose="oauth.client")
        except CredentialNotFound:
            return None

    def _save_tokens(self, s: Session, acc: Account, token: dict[str, Any], actor: str) -> int:
        expires_at = None
        if token.get("expires_at"):
            expires_at = datetime.fromtimestamp(float(token["expires_at"]), timezone.utc)
        elif token.get("expires_in"):
            expires_at = datetime.now(timezone.utc) + timedelta(seconds=int(token["expires_in"]))
        version = self.store.put(acc.owner, acc.name, "access_token", str(token["access_token"]), actor=actor,
                                 expires_at=expires_at, session=s)
        if token.get("refresh_token"):
            self.store.put(acc.owner, acc.name, "refresh_token", str(token["refresh_token"]), actor=actor, session=s)
        return version

    # ---- use ---------------------------------------------------------------------
    @staticmethod
    def fresh(expires_at: datetime | None) -> bool:
        exp = _aware(expires_at)
        return exp is None or exp - LEEWAY > datetime.now(timezone.utc)

    def _lock(self, account_id: int) -> threading.Lock:
        with self._locks_guard:
            return self._locks[account_id]

    def refresh(self, acc: Account, seen_version: int, *, actor: str,
                stale_version: bool = False) -> tuple[str, int]:
        """A valid access token for ``acc`` and its version: refreshed once, whoever asks.

        ``seen_version`` is the access-token version the caller found stale (expired,
        or refused by the provider: ``stale_version``); when the current version is
        newer and fresh (someone refreshed meanwhile), it is used as is.
        """
        self.store.keyring.load()
        with self._lock(acc.id):  # type: ignore[arg-type]
            with self.factory() as s, s.begin():  # SQLite: BEGIN IMMEDIATE serializes processes
                if s.get_bind().dialect.name == "postgresql":
                    s.execute(select(_account.c.id).where(_account.c.id == acc.id).with_for_update())
                value, version, expires_at = self.store.read_in(s, acc, "access_token", actor=actor,
                                                                purpose="oauth.use")
                if self.fresh(expires_at) and (version != seen_version or not stale_version):
                    return value, version
                try:
                    refresh_token = self.store.read_in(s, acc, "refresh_token", actor="kernel",
                                                       purpose="oauth.refresh")[0]
                except CredentialNotFound:
                    raise OAuthError(f"the access token of account {acc.name!r} of {acc.owner!r} is no longer "
                                     "valid and the provider gave no refresh token; reconnect the account") from None
                client_secret = None
                try:
                    client_secret = self.store.read_in(s, acc, "client_secret", actor="kernel",
                                                       purpose="oauth.client")[0]
                except CredentialNotFound:
                    pass
                try:
                    token = self._client(acc, client_secret).refresh_token(acc.config["token_url"],
                                                                          refresh_token=refresh_token)
                except Exception as exc:
                    raise OAuthError(f"refreshing the token of account {acc.name!r} of {acc.owner!r} failed "
                                     f"({type(exc).__name__}); reconnect the account") from None
                new_version = self._save_tokens(s, acc, dict(token), "kernel")
                self.refreshes += 1
                return str(token["access_token"]), new_version
