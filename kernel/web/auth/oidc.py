"""Optional single sign-on with OpenID Connect (Authlib).

Configured by ``COMPTOIR_OIDC_ISSUER``, ``COMPTOIR_OIDC_CLIENT_ID`` and
``COMPTOIR_OIDC_CLIENT_SECRET`` (plus ``COMPTOIR_OIDC_LABEL`` for the button). The
provider vouches for an e-mail; it signs in the staff account with that e-mail (or
the subject already linked to one). SSO never creates accounts: an owner does.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import sessionmaker
from sqlmodel import Session

from comptoir.kernel.db import transaction
from comptoir.kernel.domain.base import utcnow
from comptoir.kernel.staff.models import StaffUser
from comptoir.kernel.web.problems import Forbidden


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    label: str = "Single sign-on"

    @classmethod
    def from_env(cls) -> "OidcConfig | None":
        issuer = os.environ.get("COMPTOIR_OIDC_ISSUER", "")
        if not issuer:
            return None
        return cls(issuer.rstrip("/"), os.environ.get("COMPTOIR_OIDC_CLIENT_ID", ""),
                   os.environ.get("COMPTOIR_OIDC_CLIENT_SECRET", ""),
                   os.environ.get("COMPTOIR_OIDC_LABEL", "Single sign-on"))


def make_client(cfg: OidcConfig) -> Any:
    from authlib.integrations.starlette_client import OAuth

    oauth = OAuth()
    oauth.register("sso", client_id=cfg.client_id, client_secret=cfg.client_secret,
                   server_metadata_url=f"{cfg.issuer}/.well-known/openid-configuration",
                   client_kwargs={"scope": "openid email profile"})
    return oauth.sso


def staff_for_claims(factory: sessionmaker[Session], claims: dict[str, Any]) -> StaffUser:
    """The active staff account the provider's claims designate; links the subject."""
    sub, email = str(claims.get("sub", "")), str(claims.get("email", "")).strip().lower()
    if claims.get("email_verified") is False:
        raise Forbidden("the identity provider has not verified this e-mail address", field="email")
    with transaction(factory) as s:
        conds = [StaffUser.oidc_subject == sub] if sub else []
        if email:
            conds.append(StaffUser.email == email)
        user = s.scalars(select(StaffUser).where(or_(*conds))).first() if conds else None
        if user is None or not user.active:
            raise Forbidden(f"no active staff account for {email or sub}; ask an owner to create one",
                            field="email")
        if sub and not user.oidc_subject:
            user.oidc_subject = sub
        user.last_login_at = utcnow()
        s.add(user)
        s.flush()
        s.expunge(user)
        return user
